"""The contact page is the person: profile, standing, lists, owner, notes and a readable history."""

import pytest
from django.urls import reverse

from tests.factories import ContactFactory, UserFactory

pytestmark = pytest.mark.django_db
CONTACTS = "wagtailsnippets_contacts_contact"


@pytest.fixture
def salesperson(client):
    user = UserFactory(username="sales", groups=["Sales"])
    client.force_login(user)
    return user


def test_the_contact_list_links_each_contact_to_its_page_not_its_edit_form(client, salesperson):
    theirs = ContactFactory(owner=UserFactory(username="other"))
    html = client.get(reverse(f"{CONTACTS}:list")).content.decode()
    assert f'href="{reverse(f"{CONTACTS}:inspect", args=[theirs.pk])}"' in html
    assert reverse(f"{CONTACTS}:edit", args=[theirs.pk]) not in html


def test_the_contact_list_offers_edit_for_contacts_the_salesperson_owns(client, salesperson):
    mine = ContactFactory(owner=salesperson)
    html = client.get(reverse(f"{CONTACTS}:list")).content.decode()
    assert reverse(f"{CONTACTS}:edit", args=[mine.pk]) in html
