"""The list growth roll-up: subscriptions counted per UTC hour by the hour each was started,
confirmed and ended, for the hours that are over. The catch-up tick adds the hours passed since
the ``growth`` watermark (epoch seconds of the first hour not rolled up); ``rebuild_reports``
and a nightly task recount them all, which is how a deleted contact or a resubscription (that
clears an unsubscribe date) reaches hours already rolled up. Each step reads the subscriptions
once per date, whatever the backlog."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.db.models import Count, Q
from django.db.models.functions import Trunc
from django.utils import timezone

from contacts.models import Subscription
from reports.models import GrowthHour, Watermark

WATERMARK = "growth"
HOUR = timedelta(hours=1)
# The hour before the current one stays open too: a subscription committed just after the hour
# turned may still carry a date inside it.
SETTLE = HOUR
SUBSCRIPTION_DATES = {"new": "created_at", "confirmed": "confirmed_at", "unsubscribed": "unsubscribed_at"}


def hour_floor(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def rolled_up_until() -> datetime | None:
    """The first instant the roll-up does not cover (None before the first catch-up)."""
    last = Watermark.objects.filter(name=WATERMARK).values_list("last_id", flat=True).first()
    return datetime.fromtimestamp(last, UTC) if last else None


def catch_up(now: datetime | None = None) -> int:
    """Roll up the hours over since the watermark; returns how many hours had subscriptions.
    Concurrent runs serialise on the watermark row; the later one finds nothing left to do."""
    end = hour_floor(now or timezone.now()) - SETTLE
    Watermark.objects.get_or_create(name=WATERMARK)
    with transaction.atomic():
        mark = Watermark.objects.select_for_update().get(name=WATERMARK)
        start = datetime.fromtimestamp(mark.last_id, UTC)
        if end <= start:
            return 0
        hours = _count_hours(start, end)
        GrowthHour.objects.bulk_create(hours)
        mark.last_id = int(end.timestamp())
        mark.save(update_fields=["last_id"])
    return len(hours)


def rebuild(now: datetime | None = None) -> int:
    """Recount every hour from the subscriptions (after an import with past dates, say)."""
    with transaction.atomic():
        GrowthHour.objects.all().delete()
        Watermark.objects.update_or_create(name=WATERMARK, defaults={"last_id": 0})
        return catch_up(now)


def _count_hours(start: datetime, end: datetime) -> list[GrowthHour]:
    counts: dict[datetime, dict[str, int]] = {}
    for name, field in SUBSCRIPTION_DATES.items():
        grouped = (
            Subscription.objects.filter(Q(**{f"{field}__gte": start, f"{field}__lt": end}))
            .annotate(hour=Trunc(field, "hour", tzinfo=UTC))
            .values("hour")
            .annotate(n=Count("pk"))
            .order_by()
        )
        for row in grouped:
            counts.setdefault(row["hour"], {})[name] = row["n"]
    return [GrowthHour(hour=hour, **values) for hour, values in sorted(counts.items())]
