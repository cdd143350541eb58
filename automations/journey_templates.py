"""The journeys Rapport ships, installable from the admin and `manage.py install_journey`."""

from __future__ import annotations

from typing import Any

HELLO = 'Hello {{ contact.first_name|default:"there" }},'


def _email(key: str, subject: str, text: str, **extra: Any) -> dict[str, Any]:
    return {"key": key, "type": "email", "subject": subject, "text": text, **extra}


def welcome(list_slug: str) -> dict[str, Any]:
    return {
        "name": "Welcome series",
        "reentry": "once",
        "definition": {
            "triggers": [{"type": "list", "list": list_slug}],
            "steps": [
                _email("welcome", "Welcome aboard", f"{HELLO}\n\nThank you for joining us. Here is what to expect."),
                {"key": "wait-2d", "type": "wait", "days": 2},
                {
                    "key": "opened-welcome",
                    "type": "condition",
                    "opened": "welcome",
                    "yes": [_email("tips", "Three tips to get started", f"{HELLO}\n\nHere are three tips.")],
                    "no": [_email("missed", "In case you missed it", f"{HELLO}\n\nOur welcome, once more.")],
                },
                {"key": "onboarded", "type": "tag", "tag": "onboarded"},
            ],
        },
    }


def reengagement(list_slug: str) -> dict[str, Any]:
    steps: list[dict[str, Any]] = [
        _email("miss-you", "We miss you", f"{HELLO}\n\nIt has been a while. Still interested?"),
        {"key": "wait-7d", "type": "wait", "days": 7},
        {
            "key": "came-back",
            "type": "condition",
            "clicked": "miss-you",
            "yes": [{"key": "reengaged", "type": "tag", "tag": "re-engaged"}],
            "no": [{"key": "sunset", "type": "tag", "tag": "sunset"}]
            + ([{"key": "leave-list", "type": "remove_from_list", "list": list_slug}] if list_slug else []),
        },
    ]
    return {
        "name": "Re-engagement then sunset",
        "reentry": "period",
        "definition": {"triggers": [{"type": "inactive", "days": 90}], "steps": steps},
    }


def birthday(list_slug: str) -> dict[str, Any]:
    return {
        "name": "Birthday greeting",
        "reentry": "every",
        "definition": {
            "triggers": [{"type": "date", "field": "custom.birthday", "days": 0, "hour": 9, "yearly": True}],
            "steps": [_email("greeting", "Happy birthday!", f"{HELLO}\n\nAll the best for your birthday.")],
        },
    }


def post_purchase(list_slug: str) -> dict[str, Any]:
    return {
        "name": "Post-purchase follow-up",
        "reentry": "every",
        "definition": {
            "triggers": [{"type": "deal"}],
            "steps": [
                {"key": "wait-3d", "type": "wait", "days": 3},
                _email(
                    "thanks",
                    "Thank you for your order",
                    f"{HELLO}\n\nHow was it? One click below tells us.",
                    question={"text": "How satisfied are you with your order?", "scale": 5},
                ),
                {"key": "wait-14d", "type": "wait", "days": 14},
                _email(
                    "review",
                    "Would you recommend us?",
                    f"{HELLO}\n\nA short review helps us a lot.",
                    question={"text": "How likely are you to recommend us to a friend?", "scale": 10},
                ),
            ],
        },
    }


def lead_nurture(list_slug: str) -> dict[str, Any]:
    return {
        "name": "Lead nurture",
        "reentry": "once",
        "definition": {
            "triggers": [{"type": "list", "list": list_slug}] if list_slug else [{"type": "manual"}],
            "steps": [
                _email("intro", "How we help teams like yours", f"{HELLO}\n\nA short introduction."),
                {"key": "wait-3d", "type": "wait", "days": 3},
                {
                    "key": "clicked-intro",
                    "type": "condition",
                    "clicked": "intro",
                    "yes": [
                        {"key": "hot", "type": "tag", "tag": "hot-lead"},
                        {"key": "call", "type": "task", "title": "Hot lead: call them", "days": 1},
                    ],
                    "no": [_email("case-study", "A customer story", f"{HELLO}\n\nHow one customer did it.")],
                },
            ],
        },
    }


TEMPLATES = {
    "welcome": welcome,
    "reengagement": reengagement,
    "birthday": birthday,
    "post_purchase": post_purchase,
    "lead_nurture": lead_nurture,
}
