"""Audience reports: list growth per day, week or month, and contacts by grade, region,
industry and owner. Growth reads the hourly roll-up (reports.growth_rollup) for the hours it
covers and the subscriptions themselves for the rest; the rest are grouped queries."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Case, Count, DateTimeField, F, Q, Sum, When
from django.db.models.functions import Trunc
from django.utils import timezone

from contacts.models import Activity, Contact, Subscription
from reports import growth_rollup
from reports.growth_rollup import HOUR, SUBSCRIPTION_DATES
from reports.models import GrowthHour

Kind = Activity.Kind
PERIODS = {"day": 60, "week": 52, "month": 24}  # how many periods each view goes back
DIMENSIONS = {"grade": "Grade", "region": "Region", "industry": "Industry", "owner": "Owner"}


def growth(period: str, now: datetime | None = None) -> list[dict]:
    """Per period: new and confirmed subscriptions, unsubscribes, hard bounces, complaints, and the net change."""
    if period not in PERIODS:
        raise ValueError(f"period must be one of {', '.join(PERIODS)}")
    now = now or timezone.now()
    since = now - timedelta(days={"day": 1, "week": 7, "month": 31}[period] * PERIODS[period])
    rows: dict[datetime, dict[str, int]] = {}

    def add(queryset, field: str, name: str) -> None:
        grouped = (
            queryset.filter(**{f"{field}__gte": since})
            .annotate(period=Trunc(field, period))
            .values("period")
            .annotate(n=Count("pk"))
        )
        for row in grouped:
            rows.setdefault(row["period"], {})[name] = row["n"]

    for name, moment, count in _subscription_growth(period, since, now):
        bucket = rows.setdefault(moment, {})
        bucket[name] = bucket.get(name, 0) + count
    add(Activity.objects.filter(kind=Kind.BOUNCED_HARD), "occurred_at", "bounced")
    add(Activity.objects.filter(kind=Kind.COMPLAINED), "occurred_at", "complained")
    result = []
    for moment, counts in sorted(rows.items()):
        values = {name: counts.get(name, 0) for name in ("new", "confirmed", "unsubscribed", "bounced", "complained")}
        net = values["new"] - values["unsubscribed"] - values["bounced"] - values["complained"]
        result.append({"period": moment, **values, "net": net})
    return result


def _subscription_growth(period: str, since: datetime, now: datetime) -> Iterator[tuple[str, datetime, int]]:
    """(new|confirmed|unsubscribed, period, subscriptions) since ``since``: the whole hours the
    roll-up covers from it, and the subscriptions for the part of the first hour before them and
    for everything after. Without the roll-up, or in a time zone whose periods do not start on
    a UTC hour, the subscriptions alone."""
    until = growth_rollup.rolled_up_until()
    first = growth_rollup.hour_floor(since)
    first = first if first == since else first + HOUR
    whole_hours = timezone.localtime(now).utcoffset() % HOUR == timedelta(0)
    if until is None or until <= first or not whole_hours:
        yield from _subscription_counts(period, lambda field: Q(**{f"{field}__gte": since}))
        return
    rolled = (
        GrowthHour.objects.filter(hour__gte=first, hour__lt=until)
        .annotate(period=Trunc("hour", period))
        .values("period")
        .annotate(**{name: Sum(name) for name in SUBSCRIPTION_DATES})
        .order_by()
    )
    for row in rolled:
        for name in SUBSCRIPTION_DATES:
            yield name, row["period"], row[name]
    yield from _subscription_counts(
        period,
        lambda field: Q(**{f"{field}__gte": since, f"{field}__lt": first}) | Q(**{f"{field}__gte": until}),
    )


def _subscription_counts(period: str, inside: Callable[[str], Q]) -> Iterator[tuple[str, datetime, int]]:
    """(new|confirmed|unsubscribed, period, subscriptions) in one pass over the subscriptions
    (their dates have no index: one scan instead of three) for the dates ``inside`` selects.
    Rows are grouped by the period of each date, null for a date not selected."""
    recent = Q()
    dates: dict[str, Any] = {}
    for name, field in SUBSCRIPTION_DATES.items():
        recent |= inside(field)
        inside_date = Case(When(inside(field), then=F(field)), output_field=DateTimeField())
        dates[name] = Trunc(inside_date, period, output_field=DateTimeField())
    grouped = Subscription.objects.filter(recent).annotate(**dates).values(*dates).annotate(n=Count("pk")).order_by()
    for row in grouped:
        for name in SUBSCRIPTION_DATES:
            if row[name] is not None:
                yield name, row[name], row["n"]


def classification(rows: str, columns: str) -> tuple[list[str], list[tuple[str, list[int], int]]]:
    """Contacts counted by two of grade/region/industry/owner: (column labels, rows of counts, row total)."""
    if rows not in DIMENSIONS or columns not in DIMENSIONS or rows == columns:
        raise ValueError("choose two different dimensions")
    fields = {name: _field(name) for name in (rows, columns)}
    grouped = Contact.objects.values(*fields.values()).annotate(n=Count("pk")).order_by()
    table: dict[str, dict[str, int]] = {}
    labels: set[str] = set()
    for row in grouped:
        row_label = _label(row[fields[rows]])
        column_label = _label(row[fields[columns]])
        labels.add(column_label)
        table.setdefault(row_label, {})[column_label] = table.get(row_label, {}).get(column_label, 0) + row["n"]
    ordered = sorted(labels)
    body = [
        (label, [counts.get(column, 0) for column in ordered], sum(counts.values()))
        for label, counts in sorted(table.items())
    ]
    return ordered, body


def _field(name: str) -> str:
    return "owner__username" if name == "owner" else name


def _label(value: str | None) -> str:
    return value or "(none)"
