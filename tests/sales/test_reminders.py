"""Reminders at the due time and the 08:00 digest: claimed by a state change, each sent once."""

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from wagtail.users.models import UserProfile

from sales import reminders
from sales.models import Digest, Task
from tests.factories import TaskFactory, UserFactory

pytestmark = pytest.mark.django_db


def subjects(sink) -> Counter:
    return Counter(message["Subject"] for message in sink.parsed())


def _due(**kwargs) -> Task:
    return TaskFactory(due_at=timezone.now() - timedelta(seconds=5), **kwargs)


def test_a_refused_reminder_is_failed_and_not_retried(smtp):
    task = _due()
    smtp.handler.reply = "550 5.1.1 no such user"

    reminders.send_due(10)

    assert Task.objects.get(pk=task.pk).reminder == Task.Reminder.FAILED


def test_a_deferred_reminder_waits_and_is_sent_later(smtp, settings):
    task = _due()
    smtp.handler.reply = "451 4.3.0 try later"
    reminders.send_due(10)
    task.refresh_from_db()
    assert (task.reminder, task.reminder_lease_until > timezone.now()) == (Task.Reminder.PENDING, True)

    smtp.handler.reply = None
    assert reminders.send_due(10) == 0
    Task.objects.filter(pk=task.pk).update(reminder_lease_until=timezone.now() - timedelta(seconds=1))
    assert reminders.send_due(10) == 1


def test_tasks_not_due_done_or_without_an_owner_get_no_reminder(smtp):
    TaskFactory(due_at=timezone.now() + timedelta(minutes=5))
    _due(done_at=timezone.now())
    _due(owner=None)

    assert reminders.send_due(10) == 0
    assert smtp.handler.messages == []


def test_a_due_reminder_goes_to_the_owner_once(smtp):
    owner = UserFactory(email="sam@staff.example.com")
    task = _due(owner=owner, title="Call about pallets", contact__first_name="Bo", contact__last_name="Li")

    assert reminders.send_due(10) == 1
    assert reminders.send_due(10) == 0

    [message] = smtp.parsed()
    assert message["To"] == "sam@staff.example.com"
    assert message["Subject"] == "Reminder: Call about pallets (Bo Li)"
    assert f"/contact/inspect/{task.contact_id}/" in message.get_body(("plain",)).get_content()
    task.refresh_from_db()
    assert (task.reminder, task.reminded_at is not None) == (Task.Reminder.SENT, True)


def test_a_dead_workers_untouched_claims_are_sent_and_the_one_on_the_wire_is_not(smtp):
    on_wire, untouched = _due(title="on the wire"), _due(title="untouched")
    expired = timezone.now() - timedelta(seconds=1)
    Task.objects.filter(pk=on_wire.pk).update(
        reminder=Task.Reminder.WIRE, reminder_claim="dead", reminder_lease_until=expired
    )
    Task.objects.filter(pk=untouched.pk).update(
        reminder=Task.Reminder.SENDING, reminder_claim="dead", reminder_lease_until=expired
    )

    assert reminders.reclaim_expired() == (1, 1)
    reminders.send_due(10)

    assert Task.objects.get(pk=on_wire.pk).reminder == Task.Reminder.UNKNOWN
    assert Task.objects.get(pk=untouched.pk).reminder == Task.Reminder.SENT
    assert list(subjects(smtp)) == [f"Reminder: untouched ({untouched.contact.full_name})"]


def test_a_worker_whose_claim_was_taken_back_sends_nothing(smtp):
    _due()
    claim = reminders.claim_batch()
    reminders.reclaim_expired(timezone.now() + timedelta(hours=1))
    new_claim = reminders.claim_batch()

    assert reminders.send_claimed(claim) == 0
    assert reminders.send_claimed(new_claim) == 1
    assert len(smtp.handler.messages) == 1


def _zone(user, name: str) -> None:
    profile = UserProfile.get_for_user(user)
    profile.current_time_zone = name
    profile.save()


def test_the_digest_comes_at_eight_in_the_owners_time_zone_once_per_day(smtp):
    shanghai, new_york = UserFactory(), UserFactory()
    _zone(shanghai, "Asia/Shanghai")
    _zone(new_york, "America/New_York")
    TaskFactory(owner=shanghai)
    TaskFactory(owner=new_york)
    # 00:30 UTC: 08:30 in Shanghai, 19:30 the evening before in New York (its digest went out then).
    instant = datetime(2027, 3, 2, 0, 30, tzinfo=UTC)
    Digest.objects.create(owner=new_york, local_date="2027-03-01")

    assert reminders.digests_due(instant) == [(shanghai.pk, "2027-03-02")]
    assert reminders.send_digest(shanghai.pk, "2027-03-02") is True
    assert reminders.send_digest(shanghai.pk, "2027-03-02") is False
    assert reminders.digests_due(instant) == []
    assert [message["To"] for message in smtp.parsed()] == [shanghai.email]


def test_the_digest_lists_overdue_and_todays_tasks_only(smtp):
    owner = UserFactory()
    TaskFactory(owner=owner, title="Late one", due_at=timezone.now() - timedelta(days=1))
    TaskFactory(owner=owner, title="Next month", due_at=timezone.now() + timedelta(days=30))

    reminders.send_digest(owner.pk, timezone.localdate().isoformat())

    body = smtp.parsed()[0].get_body(("plain",)).get_content()
    assert "OVERDUE" in body and "Late one" in body and "Next month" not in body


def test_owners_a_digest_cannot_reach_are_not_handed_out_on_every_tick():
    TaskFactory(owner=UserFactory(email=""))
    TaskFactory(owner=UserFactory(is_active=False))

    assert reminders.digests_due(datetime(2027, 3, 2, 12, 0, tzinfo=UTC)) == []
