"""Celery tasks of the journey engine: thin wrappers; the work is in engine/triggers."""

from math import ceil

from celery import shared_task
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from automations import engine, retention, triggers
from automations.models import Enrolment, Journey


@shared_task
def tick() -> int:
    """Every JOURNEY_TICK_SECONDS from beat: unsubscribed contacts leave, triggers enrol, and
    enough advance tasks are enqueued for what is due (a duplicated tick only adds idle claimers)."""
    engine.leave_unsubscribed()
    triggers.evaluate_all()
    now = timezone.now()
    due = Enrolment.objects.filter(journey__status=Journey.Status.LIVE).filter(
        Q(state=Enrolment.State.WAITING, due_at__lte=now) | Q(state=Enrolment.State.RUNNING, lease_until__lt=now)
    )
    waiting = due[: settings.JOURNEY_BATCH_SIZE * settings.JOURNEY_WORKERS].count()
    workers = min(settings.JOURNEY_WORKERS, ceil(waiting / settings.JOURNEY_BATCH_SIZE))
    for _ in range(workers):
        advance.delay()
    return workers


@shared_task
def advance() -> int:
    return engine.advance()


@shared_task
def purge_step_runs() -> int:
    return retention.purge_step_runs()
