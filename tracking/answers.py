"""Satisfaction answers: a click on a signed answer link records the score on the contact
(history and ``custom_fields["satisfaction"]``, which segments read as ``satisfaction``).

A link scanner follows every link of a mail; the page records an answer on GET only for a
user agent that is not a known scanner, and always on the comment form's POST (a person
submitted it, with a CSRF token)."""

from __future__ import annotations

from django.db import transaction

from campaigns.models import Campaign
from contacts import services as contact_services
from contacts.models import Activity, Contact
from contacts.tokens import TokenData, answer_of
from tracking.machine import is_scanner_click

SCORE_FIELD = "satisfaction"
DEFAULT_QUESTION = "our question"
COMMENT_MAX = 2000


def answer_for(data: TokenData) -> tuple[int, int] | None:
    return answer_of(data.link_index)


def is_person(user_agent: str) -> bool:
    return not is_scanner_click(user_agent)


def question(campaign_id: int | None, scale: int) -> str:
    """The question of the campaign's first satisfaction block on this scale."""
    campaign = Campaign.objects.filter(pk=campaign_id).only("body").first() if campaign_id else None
    for block in campaign.body.raw_data if campaign else []:
        value = block.get("value") or {}
        if block.get("type") == "satisfaction" and str(value.get("scale") or "5") == str(scale):
            return value.get("question") or DEFAULT_QUESTION
    return DEFAULT_QUESTION


@transaction.atomic
def record_answer(contact: Contact, data: TokenData, *, comment: str | None = None) -> Activity:
    """Record (or, for the same message, correct) the contact's answer; the latest score goes on
    the contact. A comment is added to the answer it follows."""
    scale, score = answer_of(data.link_index) or (0, 0)
    text = question(data.campaign_id, scale)
    details = {
        "summary": f"Answered {score} of {scale} to “{text}”",
        "score": score,
        "scale": scale,
        "question": text,
        "campaign": data.campaign_id,
    }
    existing = (
        Activity.objects.select_for_update()
        .filter(contact=contact, kind=Activity.Kind.ANSWERED, message_id=data.message_id, campaign_id=data.campaign_id)
        .order_by("-pk")
        .first()
    )
    if existing is not None:
        details["comment"] = existing.details.get("comment", "")
    if comment is not None:
        details["comment"] = comment[:COMMENT_MAX]
    if existing is None:
        existing = contact_services.record(
            contact, Activity.Kind.ANSWERED, campaign_id=data.campaign_id, message_id=data.message_id, details=details
        )
    else:
        existing.details = details
        existing.save(update_fields=["details"])
    Contact.objects.filter(pk=contact.pk).update(custom_fields=_with_score(contact, score))
    return existing


def _with_score(contact: Contact, score: int) -> dict:
    fields = dict(Contact.objects.filter(pk=contact.pk).values_list("custom_fields", flat=True).first() or {})
    fields[SCORE_FIELD] = score
    return fields
