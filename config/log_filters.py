"""Logging filters. `make run` logs at INFO, where Celery reports every task it receives and
finishes and beat every task it sends: the drain and the tick, every few seconds, would bury
everything else."""

import logging
from datetime import timedelta

from django.conf import settings

# Tasks beat runs more often than this are frequent.
FREQUENT_SECONDS = 60
# Celery's repr of a return value that reports no work done.
NOTHING_DONE = {"None", "0"}
# Health checks' round trips through the worker: never news at INFO.
HEALTH_TASKS = {"rapport.ping"}


def frequent_tasks() -> set[str]:
    tasks = set()
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        schedule = entry["schedule"]
        seconds = schedule.total_seconds() if isinstance(schedule, timedelta) else schedule
        if isinstance(seconds, int | float) and seconds < FREQUENT_SECONDS:
            tasks.add(entry["task"])
    return tasks


def task_name(record: logging.LogRecord) -> str:
    """The task a Celery INFO record is about: worker records carry it in ``data``, beat's in its args."""
    data = getattr(record, "data", None)
    if isinstance(data, dict):
        return str(data.get("name", ""))
    if isinstance(record.args, tuple) and len(record.args) == 2:
        return str(record.args[1])
    return ""


class QuietFrequentTasks(logging.Filter):
    """Drops INFO records about health pings and frequent periodic tasks, unless the periodic
    task reports work done (the drain returns how many events it stored)."""

    def filter(self, record: logging.LogRecord) -> bool:
        name = task_name(record)
        if record.levelno != logging.INFO or name not in frequent_tasks() | HEALTH_TASKS:
            return True
        if name in HEALTH_TASKS:
            return False
        data = getattr(record, "data", None)
        return isinstance(data, dict) and str(data.get("return_value", "None")) not in NOTHING_DONE
