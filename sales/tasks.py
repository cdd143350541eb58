"""Celery tasks of the sales app: thin wrappers taking ids; the work is in reminders.py, rules.py,
lost.py and grades.py."""

from celery import shared_task
from django.conf import settings

from sales import grades, lost, reminders, rules


@shared_task
def tick() -> None:
    """Every few seconds from beat: take back dead workers' reminders, start senders for due
    ones, and hand out the digests whose 08:00 has come."""
    reminders.reclaim_expired()
    if reminders.due_count():
        for _ in range(settings.REMINDER_SENDERS):
            send_reminders.delay()
    for owner_id, local_date in reminders.digests_due():
        send_digest.delay(owner_id, local_date)


@shared_task
def send_reminders() -> int:
    return reminders.send_due(settings.REMINDER_SEND_BUDGET_SECONDS)


@shared_task
def send_digest(owner_id: int, local_date: str) -> bool:
    return reminders.send_digest(owner_id, local_date)


@shared_task
def run_task_rules() -> int:
    return rules.run_enabled()


@shared_task(ignore_result=True)
def detect_lost_customers() -> None:
    lost.detect_lost_customers()


@shared_task(ignore_result=True)
def apply_grade_rules() -> None:
    grades.apply_nightly()
