"""The "Hot leads" admin list for sales."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from contacts.models import Activity
from tests.factories import ActivityFactory, ContactFactory, UserFactory

pytestmark = pytest.mark.django_db


def clicked(days: int, *, machine: bool = False, **fields):
    contact = ContactFactory(**fields)
    ActivityFactory(
        contact=contact,
        kind=Activity.Kind.CLICKED,
        is_machine=machine,
        occurred_at=timezone.now() - timedelta(days=days),
    )
    return contact


def listed(client, query: str = "") -> str:
    response = client.get(f"/admin/hot_leads/{query}")
    assert response.status_code == 200
    return response.content.decode()


def test_someone_without_admin_access_cannot_see_hot_leads(client):
    client.force_login(UserFactory())
    assert client.get("/admin/hot_leads/").status_code in {302, 403}


def test_only_human_clicks_from_the_last_seven_days_are_hot(client, salesperson):
    recent = clicked(2)
    old = clicked(10)
    scanner = clicked(1, machine=True)
    html = listed(client)
    assert recent.email in html
    assert old.email not in html
    assert scanner.email not in html


def test_hot_leads_are_sorted_by_score(client, salesperson):
    low = clicked(1, engagement_score=2.0)
    high = clicked(1, engagement_score=9.0)
    html = listed(client)
    assert html.index(high.email) < html.index(low.email)


def test_hot_leads_can_be_filtered_by_owner(client, salesperson):
    mine = clicked(1, owner=salesperson)
    theirs = clicked(1, owner=UserFactory())
    html = listed(client, f"?owner={salesperson.pk}")
    assert mine.email in html
    assert theirs.email not in html


def test_unsubscribed_bounced_and_complained_contacts_are_not_hot_leads(client, salesperson):
    gone = [clicked(1, status=status) for status in ("unsubscribed", "bounced", "complained", "cleaned")]
    html = listed(client)
    assert not [contact.email for contact in gone if contact.email in html]


def test_a_hot_lead_someone_else_owns_links_to_a_contact_page_the_salesperson_can_open(client, salesperson):
    theirs = clicked(1, owner=UserFactory())
    page_url = reverse("wagtailsnippets_contacts_contact:inspect", args=[theirs.pk])
    assert f'href="{page_url}"' in listed(client)
    assert reverse("wagtailsnippets_contacts_contact:edit", args=[theirs.pk]) not in listed(client)
    assert client.get(page_url).status_code == 200


def test_the_owner_is_shown_by_name_not_by_login(client, salesperson):
    clicked(1, owner=UserFactory(username="sam.s", first_name="Sam", last_name="Sales"))

    html = listed(client)

    assert "Sam Sales" in html and "sam.s" not in html
