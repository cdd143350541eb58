"""My day: an owner's open tasks as overdue, today, this week and later, by the owner's own clock.

"Today" runs from the owner's local midnight to the next one (wagtail.users'
``UserProfile.current_time_zone``, else ``settings.TIME_ZONE``); "this week" is the six days
after today; "later" everything after that. An overdue task is one whose due time has passed,
even if it was due earlier today.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, Q
from django.utils import timezone

from sales.models import Task

BUCKETS = ("overdue", "today", "week", "later")
# Rows shown per bucket on the page; the counts are always complete.
SHOWN = 50


def owner_zone(user: AbstractBaseUser) -> ZoneInfo:
    """The user's own time zone; read through the relation (select_related("owner__wagtail_userprofile")
    spares the query), never creating a profile as ``UserProfile.get_for_user`` would."""
    from wagtail.users.models import UserProfile

    try:
        name = user.wagtail_userprofile.current_time_zone or settings.TIME_ZONE
    except UserProfile.DoesNotExist:
        name = settings.TIME_ZONE
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):
        return ZoneInfo(settings.TIME_ZONE)


@dataclass(frozen=True)
class Bounds:
    now: datetime
    end_of_today: datetime
    end_of_week: datetime

    def q(self, bucket: str) -> Q:
        return {
            "overdue": Q(due_at__lt=self.now),
            "today": Q(due_at__gte=self.now, due_at__lt=self.end_of_today),
            "week": Q(due_at__gte=self.end_of_today, due_at__lt=self.end_of_week),
            "later": Q(due_at__gte=self.end_of_week),
        }[bucket]


def bounds(zone: ZoneInfo, now: datetime | None = None) -> Bounds:
    """The bucket edges of one time zone at ``now``, in UTC-aware datetimes."""
    now = now or timezone.now()
    local = now.astimezone(zone)
    midnight = datetime(local.year, local.month, local.day, tzinfo=zone)
    # Calendar arithmetic on dates, then localised, so a DST change is midnight to midnight.
    tomorrow = (midnight + timedelta(days=1)).date()
    week_end = (midnight + timedelta(days=7)).date()
    return Bounds(
        now=now,
        end_of_today=datetime(tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=zone),
        end_of_week=datetime(week_end.year, week_end.month, week_end.day, tzinfo=zone),
    )


def counts(tasks, edges: Bounds) -> dict[str, int]:
    """Every bucket's size in one aggregate query."""
    return tasks.aggregate(**{bucket: Count("pk", filter=edges.q(bucket)) for bucket in BUCKETS})


def buckets(tasks, edges: Bounds, limit: int | None = SHOWN) -> dict[str, list[Task]]:
    """The tasks of each bucket, soonest first, at most ``limit`` each."""
    result = {}
    for bucket in BUCKETS:
        rows = tasks.filter(edges.q(bucket)).select_related("contact", "owner").order_by("due_at", "-priority", "pk")
        result[bucket] = list(rows[:limit] if limit else rows)
    return result


def badge_count(user: AbstractBaseUser) -> int:
    """Overdue and today's open tasks of one owner: the number on the menu item."""
    edges = bounds(owner_zone(user))
    return Task.objects.open().filter(owner=user, due_at__lt=edges.end_of_today).count()


def as_json(user: AbstractBaseUser) -> dict[str, list[dict]]:
    """The my_day command's document: {"overdue", "today", "week"}, each [{"id", "contact", "kind", "due_at"}]."""
    edges = bounds(owner_zone(user))
    tasks = Task.objects.open().filter(owner=user)
    result = {}
    for bucket in ("overdue", "today", "week"):
        rows = tasks.filter(edges.q(bucket)).order_by("due_at", "-priority", "pk")
        result[bucket] = [
            {"id": pk, "contact": email, "kind": kind, "due_at": due_at.isoformat()}
            for pk, email, kind, due_at in rows.values_list("pk", "contact__email", "kind", "due_at")
        ]
    return result
