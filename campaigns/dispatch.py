"""Handing a sending campaign's batches to the workers, and ending the send when nothing is left.

Every dispatch refreshes the campaign's heartbeat key; campaigns.claims.redispatch_stalled
dispatches again a campaign whose key lapsed with rows still waiting.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Min, Q
from django.utils import timezone

from campaigns import queue
from campaigns.models import Campaign, Message
from campaigns.throttle import client as redis_client

Status = Message.Status
HEARTBEAT_PREFIX = "rapport:campaign-heartbeat"


def due(now: datetime) -> Q:
    return Q(status__in=Status.waiting()) & (Q(not_before__isnull=True) | Q(not_before__lte=now))


def waiting_batches(rows, now: datetime, *, only_later: bool) -> list[tuple[int, datetime]]:
    """(batch, first due time) of rows held until a time before the next stall check (later ones
    are dispatched by the tick, so no countdown outlives the broker's visibility timeout);
    ``only_later`` leaves out rows already due."""
    horizon = now + timedelta(seconds=settings.SEND_STALL_SECONDS)
    waiting = rows.filter(status__in=Status.waiting(), not_before__lte=horizon)
    if only_later:
        waiting = waiting.filter(not_before__gt=now)
    return list(waiting.values_list("batch").annotate(due=Min("not_before")).values_list("batch", "due"))


def beat(campaign_id: int) -> None:
    """The campaign is being worked on: no stall check re-dispatches it for SEND_STALL_SECONDS."""
    redis_client().set(f"{HEARTBEAT_PREFIX}:{campaign_id}", 1, ex=settings.SEND_STALL_SECONDS)


def dispatch(campaign_id: int) -> int:
    """Enqueue one send_batch task per batch that has claimable messages; returns how many."""
    now = timezone.now()
    rows = Message.objects.filter(campaign_id=campaign_id)
    batches = list(rows.filter(due(now)).order_by("batch").values_list("batch", flat=True).distinct())
    queue.send_batches(campaign_id, batches)
    for batch, first_due in waiting_batches(rows, now, only_later=True):
        queue.send_batches(campaign_id, [batch], countdown=(first_due - now).total_seconds())
    beat(campaign_id)
    return len(batches)


def finish_if_done(campaign_id: int) -> bool:
    """sending -> sent, only once no message of the campaign is left in a non-final state."""
    if Message.objects.filter(campaign_id=campaign_id, status__in=[*Status.unfinished(), Status.HELD]).exists():
        return False
    return Campaign.objects.finish(campaign_id)
