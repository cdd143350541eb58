"""The journey editor's trigger blocks, one per trigger kind of automations/triggers.py."""

from __future__ import annotations

from wagtail import blocks

from automations.blocks import TAGS, Choices, Selects, char, listed, number, rules, struct
from campaigns.models import Campaign
from contacts.models import Contact, CustomField, MailingList, Segment

CHANGES = [("grade", "grade"), ("standing", "standing"), ("owner", "owner"), ("tags", "tags")]
WHEN = [("after", "after the date"), ("before", "before the date")]
_LIST_HELP = "After double opt-in when the list asks for it."
_SEGMENT_HELP = "Checked about once a minute, with the segment's rules as they are then."
_DEAL_TEXT = "Starts when a deal or order is recorded for the contact."
_EVENT_HELP = "The name the API gives automations.services.emit(contact, name, data)."
_MANUAL_TEXT = "Contacts enter when someone enrols them from the flow page."


def trigger_blocks() -> blocks.StreamBlock:
    selects = Selects()

    def campaign(human: str) -> blocks.ChoiceBlock:
        help_text = f"Blank: any campaign. Human {human} only, never a scanner's."
        return selects.select("campaigns", _campaigns, "Campaign", required=False, help_text=help_text)

    on_a_date = [
        ("field", selects.select("fields", _date_fields, "Date field", help_text="A custom field of the date kind.")),
        ("days", number("Days", min_value=0, default=0)),
        ("when", blocks.ChoiceBlock(choices=WHEN, default="after", label="When")),
        ("hour", number("From the hour (contact's time zone)", min_value=0, max_value=23, default=9)),
        ("yearly", blocks.BooleanBlock(label="Every year (birthdays, renewals)", required=False, default=True)),
    ]
    children = [
        ("list", struct("Joined a list", "list-ul", [("list", selects.mailing_list(help_text=_LIST_HELP))])),
        (
            "segment",
            struct("Entered a segment", "group", [("segment", selects.segment(_SEGMENT_HELP)), ("rules", rules())]),
        ),
        ("tag", struct("Tag added", "tag", [("tag", listed("Tag", TAGS))])),
        ("field", struct("Field changed", "edit", [("field", selects.select("fields", _changes, "Field"))])),
        ("date", struct("Days before or after a date", "date", on_a_date)),
        ("opened", struct("Opened a campaign", "mail", [("campaign", campaign("opens"))])),
        ("clicked", struct("Clicked in a campaign", "link", [("campaign", campaign("clicks"))])),
        (
            "inactive",
            struct(
                "No activity for a while", "time", [("days", number("Days without activity", min_value=1, default=90))]
            ),
        ),
        ("deal", blocks.StaticBlock(label="Deal or order recorded", icon="tick", admin_text=_DEAL_TEXT)),
        ("event", struct("Event from the API", "code", [("name", char("Event name", help_text=_EVENT_HELP))])),
        ("manual", blocks.StaticBlock(label="Manual enrolment only", icon="user", admin_text=_MANUAL_TEXT)),
    ]
    return blocks.StreamBlock(children, required=False, label="Triggers")


def _campaigns() -> Choices:
    return list(Campaign.objects.filter(journey_step=None).order_by("-pk").values_list("pk", "name")[:200])


def _date_fields() -> Choices:
    dates = CustomField.objects.filter(kind=CustomField.Kind.DATE).values_list("key", "label")
    return [(f"custom.{key}", label) for key, label in dates]


def _changes() -> Choices:
    return CHANGES + [(name, name.replace("_", " ")) for name in Contact.PROFILE_FIELDS]


def describe(trigger: dict) -> str:
    """A trigger in words, for the flow page."""
    kind = trigger.get("type")
    if kind == "list":
        name = MailingList.objects.filter(slug=trigger.get("list")).values_list("name", flat=True).first()
        return f"Joined the list {name or trigger.get('list')}"
    if kind == "segment":
        name = Segment.objects.filter(pk=trigger.get("segment")).values_list("name", flat=True).first()
        return f"Entered the segment {name}" if name else "Entered a segment (rules of its own)"
    if kind in ("opened", "clicked"):
        verb = "Opened" if kind == "opened" else "Clicked in"
        name = Campaign.objects.filter(pk=trigger.get("campaign")).values_list("name", flat=True).first()
        return f"{verb} {name or 'any campaign'} (people, not machines)"
    if kind == "date":
        days, field = int(trigger.get("days", 0)), str(trigger.get("field", "")).removeprefix("custom.")
        when = f"{abs(days)} days {'before' if days < 0 else 'after'}" if days else "On the day of"
        every = ", every year" if trigger.get("yearly", True) else ""
        return f"{when} the date {field}, from {int(trigger.get('hour', 0)):02d}:00 contact's time{every}"
    return {
        "tag": f"Tag {trigger.get('tag')} added",
        "field": f"{str(trigger.get('field', '')).replace('_', ' ').capitalize()} changed",
        "inactive": f"No human activity for {trigger.get('days', 90)} days",
        "deal": "A deal or order recorded",
        "event": f"Event {trigger.get('name')} from the API",
        "manual": "Manual enrolment only",
    }.get(kind, str(kind))
