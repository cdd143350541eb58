"""Thin Celery wrappers around the tracking and engagement services."""

from celery import shared_task

from contacts import engagement
from tracking import bounces, services

# One drain run stops after this many batches so a flood cannot pin a worker; the next
# beat tick carries on where it stopped.
DRAIN_MAX_BATCHES = 200


@shared_task(ignore_result=True)
def drain_events() -> int:
    return services.drain_exclusively(max_batches=DRAIN_MAX_BATCHES)


@shared_task(ignore_result=True)
def recompute_engagement() -> None:
    engagement.recompute_all()


@shared_task(ignore_result=True)
def poll_bounce_mailbox() -> int:
    return bounces.poll_mailbox()
