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
# The page lists the rows of these buckets and only counts "later" (the All tasks list pages
# through those): an owner's "later" is most of their tasks and none of today's work.
LISTED = ("overdue", "today", "week")
# Rows shown per listed bucket; the counts are always complete.
SHOWN = 50
# What a My day row shows: the contact's name and address, nothing of its heavy columns.
ROW_FIELDS = (
    "due_at", "kind", "title", "note", "priority", "contact_id", "owner_id",
    "contact__email", "contact__first_name", "contact__last_name",
)  # fmt: skip
OWNER_FIELDS = ("owner__username", "owner__first_name", "owner__last_name")


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


def buckets(
    tasks, edges: Bounds, limit: int | None = SHOWN, names: tuple[str, ...] = BUCKETS, with_owner: bool = True
) -> dict[str, list[Task]]:
    """The tasks of the ``names`` buckets, soonest first, at most ``limit`` each, with only the
    columns a row shows (and the owner's name when ``with_owner``)."""
    related, fields = ("contact", "owner"), ROW_FIELDS + OWNER_FIELDS
    if not with_owner:
        related, fields = ("contact",), ROW_FIELDS
    rows = tasks.select_related(*related).only(*fields).order_by("due_at", "-priority", "pk")
    return {name: list(rows.filter(edges.q(name))[:limit] if limit else rows.filter(edges.q(name))) for name in names}


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
