"""Enqueue the campaign tasks by name, after the transaction commits.

Nothing but Celery's autodiscovery imports campaigns.tasks: tasks import the services and
the pipeline, and those only name the tasks here, so no import runs the other way. A
signature by name runs the registered task as registered (eagerly in tests with
CELERY_TASK_ALWAYS_EAGER); autodiscovery is asked to load the registry first, since a web
process may enqueue before anything imported the tasks modules.
"""

from __future__ import annotations

from celery import current_app
from celery.canvas import Signature
from django.db import transaction

START_CAMPAIGN = "campaigns.tasks.start_campaign"
SEND_BATCH = "campaigns.tasks.send_batch"


def signature(name: str, *args: object) -> Signature:
    """The named task with its arguments (ids only, so JSON-safe)."""
    if name not in current_app.tasks:
        current_app.loader.import_default_modules()
    return current_app.signature(name, args=args)


def start_campaign(campaign_id: int) -> None:
    transaction.on_commit(lambda: signature(START_CAMPAIGN, campaign_id).apply_async())


def send_batches(campaign_id: int, batches: list[int], countdown: float = 0) -> None:
    for batch in batches:
        transaction.on_commit(
            lambda batch=batch: signature(SEND_BATCH, campaign_id, batch).apply_async(countdown=countdown)
        )
