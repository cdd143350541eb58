"""The Customers pages as a salesperson and a marketer use them."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from contacts.models import Activity, Contact, Subscription
from contacts.roles import MARKETERS, SALES, ensure_groups
from sales.lost import detect_lost_customers
from sales.models import Deal
from tests.factories import ContactFactory, DealFactory, MailingListFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def marketer():
    ensure_groups()
    return UserFactory(username="mara", groups=[MARKETERS])


@pytest.fixture
def salesperson():
    ensure_groups()
    return UserFactory(username="sam", first_name="Sam", last_name="Lee", groups=[SALES])


def lost_customer(owner, **fields) -> Contact:
    contact = ContactFactory(owner=owner, **fields)
    for months in (4, 5, 6):
        DealFactory(contact=contact, date=timezone.localdate() - timedelta(days=30 * months))
    return contact


def test_lost_customers_are_filtered_by_owner(client, salesperson):
    mine, theirs = lost_customer(salesperson), lost_customer(UserFactory())
    detect_lost_customers()
    client.force_login(salesperson)

    page = client.get(reverse("lost_customers:index"), {"owner": salesperson.pk}).content.decode()

    assert mine.email in page and theirs.email not in page
    assert "no order for 120 days, usually every 30" in page


def test_lost_customers_export_as_csv(client, salesperson):
    contact = lost_customer(salesperson, region="Zhejiang")
    detect_lost_customers()
    client.force_login(salesperson)

    response = client.get(reverse("lost_customers:index"), {"export": "csv", "region": "zhejiang"})

    body = b"".join(response.streaming_content).decode()
    assert contact.email in body and "Sam Lee" in body


def test_a_marketer_adds_the_filtered_lost_customers_to_a_list(client, marketer):
    wanted, other = lost_customer(None, industry="Logistics"), lost_customer(None, industry="Retail")
    detect_lost_customers()
    winback = MailingListFactory(slug="win-back")
    client.force_login(marketer)

    client.post(reverse("lost_customers:add_to_list") + "?industry=logistics", {"mailing_list": winback.pk})

    assert list(Subscription.objects.values_list("contact", flat=True)) == [wanted.pk]
    assert other.pk != wanted.pk


def test_the_grade_rules_page_previews_then_applies(client, marketer):
    big, small = ContactFactory(), ContactFactory()
    DealFactory(contact=big, amount=960, date=timezone.localdate())
    DealFactory(contact=small, amount=40, date=timezone.localdate())
    client.force_login(marketer)
    form = {"method": "revenue", "months": 12, "a_share": 80, "b_share": 15, "rules_a": "{}", "rules_b": "{}"}
    form |= {"rules_c": "{}"}

    preview = client.post(reverse("grade_rules:index"), {**form, "action": "preview"}).content.decode()
    assert "1 contacts would move ungraded → A" in preview and Contact.objects.get(pk=big.pk).grade == ""

    client.post(reverse("grade_rules:index"), {**form, "action": "apply"})
    assert (Contact.objects.get(pk=big.pk).grade, Contact.objects.get(pk=small.pk).grade) == ("A", "C")


def test_the_import_page_lists_refused_rows(client, marketer):
    ContactFactory(email="ann@example.com")
    upload = SimpleUploadedFile(
        "orders.csv", b"email,date,amount\nann@example.com,2026-01-02,10\nann@example.com,soon,5\n"
    )
    client.force_login(marketer)

    page = client.post(reverse("sales_orders_import"), {"file": upload}).content.decode()

    assert "1 orders added" in page and "date &#x27;soon&#x27; is not ISO 8601" in page
    assert Deal.objects.count() == 1


def test_the_contact_page_shows_orders_and_the_salesperson_can_add_one(client, salesperson):
    contact = lost_customer(salesperson)
    client.force_login(salesperson)

    page = client.get(reverse("wagtailsnippets_contacts_contact:inspect", args=[contact.pk])).content.decode()
    add_url = reverse("wagtailsnippets_sales_deal:add") + f"?contact={contact.pk}"
    form = {"contact": contact.pk, "date": "2026-11-30", "amount": "75.00", "currency": "EUR", "status": "won"}
    client.post(add_url, form | {"reference": "SO-9"})

    assert "3 won orders" in page and add_url in page
    order = Activity.objects.get(contact=contact, kind=Activity.Kind.DEAL)
    assert (order.details["summary"], order.created_by) == (
        "Order SO-9 of 2026-11-30 added: 75.00 EUR, won (ordered)",
        salesperson,
    )
