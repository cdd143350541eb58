"""Entering journeys, set-based: one INSERT ... SELECT per trigger and tick, whatever the
number of contacts. The unique (journey, contact, occurrence) index is the re-entry policy:
once ever uses one occurrence, once per period the period's number, every time the event."""

from __future__ import annotations

from datetime import datetime

from django.db import connection
from django.db.models import CharField, Exists, Expression, F, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Cast
from django.utils import timezone

from automations.insert_select import insert_select
from automations.models import Enrolment, Journey
from automations.steps import plan
from contacts.models import Contact, Suppression


def occurrence(journey: Journey, event: Expression | None = None, now: datetime | None = None) -> Expression:
    """The occurrence key of an entry now: '' once ever, the period number, or the event's own key."""
    if journey.reentry == Journey.Reentry.ONCE:
        return Value("")
    if journey.reentry == Journey.Reentry.PERIOD or event is None:
        seconds = max(journey.reentry_days, 1) * 86400
        return Value(f"p{int((now or timezone.now()).timestamp() // seconds)}")
    return Cast(event, CharField())


def suppressed(prefix: str = "") -> Q:
    """Correlated on the row's own contact: a NOT IN over every suppressed contact would be
    planned as a rescan per row on a million-contact segment."""
    return Q(Exists(Suppression.objects.filter(email=OuterRef(f"{prefix}email")))) | Q(
        Exists(Suppression.objects.filter(domain=OuterRef(f"{prefix}email_domain")))
    )


def enrol(journey: Journey, rows: QuerySet, occurrence_key: Expression, via: str = "") -> int:
    """Enrol the contacts of ``rows`` (contacts, or rows whose ``via`` foreign key is one) in the
    journey's current version, one entry per contact, skipping unsubscribed or suppressed
    contacts, contacts already inside, and occurrences already taken. Returns how many entered."""
    version = journey.current_version
    first = plan(version.definition).first if version else None
    if first is None:
        return 0
    prefix = f"{via}__" if via else ""
    rows = rows.filter(**{f"{prefix}status": Contact.Status.SUBSCRIBED}).exclude(suppressed(prefix))
    selected = (
        rows.order_by()
        .annotate(r_contact=F(f"{via}_id" if via else "pk"))
        .values("r_contact")
        .annotate(r_occ=occurrence_key)
        .values_list("r_contact", "r_occ")
    )
    table = connection.ops.quote_name(Enrolment._meta.db_table)
    now = timezone.now()
    # Once ever, the unique index alone keeps a contact from entering twice; otherwise one
    # inside must finish first. (Only then the anti-join: on a journey filling up it costs.)
    inside, inside_params = "1 = 1", []
    if journey.reentry != Journey.Reentry.ONCE:
        inside = (
            f"NOT EXISTS (SELECT 1 FROM {table} x WHERE x.journey_id = %s AND x.contact_id = a.r_contact "  # noqa: S608
            f"AND x.state IN ('waiting', 'running'))"
        )
        inside_params = [journey.pk]
    return insert_select(
        Enrolment,
        "journey_id, version_id, contact_id, occurrence, step, due_at, state, entered_at",
        "%s, %s, a.r_contact, a.r_occ, %s, %s, 'waiting', %s",
        selected,
        [journey.pk, version.pk, first, now, now],
        tail=f"WHERE {inside} ON CONFLICT (journey_id, contact_id, occurrence) DO NOTHING",
        tail_params=inside_params,
    )


def enrol_contacts(journey: Journey, contacts: QuerySet) -> int:
    """Manual enrolment (admin action, `manage.py enrol`), under the journey's re-entry policy."""
    return enrol(journey, contacts, occurrence(journey, Value(f"m{timezone.now().timestamp():.6f}")))
