"""A sales person's day in Chromium: My day -> the contact -> log a call -> the task done."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from contacts.models import Activity
from contacts.roles import SALES, ensure_groups
from sales.models import Task
from tests.e2e.conftest import check_page
from tests.factories import ContactFactory, TaskFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_sales_persons_day_from_my_day_to_a_logged_call_and_a_done_task(page_for):
    ensure_groups()
    seller = UserFactory(username="sam", first_name="Sam", last_name="Sales", groups=[SALES])
    contact = ContactFactory(email="ann.lee@example.com", first_name="Ann", last_name="Lee", owner=seller)
    task = TaskFactory(
        contact=contact, owner=seller, title="Call about the quote", due_at=timezone.now() - timedelta(hours=2)
    )
    page = page_for(seller)

    page.goto("/admin/")
    page.get_by_role("link", name="My day (1)").click()
    expect(page.locator("#overdue")).to_contain_text("Call about the quote")
    check_page(page, "30-my-day")
    page.locator("#overdue").get_by_role("link", name="Ann Lee").click()
    expect(page.locator("#tasks")).to_contain_text("Call about the quote")
    page.fill("#id_call_note", "Ann wants 40 pallets by May.")
    page.get_by_role("button", name="Log a call").click()
    expect(page.locator("#timeline")).to_contain_text("Call logged: Ann wants 40 pallets by May.")
    check_page(page, "31-contact-call-logged")
    page.locator("#tasks").get_by_role("button", name="Done: Call about the quote").click()
    expect(page.locator("#tasks")).to_contain_text("No open tasks.")

    assert Task.objects.get(pk=task.pk).done_at is not None
    assert Activity.objects.filter(contact=contact, kind=Activity.Kind.TASK).count() == 2
