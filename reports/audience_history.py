"""Audience over time: contacts by standing at the end of each month, and the month-on-month
moves between grades and between standings, from the contacts' history entries. A few grouped
queries whose size grows with months and choices, not with contacts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Count
from django.db.models.functions import TruncMonth
from django.utils import timezone

from contacts.models import Activity, Contact

Kind = Activity.Kind
STANDINGS = [value for value, _ in Contact.Standing.choices]


def month_starts(months: int, now: datetime | None = None) -> list[datetime]:
    """The first instants of the last ``months`` months, oldest first, this month last."""
    now = timezone.localtime(now or timezone.now())
    current = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    starts = []
    for back in range(months - 1, -1, -1):
        total = current.year * 12 + current.month - 1 - back
        starts.append(current.replace(year=total // 12, month=total % 12 + 1))
    return starts


def _key(moment: datetime) -> tuple[int, int]:
    moment = timezone.localtime(moment) if timezone.is_aware(moment) else moment
    return moment.year, moment.month


def standing_by_month(months: int = 24, now: datetime | None = None) -> tuple[bool, list[tuple[datetime, dict]]]:
    """(from history?, [(month, {standing: contacts})]).

    With standing history: the standing each contact had at the end of each month, found by
    undoing, from today's standings, every change recorded after that month. Without any
    history entry: today's standing of the contacts created in each month."""
    starts = month_starts(months, now)
    has_history = Activity.objects.filter(kind=Kind.STANDING).exists()
    # With history, contacts from before the window are all "created by" its first month.
    first = _key(starts[0]) if has_history else (0, 0)
    current: dict[tuple[int, int], dict[str, int]] = {}
    created = (
        Contact.objects.annotate(month=TruncMonth("created_at")).values("month", "standing").annotate(n=Count("pk"))
    )
    for row in created.order_by():
        month = max(_key(row["month"]), first)
        bucket = current.setdefault(month, {})
        bucket[row["standing"]] = bucket.get(row["standing"], 0) + row["n"]
    changes = (
        Activity.objects.filter(kind=Kind.STANDING, occurred_at__gte=starts[0])
        .annotate(month=TruncMonth("occurred_at"), created=TruncMonth("contact__created_at"))
        .values("month", "created", "details__from", "details__to")
        .annotate(n=Count("pk"))
        .order_by()
    )
    moves = [
        (_key(row["month"]), max(_key(row["created"]), first), row["details__from"], row["details__to"], row["n"])
        for row in changes
    ]
    result = []
    for start in starts:
        month = _key(start)
        counts = dict.fromkeys(STANDINGS, 0)
        for created_month, by_standing in current.items():
            if created_month == month or (has_history and created_month < month):
                for standing, n in by_standing.items():
                    counts[standing] = counts.get(standing, 0) + n
        if has_history:
            for moved, created_month, old, new, n in moves:
                if moved > month and created_month <= month:
                    counts[new] = counts.get(new, 0) - n
                    counts[old] = counts.get(old, 0) + n
        result.append((start, counts))
    return has_history, result


def movement(kind: str, months: int = 24, now: datetime | None = None) -> list[dict[str, Any]]:
    """Contacts moved from one value to another per month (grade or standing history entries)."""
    since = month_starts(months, now)[0]
    rows = (
        Activity.objects.filter(kind=kind, occurred_at__gte=since)
        .annotate(month=TruncMonth("occurred_at"))
        .values("month", "details__from", "details__to")
        .annotate(n=Count("pk"))
        .order_by()
    )
    result = [
        {
            "month": row["month"],
            "from": row["details__from"] or "",
            "to": row["details__to"] or "",
            "contacts": row["n"],
        }
        for row in rows
    ]
    result.sort(key=lambda row: (row["month"], -row["contacts"], row["from"], row["to"]))
    return result
