"""Reminders with a real worker killed with -9 mid-batch: each is sent exactly once, except the one
on the wire at the kill, which is recorded as unknown and never resent (the send pipeline's rule)."""

import time
from collections import Counter
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from contacts.models import Contact
from sales import tasks
from sales.models import Task
from tests.conftest import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("real_broker")]
TASKS = 600


def _due_tasks() -> None:
    owners = get_user_model().objects.bulk_create(
        get_user_model()(username=f"owner{n}", email=f"owner{n}@staff.example.com") for n in range(20)
    )
    contacts = Contact.objects.bulk_create(
        Contact(email=f"c{n}@example.com", email_domain="example.com") for n in range(TASKS)
    )
    due = timezone.now() - timedelta(seconds=1)
    Task.objects.bulk_create(
        Task(contact=contact, owner=owners[n % len(owners)], title=f"T{n}", due_at=due)
        for n, contact in enumerate(contacts)
    )


def _titles(sink) -> Counter:
    """Reminders received, by task title (the digests that beat's tick also sends are left out)."""
    subjects = [message["Subject"] for message in sink.parsed()]
    return Counter(subject.removeprefix("Reminder: ").split(" (")[0] for subject in subjects if "Reminder: " in subject)


def _settled() -> bool:
    states = [Task.Reminder.PENDING, Task.Reminder.SENDING, Task.Reminder.WIRE]
    return not Task.objects.filter(reminder__in=states).exists()


def test_a_worker_killed_mid_batch_sends_every_reminder_once_and_none_twice(smtp_sink, start_worker):
    _due_tasks()
    env = {"EMAIL_URL": smtp_sink.url, "REMINDER_LEASE_SECONDS": "3", "REMINDER_BATCH_SIZE": "50"}
    first = start_worker(env)
    tasks.send_reminders.delay()
    wait_until(
        lambda: len(smtp_sink.handler.messages) >= 100 and Task.objects.filter(reminder=Task.Reminder.SENDING).exists(),
        message="100 reminders out and a batch in flight",
    )

    first.kill()
    start_worker(env)

    def tick_until_settled() -> bool:
        tasks.tick.delay()
        time.sleep(1)
        return _settled()

    wait_until(tick_until_settled, interval=0, message="every reminder sent or recorded as unknown")
    unknown = set(Task.objects.filter(reminder=Task.Reminder.UNKNOWN).values_list("title", flat=True))
    sent = set(Task.objects.filter(reminder=Task.Reminder.SENT).values_list("title", flat=True))
    received = _titles(smtp_sink)
    assert len(unknown) <= 1, "at most the one reminder on the wire at the kill"
    assert len(sent) + len(unknown) == TASKS
    assert [title for title, count in received.items() if count > 1] == []
    assert sent <= set(received) <= sent | unknown
