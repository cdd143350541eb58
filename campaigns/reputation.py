"""The reputation guard: what mailbox providers judge a sender by, watched while it sends.

- A campaign whose complaints or hard bounces pass the limits Gmail and Yahoo publish for bulk
  senders pauses itself, saying why, once it has delivered a sample large enough to judge.
- A receiving domain that defers in a storm (a 421 "try later", or a run of deferrals) is given room:
  its messages wait with an exponential back-off shared by every worker, while other domains
  keep going at full speed.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone

from campaigns.models import Campaign, Message
from campaigns.throttle import client as redis_client
from contacts.models import Activity

BACKOFF_PREFIX = "rapport:domain-backoff"
GUARD_LOCK = "rapport:reputation-guard"


# --- Complaints and hard bounces ------------------------------------------------------------------


def campaign_rates(campaign_id: int) -> tuple[int, float, float]:
    """(delivered, complaint rate, hard-bounce rate) of one campaign so far, from two indexed counts."""
    outcomes = Message.objects.filter(campaign_id=campaign_id, status__in=[Message.Status.SENT, Message.Status.FAILED])
    counts = outcomes.aggregate(delivered=Count("pk", filter=Q(status=Message.Status.SENT)), handed=Count("pk"))
    events = Activity.objects.filter(
        campaign_id=campaign_id, kind__in=[Activity.Kind.COMPLAINED, Activity.Kind.BOUNCED_HARD]
    ).aggregate(
        complaints=Count("pk", filter=Q(kind=Activity.Kind.COMPLAINED)),
        hard=Count("pk", filter=Q(kind=Activity.Kind.BOUNCED_HARD)),
    )
    delivered, handed = counts["delivered"], counts["handed"]
    complaint_rate = events["complaints"] / delivered if delivered else 0.0
    hard_rate = events["hard"] / handed if handed else 0.0
    return delivered, complaint_rate, hard_rate


def verdict(delivered: int, complaint_rate: float, hard_rate: float) -> str | None:
    """Why a campaign with these figures must stop, or None while it may go on."""
    if delivered < settings.SEND_GUARD_MIN_DELIVERED:
        return None
    if complaint_rate > settings.SEND_GUARD_COMPLAINT_RATE:
        return (
            f"paused automatically: {complaint_rate:.2%} of {delivered} delivered messages drew a spam complaint "
            f"(limit {settings.SEND_GUARD_COMPLAINT_RATE:.2%}); review the audience's consent before resuming"
        )
    if hard_rate > settings.SEND_GUARD_HARD_BOUNCE_RATE:
        return (
            f"paused automatically: {hard_rate:.2%} of the messages handed over bounced hard "
            f"(limit {settings.SEND_GUARD_HARD_BOUNCE_RATE:.2%}); clean the list before resuming"
        )
    return None


def guard_sending_campaigns(*, force: bool = False) -> list[int]:
    """Pause every sending campaign whose reputation figures pass the limits; returns their ids.

    Runs from beat's tick, at most once per SEND_GUARD_INTERVAL_SECONDS across all workers.
    """
    interval = settings.SEND_GUARD_INTERVAL_SECONDS
    if not force and not redis_client().set(GUARD_LOCK, 1, nx=True, ex=interval):
        return []
    paused = []
    for campaign_id in Campaign.objects.filter(status=Campaign.Status.SENDING).values_list("pk", flat=True):
        reason = verdict(*campaign_rates(campaign_id))
        if reason and Campaign.objects.filter(pk=campaign_id, status=Campaign.Status.SENDING).update(
            status=Campaign.Status.PAUSED, status_reason=reason
        ):
            paused.append(campaign_id)
    return paused


# --- Deferral storms per receiving domain ---------------------------------------------------------


def is_storm(code: int | None, in_a_row: int) -> bool:
    """A 421 is the provider closing its door; otherwise only a run of deferrals is a storm, so
    greylisting (one 451 per new recipient) still lets each recipient be tried."""
    return code == 421 or in_a_row >= settings.SEND_DOMAIN_STORM_DEFERRALS


def _backoff_key(domain: str) -> str:
    return f"{BACKOFF_PREFIX}:{domain}"


def note_deferral(domain: str) -> datetime:
    """A domain deferred a message: double its back-off (first SEND_DOMAIN_BACKOFF_BASE_SECONDS,
    at most SEND_DOMAIN_BACKOFF_MAX_SECONDS) and return until when it rests."""
    key = _backoff_key(domain)
    level = redis_client().incr(f"{key}:level")
    delay = min(settings.SEND_DOMAIN_BACKOFF_BASE_SECONDS * 2 ** (level - 1), settings.SEND_DOMAIN_BACKOFF_MAX_SECONDS)
    until = timezone.now() + timedelta(seconds=delay)
    pipe = redis_client().pipeline()
    pipe.set(key, until.timestamp(), ex=max(1, int(delay) + 1))
    # The level is forgotten after a quiet spell of twice the longest back-off.
    pipe.expire(f"{key}:level", int(settings.SEND_DOMAIN_BACKOFF_MAX_SECONDS * 2))
    pipe.execute()
    return until


def note_delivery(domain: str) -> None:
    """The domain accepted a message: the storm is over, the next deferral starts small again."""
    redis_client().delete(f"{_backoff_key(domain)}:level")


def resting_domains(domains: set[str]) -> dict[str, datetime]:
    """Domains among ``domains`` still in their back-off, with the time each rests until."""
    names = sorted(domains)
    if not names:
        return {}
    values = redis_client().mget([_backoff_key(name) for name in names])
    now = timezone.now().timestamp()
    return {
        name: datetime.fromtimestamp(float(value), tz=timezone.get_current_timezone())
        for name, value in zip(names, values, strict=True)
        if value is not None and float(value) > now
    }
