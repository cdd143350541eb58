"""The mailing-list form: a marketer decides which lists the preference centre offers."""

import pytest
from django.urls import reverse

from tests.factories import MailingListFactory
from tracking.forms import PreferencesForm

pytestmark = pytest.mark.django_db
LISTS = "wagtailsnippets_contacts_mailinglist"


def test_a_marketer_makes_a_list_private_so_the_preference_centre_no_longer_offers_it(marketer_client):
    internal = MailingListFactory(name="VIP customers", slug="vip")
    data = {"name": internal.name, "slug": internal.slug, "description": "", "double_opt_in": ""}

    response = marketer_client.post(reverse(f"{LISTS}:edit", args=[internal.pk]), data)

    assert response.status_code == 302
    internal.refresh_from_db()
    assert internal.is_public is False
    assert internal not in PreferencesForm().fields["lists"].queryset


def test_the_list_form_shows_the_public_switch(marketer_client):
    page = marketer_client.get(reverse(f"{LISTS}:add")).content.decode()
    assert 'name="is_public"' in page
