"""create_rule_tasks: the set-based entry point rules and lost-customer alerts make tasks through."""

from datetime import timedelta

import pytest
from django.utils import timezone

from contacts.models import Contact
from sales.models import Task
from sales.services import create_rule_tasks
from tests.factories import ContactFactory, TaskFactory, UserFactory

pytestmark = pytest.mark.django_db


def _due():
    return timezone.now() + timedelta(days=1)


def test_an_empty_rule_key_is_refused():
    with pytest.raises(ValueError):
        create_rule_tasks(Contact.objects.values("pk"), "", "Call", Task.Kind.CALL, _due())


def test_a_contact_with_an_open_task_for_the_rule_gets_no_second_one():
    contact = ContactFactory()
    TaskFactory(contact=contact, rule_key="lost-customer", origin=Task.Origin.RULE)

    created = create_rule_tasks(Contact.objects.values("pk"), "lost-customer", "Win back", Task.Kind.CALL, _due())

    assert created == 0
    assert Task.objects.filter(contact=contact).count() == 1


def test_a_done_task_for_the_rule_does_not_stop_a_new_one():
    contact = ContactFactory()
    TaskFactory(contact=contact, rule_key="lost-customer", done_at=timezone.now())

    assert create_rule_tasks(Contact.objects.values("pk"), "lost-customer", "Win back", Task.Kind.CALL, _due()) == 1


def test_each_contact_gets_one_task_owned_by_its_owner_and_the_count_is_returned():
    owner = UserFactory()
    owned, unowned = ContactFactory(owner=owner), ContactFactory()
    due = _due()

    created = create_rule_tasks(
        Contact.objects.filter(pk__in=[owned.pk, unowned.pk]).values("pk"), "lost-customer", "Win back", "call", due
    )

    assert created == 2
    task = Task.objects.get(contact=owned)
    assert (task.owner, task.origin, task.rule_key, task.kind, task.title) == (
        owner,
        Task.Origin.RULE,
        "lost-customer",
        "call",
        "Win back",
    )
    assert task.due_at == due
    assert Task.objects.get(contact=unowned).owner is None
