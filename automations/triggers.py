"""Triggers: each live journey reads contacts.Activity after its stored watermark (events
travel upward as data) and enrols the contacts it names with one INSERT ... SELECT per trigger;
segment, date and inactivity triggers scan the contacts on the schedule, at most every
JOURNEY_SCHEDULED_TRIGGER_SECONDS per journey."""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import CharField, Max, Min, Q, Value
from django.db.models.functions import Cast, Coalesce, TruncDate
from django.utils import timezone

from automations.actions import zone_for
from automations.enrolment import enrol, occurrence
from automations.models import Journey
from contacts.models import Activity, Contact, Segment
from contacts.segments import compile_rules

Kind = Activity.Kind
# "field changed" triggers: which history kind records a change of which field.
FIELD_KINDS = {"grade": Kind.GRADE, "standing": Kind.STANDING, "owner": Kind.OWNER, "tags": Kind.TAGS}
SCHEDULED = {"segment", "inactive", "date"}


def evaluate_all(now: datetime | None = None) -> int:
    """Every live journey's triggers; returns how many contacts entered."""
    top = Activity.objects.aggregate(top=Max("pk"))["top"] or 0
    live = Journey.objects.filter(status=Journey.Status.LIVE).select_related("current_version")
    return sum(evaluate(journey, top, now or timezone.now()) for journey in live)


def evaluate(journey: Journey, top: int, now: datetime) -> int:
    """One journey's triggers over Activity ids (watermark, top], then the scheduled ones."""
    triggers = (journey.current_version.definition if journey.current_version else {}).get("triggers", [])
    entered = 0
    with transaction.atomic():
        claimed = Journey.objects.filter(pk=journey.pk, watermark=journey.watermark).update(watermark=top)
        if claimed:
            events = Activity.objects.filter(pk__gt=journey.watermark, pk__lte=top)
            for trigger in triggers:
                entered += _from_events(journey, trigger, events)
        journey.watermark = top if claimed else journey.watermark
    if any(trigger.get("type") in SCHEDULED for trigger in triggers) and _claim_scan(journey, now):
        for trigger in triggers:
            entered += _scheduled(journey, trigger, now)
    return entered


def _claim_scan(journey: Journey, now: datetime) -> bool:
    """True for the one tick (of any number running at once) that may scan the contacts now."""
    since = now - timedelta(seconds=settings.JOURNEY_SCHEDULED_TRIGGER_SECONDS)
    due = Q(scheduled_at__isnull=True) | Q(scheduled_at__lte=since) | Q(scheduled_at__gt=now)
    return bool(Journey.objects.filter(due, pk=journey.pk).update(scheduled_at=now))


def _from_events(journey: Journey, trigger: dict[str, Any], events) -> int:
    rows = _events_for(trigger, events)
    if rows is None:
        return 0
    return enrol(journey, rows, occurrence(journey, Cast(Min("pk"), CharField())), via="contact")


def _events_for(trigger: dict[str, Any], events):
    kind = trigger.get("type")
    if kind == "list":
        joined = Q(kind=Kind.SUBSCRIBED, details__pending=False) | Q(kind=Kind.CONFIRMED)
        return events.filter(joined, details__list=trigger["list"])
    if kind == "tag":
        return events.filter(kind=Kind.TAGS, contact__tagged_items__tag__name=trigger["tag"])
    if kind == "field":
        return events.filter(kind=FIELD_KINDS.get(trigger.get("field"), Kind.PROFILE))
    if kind in ("opened", "clicked"):
        found = events.filter(kind=kind, is_machine=False)
        return found.filter(campaign_id=trigger["campaign"]) if trigger.get("campaign") else found
    if kind == "deal":
        return events.filter(kind=Kind.DEAL)
    return None


def _scheduled(journey: Journey, trigger: dict[str, Any], now: datetime) -> int:
    kind = trigger.get("type")
    if kind == "segment":
        rules = trigger.get("rules")
        if rules is None:
            rules = Segment.objects.filter(pk=trigger.get("segment")).values_list("rules", flat=True).first() or {}
        daily = Value(f"d{now.date().isoformat()}")
        return enrol(journey, Contact.objects.filter(compile_rules(rules)), occurrence(journey, daily))
    if kind == "inactive":
        since = now - timedelta(days=float(trigger.get("days", 90)))
        quiet = Contact.objects.filter(
            Q(last_engaged_at__lt=since) | Q(last_engaged_at__isnull=True, created_at__lt=since)
        )
        lapse = Coalesce(Cast(TruncDate("last_engaged_at"), CharField()), Value("never"))
        return enrol(journey, quiet, occurrence(journey, lapse))
    if kind == "date":
        return _dates(journey, trigger, now)
    return 0


def _dates(journey: Journey, trigger: dict[str, Any], now: datetime) -> int:
    """A date field N days before (``days`` < 0) or after it, on the contact's own calendar day
    (from ``hour`` local time); yearly dates key each occurrence by the year of the date itself,
    so a reminder a week before 2 January fires once in late December for that January. A yearly
    29 February falls on 28 February in the years without one."""
    field = trigger["field"].removeprefix("custom.")
    offset, yearly = int(trigger.get("days", 0)), trigger.get("yearly", True)
    entered = 0
    for zone in Contact.objects.order_by().values_list("time_zone", flat=True).distinct():
        local = now.astimezone(zone_for(zone))
        if local.hour < int(trigger.get("hour", 0)):
            continue
        day = local.date() - timedelta(days=offset)
        contacts = Contact.objects.filter(time_zone=zone)
        if yearly:
            contacts = contacts.filter(_yearly(field, day))
            entered += enrol(journey, contacts, Value(str(day.year)))
        else:
            contacts = contacts.filter(**{f"custom_fields__{field}": day.isoformat()})
            entered += enrol(journey, contacts, occurrence(journey, Value(day.isoformat())))
    return entered


def _yearly(field: str, day: date) -> Q:
    """Dates whose month and day are ``day``'s, and 29 February on the 28th of a common year."""
    matches = Q(**{f"custom_fields__{field}__endswith": f"-{day:%m-%d}"})
    if (day.month, day.day) == (2, 28) and not calendar.isleap(day.year):
        matches |= Q(**{f"custom_fields__{field}__endswith": "-02-29"})
    return matches
