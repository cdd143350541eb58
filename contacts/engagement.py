"""Engagement score and standing.

The score counts human opens and clicks, weighted by kind and decaying with age in steps
(so that the nightly recompute is one portable SQL UPDATE). Machine activity (privacy
proxies, link scanners) never counts. Events add to the score as they are drained;
the nightly recompute applies the decay and re-derives everyone's standing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, Count, Exists, F, FloatField, OuterRef, Q, QuerySet, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from contacts import history
from contacts.models import Activity, ActivityTally, Contact

Kind = Activity.Kind
Standing = Contact.Standing

WEIGHTS = {Kind.OPENED: 1.0, Kind.CLICKED: 3.0}
# (max age in days, factor): an event counts fully for a month, then less, then not at all.
DECAY = [(30, 1.0), (90, 0.5), (180, 0.25)]
ENGAGED_MIN_SCORE = 3.0
ENGAGED_DAYS, ACTIVE_DAYS, AT_RISK_DAYS = 30, 90, 180
# Statuses that take a contact out of the sending pool for good.
GONE = [Contact.Status.BOUNCED, Contact.Status.COMPLAINED, Contact.Status.CLEANED]


@dataclass
class Delta:
    """What one drained batch adds to one contact."""

    score: float = 0.0
    last_opened_at: datetime | None = None
    last_clicked_at: datetime | None = None

    def add(self, kind: str, occurred_at: datetime) -> None:
        # Called once per drained event: plain comparisons, no max() over a filtered list.
        self.score += WEIGHTS.get(kind, 0.0)
        if kind == Kind.OPENED:
            if self.last_opened_at is None or occurred_at > self.last_opened_at:
                self.last_opened_at = occurred_at
        elif kind == Kind.CLICKED and (self.last_clicked_at is None or occurred_at > self.last_clicked_at):
            self.last_clicked_at = occurred_at

    def merge(self, other: Delta) -> None:
        self.score += other.score
        self.last_opened_at = max(filter(None, [self.last_opened_at, other.last_opened_at]), default=None)
        self.last_clicked_at = max(filter(None, [self.last_clicked_at, other.last_clicked_at]), default=None)

    @property
    def last_engaged_at(self) -> datetime | None:
        return max(filter(None, [self.last_opened_at, self.last_clicked_at]), default=None)


def merge(into: dict[int, Delta], deltas: Mapping[int, Delta]) -> None:
    """Add one batch's credit to credit pending from earlier batches."""
    for contact_id, delta in deltas.items():
        if contact_id in into:
            into[contact_id].merge(delta)
        else:
            into[contact_id] = delta


def _later(column: str, value: str) -> str:
    """SQL for the later of two timestamps where either may be NULL (no GREATEST on SQLite)."""
    newer = f"{column} IS NULL OR {value} > {column}"
    return f"CASE WHEN {value} IS NULL THEN {column} WHEN {newer} THEN {value} ELSE {column} END"


def _batch_source(vendor: str) -> str:
    """The batch, passed as one JSON parameter, as a table (id, score, opened, clicked, engaged)."""
    if vendor == "postgresql":
        return """jsonb_to_recordset(%s::jsonb)
            AS v(id bigint, score double precision, opened timestamptz, clicked timestamptz, engaged timestamptz)"""
    return """(SELECT json_extract(value, '$.id') AS id, json_extract(value, '$.score') AS score,
                  json_extract(value, '$.opened') AS opened, json_extract(value, '$.clicked') AS clicked,
                  json_extract(value, '$.engaged') AS engaged
           FROM json_each(%s)) AS v"""


def _apply_sql(vendor: str) -> str:
    """One UPDATE ... FROM for a whole batch of contacts. Written by hand because the ORM's
    per-row CASE expressions cost more Python time than the database work itself."""
    table = Contact._meta.db_table
    return f"""
        UPDATE {table} SET
            engagement_score = engagement_score + v.score,
            last_opened_at = {_later("last_opened_at", "v.opened")},
            last_clicked_at = {_later("last_clicked_at", "v.clicked")},
            last_engaged_at = {_later("last_engaged_at", "v.engaged")},
            sunset_at = NULL,
            standing = {_drained_standing()}
        FROM {_batch_source(vendor)}
        WHERE {table}.id = v.id
    """  # noqa: S608


def _drained_standing() -> str:
    """The standing a contact has once a drained batch's credit ``v.score`` is added."""
    gone = ", ".join(f"'{status}'" for status in GONE)
    return f"""CASE
                WHEN standing = '{Standing.SUPPRESSED}' OR status IN ({gone}) THEN standing
                WHEN engagement_score + v.score >= {ENGAGED_MIN_SCORE} THEN '{Standing.ENGAGED}'
                ELSE '{Standing.ACTIVE}'
            END"""


def _standing_events_source(vendor: str) -> str:
    """The contacts of a drained batch whose standing the batch moves: (id, standing, new_standing)."""
    table = Contact._meta.db_table
    return f"""SELECT {table}.id, standing, new_standing FROM (
            SELECT {table}.id, standing, {_drained_standing()} AS new_standing
            FROM {table} JOIN {_batch_source(vendor)} ON {table}.id = v.id
        ) {table} WHERE standing <> new_standing"""  # noqa: S608


def apply_human_events(deltas: Mapping[int, Delta]) -> None:
    """Add a drained batch of human opens/clicks to the contacts' score, timestamps and
    standing (suppressed contacts stay suppressed); a contact who engages again also leaves
    the sunset. One statement, the batch travelling as a single JSON parameter."""
    if not deltas:
        return

    adapt = connection.ops.adapt_datetimefield_value  # looked up once: the proxy is slow per row

    def stamp(moment: datetime | None) -> str | None:
        return None if moment is None else str(adapt(moment))

    batch = [
        {
            "id": contact_id,
            "score": delta.score,
            "opened": stamp(delta.last_opened_at),
            "clicked": stamp(delta.last_clicked_at),
            "engaged": stamp(delta.last_engaged_at),
        }
        for contact_id, delta in sorted(deltas.items())
    ]
    encoded = json.dumps(batch)
    details = _standing_summary("m.standing", "m.new_standing")
    history.insert_select(Kind.STANDING, _standing_events_source(connection.vendor), [encoded], details, timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(_apply_sql(connection.vendor), [encoded])


def _weight(now: datetime) -> Case:
    """The decayed weight of one Activity row, as SQL."""
    whens = [
        When(kind=kind, occurred_at__gte=now - timedelta(days=days), then=Value(weight * factor))
        for kind, weight in WEIGHTS.items()
        for days, factor in DECAY
    ]
    return Case(*whens, default=Value(0.0), output_field=FloatField())


def _human(now: datetime) -> Q:
    return Q(kind__in=list(WEIGHTS), is_machine=False, occurred_at__gte=now - timedelta(days=DECAY[-1][0]))


def _seen_since(moment: datetime) -> Q:
    """Engaged since ``moment``, or never engaged but added since then."""
    return Q(last_engaged_at__gte=moment) | Q(last_engaged_at__isnull=True, created_at__gte=moment)


def _standing(now: datetime) -> Case:
    return Case(
        When(status__in=GONE, then=Value(Standing.SUPPRESSED)),
        When(Contact.objects.suppressed_q(), then=Value(Standing.SUPPRESSED)),
        When(
            last_engaged_at__gte=now - timedelta(days=ENGAGED_DAYS),
            engagement_score__gte=ENGAGED_MIN_SCORE,
            then=Value(Standing.ENGAGED),
        ),
        When(_seen_since(now - timedelta(days=ACTIVE_DAYS)), then=Value(Standing.ACTIVE)),
        When(_seen_since(now - timedelta(days=AT_RISK_DAYS)), then=Value(Standing.AT_RISK)),
        default=Value(Standing.INACTIVE),
    )


def _latest_human(kinds: list[str]) -> Subquery:
    """The time of the contact's latest human event of ``kinds``, as SQL (NULL if none is
    left in history, so the stored value is kept)."""
    latest = Activity.objects.filter(contact=OuterRef("pk"), kind__in=kinds, is_machine=False).order_by("-occurred_at")
    return Subquery(latest.values("occurred_at")[:1])


def recompute_all(now: datetime | None = None) -> None:
    """Nightly: everyone's decayed score, last engagement and standing, in two UPDATE statements,
    then the sunset. Also repairs credit a crashed drain did not write (tracking.services.drain_events)."""
    now = now or timezone.now()
    score = (
        Activity.objects.filter(_human(now), contact=OuterRef("pk"))
        .values("contact")
        .annotate(total=Sum(_weight(now)))
        .values("total")
    )
    with transaction.atomic():
        Contact.objects.update(
            engagement_score=Coalesce(Subquery(score, output_field=FloatField()), Value(0.0)),
            last_opened_at=Coalesce(_latest_human([Kind.OPENED]), "last_opened_at"),
            last_clicked_at=Coalesce(_latest_human([Kind.CLICKED]), "last_clicked_at"),
            last_engaged_at=Coalesce(_latest_human(list(WEIGHTS)), "last_engaged_at"),
        )
        record_standing_changes(now)
        Contact.objects.update(standing=_standing(now))
    apply_sunset(now)


def _standing_summary(old: str, new: str) -> dict[str, str]:
    return {
        "summary": f"'Standing changed from ' || {history.label(old)} || ' to ' || {history.label(new)}",
        "from": old,
        "to": new,
    }


def record_standing_changes(now: datetime) -> int:
    """One history event per contact whose standing the recompute is about to move, written
    by one INSERT ... SELECT before the UPDATE (a recompute can move 100,000 contacts)."""
    moving = (
        Contact.objects.order_by()
        .annotate(new_standing=_standing(now))
        .exclude(standing=F("new_standing"))
        .values("id", "standing", "new_standing")
    )
    sql, params = moving.query.sql_with_params()
    return history.insert_select(
        Kind.STANDING, sql, list(params), _standing_summary("m.standing", "m.new_standing"), now
    )


def apply_sunset(now: datetime | None = None) -> int:
    """Retire contacts inactive for SUNSET_AFTER_MONTHS (0 turns the policy off); returns how many.
    Retired contacts are only mailed by a re-engagement campaign (ContactQuerySet.sendable)."""
    months = settings.SUNSET_AFTER_MONTHS
    if not months:
        return 0
    now = now or timezone.now()
    cutoff = now - timedelta(days=30 * months)
    Contact.objects.filter(sunset_at__isnull=False, last_engaged_at__gte=cutoff).update(sunset_at=None)
    return (
        Contact.objects.filter(sunset_at__isnull=True, status=Contact.Status.SUBSCRIBED)
        .exclude(_seen_since(cutoff))
        .update(sunset_at=now)
    )


def hot_leads(days: int = 7) -> QuerySet[Contact]:
    """Subscribed contacts a person clicked for in the last ``days``, best score first: the
    sales list. Unsubscribed, bounced and complained contacts are no leads to chase."""
    clicked = Activity.objects.filter(
        contact=OuterRef("pk"),
        kind=Kind.CLICKED,
        is_machine=False,
        occurred_at__gte=timezone.now() - timedelta(days=days),
    )
    return (
        Contact.objects.filter(Exists(clicked), status=Contact.Status.SUBSCRIBED)
        .select_related("owner")
        .order_by("-engagement_score", "email")
    )


def campaign_counts(campaign_id: int) -> dict[str, int]:
    """Opens and clicks of one campaign for reports: totals, and the human part of them
    (machine opens and scanner clicks excluded), each as events and as distinct contacts.
    Events the retention policy purged count through their tallies."""
    live = Activity.objects.filter(campaign_id=campaign_id)
    tallied = ActivityTally.objects.filter(campaign_id=campaign_id)
    counts = {}
    for name, kind in (("opens", Kind.OPENED), ("clicks", Kind.CLICKED)):
        for suffix, extra in (("total", Q()), ("human", Q(is_machine=False))):
            events, tallies = live.filter(extra, kind=kind), tallied.filter(extra, kind=kind)
            counts[f"{name}_{suffix}"] = events.count() + (tallies.aggregate(n=Sum("events"))["n"] or 0)
            counts[f"unique_{name}_{suffix}"] = (
                events.order_by().values("contact_id").union(tallies.order_by().values("contact_id")).count()
            )
    return counts


@dataclass(frozen=True)
class Summary:
    score: float
    trend: float
    standing: str
    last_engaged_at: datetime | None
    human_opens: int
    human_clicks: int
    machine_events: int


def summary(contact: Contact, trend_days: int = 30) -> Summary:
    """What the contact page shows: score, its change over ``trend_days``, standing, counts."""
    now = timezone.now()
    counts = Activity.objects.filter(contact=contact, kind__in=list(WEIGHTS)).aggregate(
        opens=Count("pk", filter=Q(kind=Kind.OPENED, is_machine=False)),
        clicks=Count("pk", filter=Q(kind=Kind.CLICKED, is_machine=False)),
        machine=Count("pk", filter=Q(is_machine=True)),
    )
    # Events the retention policy purged still count, through their tallies.
    purged = ActivityTally.objects.filter(contact=contact, kind__in=list(WEIGHTS)).aggregate(
        opens=Coalesce(Sum("events", filter=Q(kind=Kind.OPENED, is_machine=False)), 0),
        clicks=Coalesce(Sum("events", filter=Q(kind=Kind.CLICKED, is_machine=False)), 0),
        machine=Coalesce(Sum("events", filter=Q(is_machine=True)), 0),
    )
    counts = {name: value + purged[name] for name, value in counts.items()}
    return Summary(
        score=round(contact.engagement_score, 1),
        trend=round(contact.engagement_score - score_as_of(contact, now - timedelta(days=trend_days)), 1),
        standing=contact.get_standing_display(),
        last_engaged_at=contact.last_engaged_at,
        human_opens=counts["opens"],
        human_clicks=counts["clicks"],
        machine_events=counts["machine"],
    )


def score_as_of(contact: Contact | int, when: datetime) -> float:
    """The contact's score as it stood at ``when``."""
    contact_id = contact if isinstance(contact, int) else contact.pk
    rows = Activity.objects.filter(_human(when), contact_id=contact_id, occurred_at__lte=when)
    return rows.aggregate(total=Coalesce(Sum(_weight(when)), Value(0.0)))["total"]
