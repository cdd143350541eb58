"""The visual segment builder: the form widget and the schema its script builds rules from.

``Segment.rules`` stays JSON (see contacts/segments.py); the widget keeps it in a hidden
textarea named ``rules`` that the script rewrites, firing ``input`` and ``change`` on each
edit so the live count follows. Field, operator and value choices come from the schema
below, so the browser offers only rules the compiler accepts.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from taggit.models import Tag

from contacts import timeline
from contacts.models import Contact, CustomField, MailingList
from contacts.segments import DATE_FIELDS

SUGGESTIONS_LIMIT = 200
# Free-text fields whose existing values are offered as suggestions (each is indexed or small).
SUGGESTED = ("industry", "region", "country", "customer_type")

OPERATORS = {
    "text": [
        ("equals", "is"),
        ("not_equals", "is not"),
        ("contains", "contains"),
        ("in", "is one of (comma-separated)"),
        ("not_in", "is none of (comma-separated)"),
        ("empty", "is empty"),
        ("not_empty", "is filled in"),
    ],
    "number": [
        ("gte", "is at least"),
        ("lte", "is at most"),
        ("between", "is between"),
        ("equals", "is exactly"),
        ("not_equals", "is not"),
        ("empty", "is empty"),
        ("not_empty", "is filled in"),
    ],
    "date": [
        ("within_last_days", "in the last … days"),
        ("after", "is after"),
        ("before", "is before"),
        ("between", "is between"),
        ("empty", "never / empty"),
        ("not_empty", "is set"),
    ],
    "choice": [
        ("in", "is any of"),
        ("not_in", "is none of"),
        ("equals", "is"),
        ("not_equals", "is not"),
        ("empty", "is empty"),
        ("not_empty", "is set"),
    ],
    "boolean": [("equals", "is"), ("empty", "is empty")],
    "list": [("in", "is subscribed to any of"), ("not_in", "is subscribed to none of")],
    "tag": [("in", "has any of the tags"), ("not_in", "has none of the tags")],
}
EVENTS = [
    ("opened", "opened"),
    ("clicked", "clicked"),
    ("sent", "was sent"),
    ("not_opened", "opened none of the last … campaigns"),
    ("unsubscribed", "unsubscribed"),
    ("bounced", "hard-bounced"),
    ("complained", "complained"),
]
CUSTOM_TYPES = {"text": "text", "number": "number", "date": "date", "boolean": "boolean", "choice": "choice"}


def _label(name: str) -> str:
    return str(Contact._meta.get_field(name).verbose_name).capitalize()


def _choice_field(name: str, group: str) -> dict[str, Any]:
    choices = [[value, str(label)] for value, label in Contact._meta.get_field(name).choices]
    return {"value": name, "label": _label(name), "type": "choice", "group": group, "choices": choices}


def _suggestions(name: str) -> list[str]:
    values = Contact.objects.exclude(**{name: ""}).order_by(name).values_list(name, flat=True).distinct()
    return list(values[:SUGGESTIONS_LIMIT])


def fields() -> list[dict[str, Any]]:
    """Every field a rule can test, grouped for the picker, with its value type."""
    profile = [{"value": "email", "label": "Email", "type": "text", "group": "Profile"}]
    for name in Contact.PROFILE_FIELDS:
        field = {"value": name, "label": _label(name), "type": "text", "group": "Profile"}
        if name in SUGGESTED:
            field["suggestions"] = _suggestions(name)
        profile.append(field)
    owners = get_user_model().objects.filter(is_active=True).order_by("username")
    profile += [_choice_field(name, "Profile") for name in ("grade", "source", "status", "verification")]
    profile.append(
        {
            "value": "owner",
            "label": "Owner",
            "type": "choice",
            "group": "Profile",
            "choices": [[user.pk, user.get_username()] for user in owners],
        }
    )
    membership = [
        {
            "value": "list",
            "label": "Lists",
            "type": "list",
            "group": "Lists and tags",
            "choices": [[slug, name] for slug, name in MailingList.objects.values_list("slug", "name")],
        },
        {
            "value": "tag",
            "label": "Tags",
            "type": "tag",
            "group": "Lists and tags",
            "choices": [[name, name] for name in Tag.objects.order_by("name").values_list("name", flat=True)],
        },
    ]
    engagement = [
        _choice_field("standing", "Engagement"),
        {"value": "engagement_score", "label": "Engagement score", "type": "number", "group": "Engagement"},
        {
            "value": "satisfaction",
            "label": "Satisfaction score (latest answer)",
            "type": "number",
            "group": "Engagement",
        },
        *[
            {"value": name, "label": _label(name), "type": "date", "group": "Engagement"}
            for name in sorted(DATE_FIELDS)
        ],
    ]
    custom = [
        {
            "value": f"custom.{definition.key}",
            "label": definition.label,
            "type": CUSTOM_TYPES[definition.kind],
            "group": "Custom fields",
            "choices": [[str(choice), str(choice)] for choice in definition.choices],
        }
        for definition in CustomField.objects.all()
    ]
    return [*profile, *membership, *engagement, *custom]


def schema() -> dict[str, Any]:
    """What the builder script needs: fields, operators per value type, events, campaigns."""
    return {
        "fields": fields(),
        "operators": OPERATORS,
        "events": EVENTS,
        "campaigns": timeline.campaign_choices(),
    }


class SegmentRulesWidget(forms.Widget):
    """The rules as a visual builder; the JSON travels in a hidden textarea named like the field."""

    template_name = "contacts/widgets/segment_builder.html"

    class Media:
        js = ["contacts/js/segment-builder.js"]
        css = {"all": ["contacts/css/segment-builder.css"]}

    def format_value(self, value: Any) -> str:
        return value if isinstance(value, str) and value else "{}"

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        context["schema"] = schema()
        return context
