"""Where the roll-ups get their events: the drain's signal, a watermark over Activity for
the rest of a campaign's history, and a full rebuild."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

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
# Rows younger than this may sit behind an id still uncommitted in another transaction (ids
# are handed out before commit): the watermark stops short of them until they are this old.
SETTLE = timedelta(seconds=30)
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


def on_events_recorded(sender: Any, events: list[dict[str, Any]], **kwargs: Any) -> None:
    """Receiver of tracking.signals.events_recorded, inside the drain's transaction."""
    rollup.roll_up(events)


def catch_up(max_steps: int | None = None, settle: timedelta = SETTLE) -> int:
    """Roll up sends, deliveries, bounces, complaints and unsubscribes recorded since the
    watermark; returns how many events were added. Safe to run concurrently: each step
    claims its id range by moving the watermark, and whoever loses the race stops."""
    added = steps = 0
    mark, _ = Watermark.objects.get_or_create(name=HISTORY)
    while max_steps is None or steps < max_steps:
        steps += 1
        with transaction.atomic():
            start = Watermark.objects.get(pk=mark.pk).last_id
            end = _settled_end(start, settle)
            if end <= start or not Watermark.objects.filter(pk=mark.pk, last_id=start).update(last_id=end):
                break
            rows = (
                Activity.objects.filter(pk__gt=start, pk__lte=end, kind__in=rollup.HISTORY, campaign_id__isnull=False)
                .order_by("pk")
                .values(*rollup.ACTIVITY_FIELDS)
            )
            events = [rollup.from_activity(row) for row in rows]
            rollup.roll_up(events)
            added += len(events)
    return added


def _settled_end(start: int, settle: timedelta) -> int:
    """The end of the next id range to roll up: at most STEP rows on, and before any row
    that has not settled yet."""
    end = min(start + STEP, Activity.objects.aggregate(top=Max("pk"))["top"] or 0)
    young = (
        Activity.objects.filter(pk__gt=start, pk__lte=end, occurred_at__gt=timezone.now() - settle)
        .order_by("pk")
        .values_list("pk", flat=True)
        .first()
    )
    return end if young is None else young - 1


@transaction.atomic
def rebuild(campaign_id: int | None = None, chunk: int = 5000) -> int:
    """Recompute the roll-ups of one campaign (or all) from Activity; returns the events read.

    History kinds are read up to the watermark only, so the next :func:`catch_up` adds the
    rest once, as it would have. Run it while the drain is quiet for exact figures: opens and
    clicks drained during a rebuild may be counted twice."""
    mark, _ = Watermark.objects.get_or_create(name=HISTORY)
    mark = Watermark.objects.select_for_update().get(pk=mark.pk)
    scope = Q() if campaign_id is None else Q(campaign_id=campaign_id)
    for model in ROLLUPS:
        model.objects.filter(scope).delete()
    wanted = Q(kind__in=rollup.ENGAGEMENT) | Q(kind__in=rollup.HISTORY, pk__lte=mark.last_id)
    rows = (
        Activity.objects.filter(scope, wanted, campaign_id__isnull=False)
        .order_by("occurred_at", "pk")
        .values(*rollup.ACTIVITY_FIELDS)
    )
    read = 0
    batch: list[dict[str, Any]] = []
    for row in rows.iterator(chunk_size=chunk):
        batch.append(rollup.from_activity(row))
        if len(batch) >= chunk:
            rollup.roll_up(batch)
            read, batch = read + len(batch), []
    rollup.roll_up(batch)
    return read + len(batch)
