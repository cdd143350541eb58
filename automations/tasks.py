"""Celery tasks of the journey engine: thin wrappers; the work is in engine/triggers."""

from math import ceil

from celery import shared_task
from django.conf import settings

from automations import engine, retention, triggers


@shared_task
def tick() -> int:
    """Every JOURNEY_TICK_SECONDS from beat: unsubscribed contacts leave, triggers enrol, and
    enough advance tasks are enqueued for what is due (a duplicated tick only adds idle claimers)."""
    engine.leave_unsubscribed()
    triggers.evaluate_all()
    waiting = engine.due(settings.JOURNEY_BATCH_SIZE * settings.JOURNEY_WORKERS)
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
