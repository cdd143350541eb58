"""List growth read from the hourly roll-up equals list growth counted from the subscriptions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from reports import audience, growth_rollup
from reports.models import GrowthHour
from tests.factories import SubscriptionFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 20, 15, 40, tzinfo=UTC)
MONTH_WINDOW = NOW - timedelta(days=31 * audience.PERIODS["month"])


def subscriptions() -> None:
    """Dates on both sides of month, week and day edges (in UTC and in Shanghai), of the first
    partial hour of the month view, of the watermark, and outside the window."""
    moments = [
        MONTH_WINDOW - timedelta(minutes=10),
        MONTH_WINDOW + timedelta(minutes=10),
        MONTH_WINDOW + timedelta(hours=3),
        datetime(2026, 9, 30, 16, 30, tzinfo=UTC),  # 1 October 00:30 in Shanghai
        datetime(2026, 10, 31, 23, 59, tzinfo=UTC),
        datetime(2026, 11, 1, 0, 5, tzinfo=UTC),
        NOW - timedelta(days=3, hours=2),
        NOW - timedelta(hours=1, minutes=30),  # in the hour still open
        NOW - timedelta(minutes=5),
    ]
    for number, moment in enumerate(moments):
        SubscriptionFactory(
            created_at=moment,
            confirmed_at=moment + timedelta(minutes=20) if number % 2 else None,
            unsubscribed_at=moment + timedelta(days=number) if number % 3 == 0 else None,
            status="unsubscribed" if number % 3 == 0 else "subscribed",
        )


def every_view() -> dict[str, list[dict]]:
    return {period: audience.growth(period, now=NOW) for period in audience.PERIODS}


@pytest.mark.parametrize("zone", ["UTC", "Asia/Shanghai"])
def test_growth_from_the_roll_up_equals_growth_from_the_subscriptions(zone):
    subscriptions()
    with timezone.override(zone):
        from_subscriptions = every_view()
        assert growth_rollup.catch_up(now=NOW) > 0
        assert every_view() == from_subscriptions
    assert sum(row["new"] for row in from_subscriptions["month"]) == 8


def test_catch_up_leaves_the_open_hours_and_adds_each_hour_once():
    subscriptions()
    growth_rollup.catch_up(now=NOW)
    assert growth_rollup.catch_up(now=NOW) == 0
    assert growth_rollup.rolled_up_until() == datetime(2026, 11, 20, 14, tzinfo=UTC)
    assert not GrowthHour.objects.filter(hour__gte=datetime(2026, 11, 20, 14, tzinfo=UTC)).exists()


def test_rebuild_counts_subscriptions_dated_into_hours_already_rolled_up():
    subscriptions()
    from_subscriptions_before = every_view()
    growth_rollup.catch_up(now=NOW)
    SubscriptionFactory(created_at=NOW - timedelta(days=2))
    assert every_view() == from_subscriptions_before
    growth_rollup.rebuild(now=NOW)
    days = {row["period"]: row["new"] for row in audience.growth("day", now=NOW)}
    assert days[datetime(2026, 11, 18, tzinfo=UTC)] == 1
