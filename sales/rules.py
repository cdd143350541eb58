"""Task rules: who would get a task (the dry run) and making those tasks, in set-based SQL.

Activity triggers read ``contacts.Activity`` rows after the rule's watermark (an activity id)
up to the newest id seen when the run started, which becomes the new watermark; a rule that
has never run looks back seven days. The date trigger reads the custom date field: dates in
(last day done + N, today + N]. The dry run and the run share one query, so the count shown
before switching a rule on is what the run then makes. "Replied" reads the replies
tracking/replies.py records from the inbound mailbox.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import transaction
from django.db.models import CharField, Count, Exists, Max, OuterRef, Q, QuerySet
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.utils import timezone

from contacts.models import Activity, Contact
from sales.models import Task, TaskRule
from sales.services import create_rule_tasks

Trigger = TaskRule.Trigger
FIRST_LOOK_BACK = timedelta(days=7)


@dataclass(frozen=True)
class Window:
    """What one run reads: activity ids up to ``upper`` after the watermark, and today's date."""

    now: datetime
    upper: int
    today: date

    @classmethod
    def current(cls) -> "Window":
        now = timezone.now()
        upper = Activity.objects.aggregate(top=Max("pk"))["top"] or 0
        return cls(now=now, upper=upper, today=timezone.localdate(now))


def _new_activity(rule: TaskRule, window: Window) -> QuerySet:
    rows = Activity.objects.filter(pk__lte=window.upper)
    if rule.watermark is None:
        return rows.filter(occurred_at__gte=window.now - FIRST_LOOK_BACK)
    return rows.filter(pk__gt=rule.watermark)


def _human_clicks() -> Q:
    return Q(kind=Activity.Kind.CLICKED, is_machine=False)


def _matching(rule: TaskRule, window: Window) -> QuerySet:
    """Ids of the contacts the rule fires for, before the one-open-task-per-rule filter."""
    if rule.trigger == Trigger.LINK_CLICKED:
        clicks = _new_activity(rule, window).filter(_human_clicks(), link_url__icontains=rule.url_pattern)
        return clicks.values("contact_id")
    if rule.trigger == Trigger.REPLIED:
        return _new_activity(rule, window).filter(kind=Activity.Kind.REPLIED).values("contact_id")
    if rule.trigger == Trigger.SCORE:
        engaged = _new_activity(rule, window).filter(
            Q(kind=Activity.Kind.OPENED) | Q(kind=Activity.Kind.CLICKED), is_machine=False
        )
        return Contact.objects.filter(engagement_score__gte=rule.threshold, pk__in=engaged.values("contact_id")).values(
            "pk"
        )
    if rule.trigger == Trigger.CLICKS_IN_WEEK:
        recent = _new_activity(rule, window).filter(_human_clicks()).values("contact_id")
        week = Activity.objects.filter(
            _human_clicks(), contact_id__in=recent, occurred_at__gte=window.now - timedelta(days=7)
        )
        return (
            week.values("contact_id").annotate(clicks=Count("pk")).filter(clicks__gte=rule.count).values("contact_id")
        )
    if rule.trigger == Trigger.DATE_COMING:
        ahead = timedelta(days=rule.count or 0)
        last = (rule.watermark_date or window.today - timedelta(days=1)) + ahead
        value = Cast(KT(f"custom_fields__{rule.date_field}"), CharField())
        upcoming = Contact.objects.alias(coming=value).filter(
            coming__gt=last.isoformat(), coming__lte=(window.today + ahead).isoformat()
        )
        return upcoming.values("pk")
    raise ValueError(f"unknown trigger {rule.trigger!r}")


def candidates(rule: TaskRule, window: Window) -> QuerySet:
    """Contacts the rule would give a task now: matching, and without an open task for the rule."""
    open_task = Task.objects.filter(contact=OuterRef("pk"), rule_key=rule.rule_key, done_at__isnull=True)
    return Contact.objects.filter(pk__in=_matching(rule, window)).exclude(Exists(open_task))


def dry_run(rule: TaskRule) -> int:
    return candidates(rule, Window.current()).count()


def run(rule_id: int) -> int:
    """Make the rule's tasks and move its watermark, in one transaction; returns how many."""
    with transaction.atomic():
        rule = TaskRule.objects.select_for_update().get(pk=rule_id)
        window = Window.current()
        created = create_rule_tasks(
            candidates(rule, window).values("pk"),
            rule.rule_key,
            rule.task_title,
            rule.task_kind,
            window.now + timedelta(days=rule.due_in_days),
            made_by=f"rule '{rule.name}'",
        )
        TaskRule.objects.filter(pk=rule.pk).update(
            watermark=window.upper, watermark_date=window.today, last_run_at=window.now, last_created=created
        )
    return created


def run_enabled() -> int:
    return sum(run(rule_id) for rule_id in TaskRule.objects.filter(enabled=True).values_list("pk", flat=True))
