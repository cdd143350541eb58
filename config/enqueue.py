"""Enqueue Celery tasks by name, so no module imports a tasks.py (only Celery's autodiscovery does).

Services enqueue their follow-up work through here; a task module imports the services it
wraps, never the other way round, so there is no import cycle to hide inside a function.
"""

from typing import Any

from celery import Signature
from django.db import transaction

from config.celery import app


def signature(name: str, *args: Any, **kwargs: Any) -> Signature:
    """The task ``name`` (e.g. "contacts.tasks.run_import_job") with its arguments, not yet sent.

    Bound to the registered task when the tasks modules are loaded, so an eager test run
    (CELERY_TASK_ALWAYS_EAGER) runs it in-process as a direct ``.delay()`` would."""
    if name not in app.tasks:
        # A web process has not imported the tasks modules; a worker imports them at start.
        app.loader.import_default_modules()
    return app.signature(name, args=args, kwargs=kwargs)


def enqueue(name: str, *args: Any, **kwargs: Any) -> None:
    """Send the task now."""
    signature(name, *args, **kwargs).apply_async()


def enqueue_on_commit(name: str, *args: Any, **kwargs: Any) -> None:
    """Send the task once the current transaction commits (at once outside one), like ``delay_on_commit``."""
    task = signature(name, *args, **kwargs)
    transaction.on_commit(task.apply_async)
