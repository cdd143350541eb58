"""My day, the one-click task actions and the contact page's tasks, as sales staff and managers use them."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from contacts.models import Activity
from contacts.roles import SALES, SALES_MANAGERS, ensure_groups
from sales.models import Task, TaskRule
from tests.factories import ContactFactory, TaskFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def seller():
    ensure_groups()
    return UserFactory(username="seller", first_name="Sam", last_name="Seller", groups=[SALES])


@pytest.fixture
def colleague():
    return UserFactory(username="colleague", first_name="Cora", last_name="Colleague", groups=[SALES])


@pytest.fixture
def manager():
    ensure_groups()
    return UserFactory(username="manager", groups=[SALES_MANAGERS])


def _action(task: Task, action: str) -> str:
    return reverse("sales_task_action", args=[task.pk, action])


def test_a_salesperson_cannot_act_on_a_colleagues_task(client, seller, colleague):
    task = TaskFactory(owner=colleague)
    client.force_login(seller)

    assert client.post(_action(task, "done")).status_code in (302, 403)
    assert Task.objects.get(pk=task.pk).done_at is None


def test_an_action_by_get_changes_nothing(client, seller):
    task = TaskFactory(owner=seller)
    client.force_login(seller)

    assert client.get(_action(task, "done")).status_code == 405
    assert Task.objects.get(pk=task.pk).done_at is None


def test_an_action_never_redirects_off_site(client, seller):
    task = TaskFactory(owner=seller)
    client.force_login(seller)

    response = client.post(_action(task, "done"), {"next": "https://evil.example.net/"})

    assert response["Location"] == reverse("sales_my_day")


def test_a_marketer_has_no_my_day(client):
    ensure_groups()
    client.force_login(UserFactory(groups=["Marketers"]))

    assert client.get(reverse("sales_my_day")).status_code in (302, 403)


def test_my_day_lists_only_the_salespersons_own_open_tasks(client, seller, colleague):
    mine = TaskFactory(owner=seller, title="Call about pallets", due_at=timezone.now() - timedelta(hours=1))
    TaskFactory(owner=colleague, title="Not mine")
    TaskFactory(owner=seller, title="Finished", done_at=timezone.now())
    client.force_login(seller)

    response = client.get(reverse("sales_my_day"))

    assert response.status_code == 200
    assert [task.pk for task in response.context["sections"][0][3]] == [mine.pk]
    assert b"Not mine" not in response.content and b"Finished" not in response.content
    assert b"Reassign" not in response.content


def test_a_manager_sees_a_colleagues_day_and_the_whole_team(client, manager, seller, colleague):
    TaskFactory(owner=seller, title="Seller's task")
    TaskFactory(owner=colleague, title="Colleague's task")
    client.force_login(manager)

    one = client.get(reverse("sales_my_day"), {"owner": seller.pk})
    team = client.get(reverse("sales_my_day"), {"owner": "all"})

    assert b"Seller&#x27;s task" in one.content and b"Colleague&#x27;s task" not in one.content
    assert b"Seller&#x27;s task" in team.content and b"Colleague&#x27;s task" in team.content


def test_a_salesperson_asking_for_the_team_sees_their_own(client, seller, colleague):
    TaskFactory(owner=colleague, title="Colleague's task")
    client.force_login(seller)

    assert b"Colleague" not in client.get(reverse("sales_my_day"), {"owner": "all"}).content


def test_done_snooze_and_pick_a_date_in_one_click_each(client, seller):
    task = TaskFactory(owner=seller, due_at=timezone.now() - timedelta(days=1))
    client.force_login(seller)

    client.post(_action(task, "week"))
    assert Task.objects.get(pk=task.pk).due_at > timezone.now() + timedelta(days=6)
    client.post(_action(task, "date"), {"until": "2031-05-04"})
    assert Task.objects.get(pk=task.pk).due_at.date().isoformat() == "2031-05-04"
    client.post(_action(task, "done"))
    assert Task.objects.get(pk=task.pk).done_at is not None


def test_a_manager_reassigns_a_task_in_one_click(client, manager, seller, colleague):
    task = TaskFactory(owner=seller)
    client.force_login(manager)

    client.post(_action(task, "reassign"), {"owner": colleague.pk})

    assert Task.objects.get(pk=task.pk).owner == colleague


def test_the_menu_badge_counts_overdue_and_todays_tasks(client, seller):
    TaskFactory(owner=seller, due_at=timezone.now() - timedelta(days=2))
    TaskFactory(owner=seller, due_at=timezone.now() + timedelta(days=10))
    client.force_login(seller)

    response = client.get(reverse("wagtailadmin_home"))

    assert b"My day (1)" in response.content
    assert b'data-figure="tasks-overdue">1<' in response.content


def test_the_contact_page_shows_open_tasks_follow_up_and_call_log(client, seller):
    contact = ContactFactory(owner=seller)
    TaskFactory(contact=contact, owner=seller, title="Send the quote")
    client.force_login(seller)
    page = reverse("wagtailsnippets_contacts_contact:inspect", args=[contact.pk])

    assert b"Send the quote" in client.get(page).content
    client.post(reverse("sales_follow_up", args=[contact.pk]))
    client.post(reverse("sales_log_call", args=[contact.pk]), {"note": "Asked for a discount"})

    assert Task.objects.filter(contact=contact, done_at__isnull=True).count() == 2
    entry = Activity.objects.get(contact=contact, kind=Activity.Kind.TASK)
    assert b"Call logged: Asked for a discount" in client.get(page).content
    assert entry.created_by == seller


def test_a_task_nobody_owns_reads_as_owned_by_nobody_on_the_contact_page(client, seller):
    contact = ContactFactory()
    TaskFactory(contact=contact, owner=None, title="Call back")
    client.force_login(seller)

    page = client.get(reverse("wagtailsnippets_contacts_contact:inspect", args=[contact.pk])).content.decode()

    assert "Call back (nobody)" in page


def test_task_rules_show_their_dry_run_count_to_managers(client, manager):
    rule = TaskRule.objects.create(
        name="Pricing clicks", trigger=TaskRule.Trigger.LINK_CLICKED, url_pattern="pricing", task_title="Call"
    )
    Activity.objects.create(contact=ContactFactory(), kind=Activity.Kind.CLICKED, link_url="https://x.example/pricing")
    client.force_login(manager)

    response = client.get(reverse("sales_task_rules:edit", args=[rule.pk]))

    assert response.status_code == 200
    assert b"would make, once switched on, 1 task now" in response.content


def test_my_day_rows_post_each_action_to_its_url_and_later_tasks_are_only_counted(client, seller):
    soon = TaskFactory(owner=seller, due_at=timezone.now() + timedelta(days=2))
    TaskFactory(owner=seller, title="Far away", due_at=timezone.now() + timedelta(days=30))
    client.force_login(seller)

    page = client.get(reverse("sales_my_day")).content.decode()

    for action in ("done", "day", "week", "date"):
        assert f'"{_action(soon, action)}"' in page
    assert "Far away" not in page and "See the 1 task due later" in page
