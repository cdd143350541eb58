"""My day's buckets follow the owner's own clock; task states move through the service functions."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from wagtail.users.models import UserProfile

from contacts.models import Activity
from sales import my_day, services
from sales.models import Task
from tests.factories import ContactFactory, TaskFactory, UserFactory

pytestmark = pytest.mark.django_db

# 23:30 UTC on 1 March 2027: 07:30 on 2 March in Shanghai, 18:30 on 1 March in New York.
INSTANT = datetime(2027, 3, 1, 23, 30, tzinfo=UTC)


def _owner(zone: str):
    user = UserFactory()
    profile = UserProfile.get_for_user(user)
    profile.current_time_zone = zone
    profile.save()
    return user


def _bucket_of(task: Task, user) -> str:
    edges = my_day.bounds(my_day.owner_zone(user), INSTANT)
    return next(name for name, rows in my_day.buckets(Task.objects.open(), edges).items() if task in rows)


def test_shanghai_and_new_york_owners_see_a_different_today_at_the_same_instant():
    shanghai, new_york = _owner("Asia/Shanghai"), _owner("America/New_York")
    # 02:00 UTC on 2 March: 10:00 the same day in Shanghai, 21:00 the evening before in New York.
    due = datetime(2027, 3, 2, 2, 0, tzinfo=UTC)
    in_shanghai = TaskFactory(owner=shanghai, due_at=due)
    in_new_york = TaskFactory(owner=new_york, due_at=due)

    assert _bucket_of(in_shanghai, shanghai) == "today"
    assert _bucket_of(in_new_york, new_york) == "today"
    # Local midnight ending "today": 2 March 24:00 in Shanghai, 1 March 24:00 in New York.
    assert my_day.bounds(my_day.owner_zone(shanghai), INSTANT).end_of_today == datetime(2027, 3, 2, 16, tzinfo=UTC)
    assert my_day.bounds(my_day.owner_zone(new_york), INSTANT).end_of_today == datetime(2027, 3, 2, 5, tzinfo=UTC)


def test_a_task_due_at_the_same_moment_is_today_in_shanghai_but_this_week_in_new_york():
    shanghai, new_york = _owner("Asia/Shanghai"), _owner("America/New_York")
    # 10:00 UTC on 2 March: 18:00 on 2 March in Shanghai (today there), 05:00 on 2 March in New York (tomorrow).
    due = datetime(2027, 3, 2, 10, 0, tzinfo=UTC)

    assert _bucket_of(TaskFactory(owner=shanghai, due_at=due), shanghai) == "today"
    assert _bucket_of(TaskFactory(owner=new_york, due_at=due), new_york) == "week"


def test_an_owner_without_a_time_zone_gets_the_sites_one(settings):
    settings.TIME_ZONE = "Europe/Berlin"
    assert str(my_day.owner_zone(UserFactory())) == "Europe/Berlin"


def test_buckets_split_overdue_today_week_and_later():
    owner = _owner("UTC")
    edges = my_day.bounds(my_day.owner_zone(owner), INSTANT)
    for hours, expected in ((-1, "overdue"), (0.25, "today"), (24, "week"), (24 * 8, "later")):
        task = TaskFactory(owner=owner, due_at=INSTANT + timedelta(hours=hours))
        assert _bucket_of(task, owner) == expected
    assert my_day.counts(Task.objects.filter(owner=owner), edges) == {"overdue": 1, "today": 1, "week": 1, "later": 1}


def test_the_command_refuses_an_unknown_user():
    with pytest.raises(CommandError, match="no user"):
        call_command("my_day", "nobody", "--json")


def test_the_command_prints_overdue_today_and_week_of_that_owner(capsys):
    owner = _owner("UTC")
    overdue = TaskFactory(owner=owner, due_at=timezone.now() - timedelta(days=2), kind=Task.Kind.CALL)
    TaskFactory(owner=owner, due_at=timezone.now() - timedelta(days=1), done_at=timezone.now())
    TaskFactory(due_at=timezone.now() - timedelta(days=1))

    call_command("my_day", owner.username, "--json")

    document = json.loads(capsys.readouterr().out)
    assert set(document) == {"overdue", "today", "week"}
    assert document["overdue"] == [
        {"id": overdue.pk, "contact": overdue.contact.email, "kind": "call", "due_at": overdue.due_at.isoformat()}
    ]


def test_completing_a_task_twice_writes_one_history_entry():
    task = TaskFactory()

    assert services.complete(task.pk, task.owner) is True
    assert services.complete(task.pk, task.owner) is False

    task.refresh_from_db()
    assert task.done_at is not None
    assert Activity.objects.filter(contact=task.contact, kind=Activity.Kind.TASK).count() == 1


def test_a_done_task_cannot_be_snoozed_or_reassigned():
    task = TaskFactory(done_at=timezone.now())

    assert services.snooze(task.pk, timezone.now() + timedelta(days=1)) is False
    assert services.reassign(task.pk, UserFactory(), task.owner) is False


def test_snoozing_a_task_whose_reminder_went_out_arms_it_again():
    task = TaskFactory(reminder=Task.Reminder.SENT)
    new_due = timezone.now() + timedelta(days=7)

    assert services.snooze(task.pk, new_due) is True

    task.refresh_from_db()
    assert (task.due_at, task.reminder) == (new_due, Task.Reminder.PENDING)


def test_reassigning_hands_the_task_over_and_says_so_in_the_history():
    task, colleague = TaskFactory(), UserFactory(first_name="Li", last_name="Wei")

    assert services.reassign(task.pk, colleague, task.owner) is True

    assert Task.objects.get(pk=task.pk).owner == colleague
    assert Activity.objects.get(kind=Activity.Kind.TASK).details["summary"].startswith("Task handed to Li Wei")


def test_logging_a_call_is_a_done_call_task_with_its_note_in_the_history():
    contact, user = ContactFactory(), UserFactory()

    task = services.log_call(contact, user, "Wants a quote for 40 pallets")

    assert (task.kind, task.owner, task.done_at is not None, task.reminder) == ("call", user, True, "none")
    entry = Activity.objects.get(contact=contact, kind=Activity.Kind.TASK)
    assert entry.details["summary"] == "Call logged: Wants a quote for 40 pallets"


def test_follow_up_goes_to_the_contacts_owner_in_three_days():
    owner, clicker = UserFactory(), UserFactory()
    contact = ContactFactory(owner=owner)

    task = services.follow_up(contact, clicker)

    assert task.owner == owner
    assert timedelta(days=2, hours=23) < task.due_at - timezone.now() <= timedelta(days=3)
