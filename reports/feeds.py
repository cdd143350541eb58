"""Where the roll-ups get their events: the drain's signal, the history after a watermark,
and a full rebuild.

The history feed reads every committed row past its watermark at once. Ids are handed out
before commit, so a row may still appear below ids already read: each id range no committed
row held is kept as a hole and read again on every pass until no transaction that could fill
it is still running (PostgreSQL's snapshot says which; SQLite has one writer at a time, so
its holes are final at once). Sends and bounces thus reach the figures on the next pass, not
after a fixed delay, and a long transaction delays nothing but its own rows.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from django.db import connection, transaction
from django.db.models import Max, Q

from contacts.models import Activity
from reports import rollup
from reports.models import (
    CampaignDeviceCount,
    CampaignDomainCount,
    CampaignHour,
    CampaignLinkCount,
    CampaignVariantCount,
    FirstSeen,
    MessageSeen,
    Watermark,
)

HISTORY = "history"
STEP = 20_000
ROLLUPS = (
    CampaignHour,
    CampaignLinkCount,
    CampaignDomainCount,
    CampaignVariantCount,
    CampaignDeviceCount,
    FirstSeen,
    MessageSeen,
)


def on_events_recorded(sender: Any, activity_ids: list[int], user_agents: Collection[str], **kwargs: Any) -> None:
    """Receiver of tracking.signals.events_recorded, inside the drain's transaction."""
    rollup.roll_up(activity_ids, user_agents)


def catch_up(max_steps: int | None = None) -> int:
    """Roll up sends, deliveries, bounces, complaints and unsubscribes committed since the
    last pass; returns how many events were added. Passes serialise on the watermark row."""
    added = steps = 0
    while max_steps is None or steps < max_steps:
        steps += 1
        read, more = _pass()
        added += read
        if not more:
            break
    return added


@transaction.atomic
def _pass() -> tuple[int, bool]:
    """One pass: the holes kept so far and up to STEP new ids; returns the events added and
    whether more ids are waiting."""
    finished_before = _oldest_running_transaction()
    Watermark.objects.get_or_create(name=HISTORY)
    mark = Watermark.objects.select_for_update().get(name=HISTORY)
    start = max(mark.read_to, mark.last_id)
    end = min(start + STEP, Activity.objects.aggregate(top=Max("pk"))["top"] or 0)
    spans = [(first, last) for first, last, _ in mark.holes] + ([(start + 1, end)] if end > start else [])
    if not spans:
        return 0, False
    ids = list(
        Activity.objects.filter(_within(spans), kind__in=rollup.HISTORY, campaign_id__isnull=False)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    rollup.roll_up(ids, user_agents=())  # history kinds: no device breakdown
    holes = _holes_left(mark.holes, finished_before) + (_new_holes(start, end) if end > start else [])
    mark.read_to = max(start, end)
    mark.last_id = min(first for first, _, _ in holes) - 1 if holes else mark.read_to
    mark.holes = holes
    mark.save(update_fields=["read_to", "last_id", "holes"])
    return len(ids), end == start + STEP


def _within(spans: list[tuple[int, int]]) -> Q:
    condition = Q()
    for first, last in spans:
        condition |= Q(pk__gte=first, pk__lte=last)
    return condition


def _oldest_running_transaction() -> int | None:
    """PostgreSQL's oldest transaction id still running (every older one has ended); None on
    SQLite, whose holes are final when read."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
        return cursor.fetchone()[0]


def _next_transaction() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint")
        return cursor.fetchone()[0]


def _holes_left(holes: list[list[int]], finished_before: int | None) -> list[list[int]]:
    """What is still missing of the holes just read again, unless every transaction that could
    fill them had ended before they were read (then the read was the last one needed)."""
    left: list[list[int]] = []
    for first, last, xid in holes:
        if finished_before is None or xid <= finished_before:
            continue
        left += [[a, b, xid] for a, b in missing_ids(first, last)]
    return left


def _new_holes(start: int, end: int) -> list[list[int]]:
    """The runs of ids in (start, end] no committed row holds, tagged with the first transaction
    id not yet handed out (any transaction that may fill them is older); none on SQLite."""
    if connection.vendor != "postgresql":
        return []
    gaps = missing_ids(start + 1, end)
    if not gaps:
        return []
    xid = _next_transaction()
    return [[first, last, xid] for first, last in gaps]


def missing_ids(first: int, last: int) -> list[tuple[int, int]]:
    """The runs of ids from ``first`` to ``last`` (inclusive) that no committed Activity row
    holds, as (first, last) pairs; a sentinel row after ``last`` ends a run that reaches it."""
    table = Activity._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT previous + 1, id - 1 FROM (SELECT id, LAG(id, 1, %s) OVER (ORDER BY id) AS previous"  # noqa: S608
            f" FROM (SELECT id FROM {table} WHERE id BETWEEN %s AND %s UNION ALL SELECT %s) AS present) AS ids"
            " WHERE id > previous + 1",
            [first - 1, first, last, last + 1],
        )
        return [(start, end) for start, end in cursor.fetchall()]


@transaction.atomic
def rebuild(campaign_id: int | None = None, chunk: int = 5000) -> int:
    """Recompute the roll-ups of one campaign (or all) from Activity; returns the events read.

    Rows are replayed in id order, as the feeds first added them. History kinds are read only
    where the history feed has read them, so its next pass adds the rest once, as it would
    have. Run it while the drain is quiet for exact figures: opens and clicks drained during a
    rebuild may be counted twice."""
    Watermark.objects.get_or_create(name=HISTORY)
    mark = Watermark.objects.select_for_update().get(name=HISTORY)
    scope = Q() if campaign_id is None else Q(campaign_id=campaign_id)
    for model in ROLLUPS:
        model.objects.filter(scope).delete()
    history_read = Q(kind__in=rollup.HISTORY, pk__lte=max(mark.read_to, mark.last_id))
    if mark.holes:
        history_read &= ~_within([(first, last) for first, last, _ in mark.holes])
    rows = (
        Activity.objects.filter(scope, Q(kind__in=rollup.ENGAGEMENT) | history_read, campaign_id__isnull=False)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    read = 0
    batch: list[int] = []
    for activity_id in rows.iterator(chunk_size=chunk):
        batch.append(activity_id)
        if len(batch) >= chunk:
            rollup.roll_up(batch)
            read, batch = read + len(batch), []
    rollup.roll_up(batch)
    return read + len(batch)
