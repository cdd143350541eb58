"""How far a send has come: counts per status, the sending rate and an ETA.

Read by the sending page, ``send_campaign --wait`` and (next) the reports.
"""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Count
from django.utils import timezone

from campaigns.models import Campaign, Message

Status = Message.Status

# The sending rate is measured over the last minute of the send (or since it started, if later).
RATE_WINDOW = timedelta(seconds=60)


def progress(campaign: Campaign) -> dict:
    """Counts per status, the sending rate and an ETA, for the admin's progress bar and the CLI.

    While sending, the rate is what was sent in the last minute divided by the time that
    really passed in it (a send that started 3 s ago is not averaged over 60 s); once the
    campaign is over it is the average of the whole send. The ETA is only given while sending.
    """
    counts = dict(
        Message.objects.filter(campaign=campaign)
        .values_list("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    now = timezone.now()
    rate = None
    if campaign.status == Campaign.Status.SENDING:
        since = max(now - RATE_WINDOW, campaign.started_at or now - RATE_WINDOW)
        recent = Message.objects.filter(campaign=campaign, status=Status.SENT, sent_at__gte=since).count()
        rate = recent / max((now - since).total_seconds(), 1.0)
    elif campaign.started_at and campaign.finished_at and counts.get(Status.SENT):
        rate = counts[Status.SENT] / max((campaign.finished_at - campaign.started_at).total_seconds(), 1.0)
    remaining = sum(counts.get(status, 0) for status in Status.unfinished())
    return {
        "status": campaign.status,
        "reason": campaign.status_reason,
        "total": sum(counts.values()),
        **{status: counts.get(status, 0) for status in Status.values},
        "rate_per_second": None if rate is None else round(rate, 1),
        "eta_seconds": round(remaining / rate) if rate and campaign.status == Campaign.Status.SENDING else None,
    }
