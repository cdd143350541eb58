"""What recipients see on the public pages: the sender's name, the shared frequency labels,
and a page of ours (not a bare error) when a link does not work."""

import pytest
from django.test import Client

from contacts.models import Contact
from contacts.tokens import Purpose, TokenData, make_token
from tests.factories import CampaignFactory, ContactFactory, MessageFactory, SenderIdentityFactory

pytestmark = pytest.mark.django_db


def page(purpose: Purpose, path: str, message=None, contact=None) -> str:
    contact_id = message.contact_id if message else contact.pk
    token = make_token(
        TokenData(purpose, contact_id, message.pk if message else None, message.campaign_id if message else None)
    )
    response = Client().get(f"/{path}/{token}")
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def message():
    sender = SenderIdentityFactory(name="Maison Verte", email="hello@maisonverte.example.com")
    return MessageFactory(campaign=CampaignFactory(sender=sender))


def test_an_unknown_link_shows_our_page_not_a_bare_error(client):
    response = client.get("/u/AAAAAAAAAAAAAAAAAAAAAAAA")
    assert response.status_code == 404
    assert "This link does not work" in response.content.decode()
    assert 'name="viewport"' in response.content.decode()


def test_a_link_without_a_campaign_speaks_for_the_default_sender(settings):
    settings.DEFAULT_FROM_EMAIL = "Rapport Demo <news@example.com>"
    html = page(Purpose.UNSUBSCRIBE, "u", contact=ContactFactory())
    assert '<p class="sender">Rapport Demo</p>' in html


def test_the_unsubscribe_page_carries_the_campaigns_sender_name(message):
    html = page(Purpose.UNSUBSCRIBE, "u", message)
    assert '<p class="sender">Maison Verte</p>' in html
    assert "Stop sending newsletters from Maison Verte to" in html
    assert "<title>Unsubscribe · Maison Verte</title>" in html


def test_the_preference_centre_carries_the_sender_name_and_mobile_layout(message):
    html = page(Purpose.PREFERENCES, "p", message)
    assert '<p class="sender">Maison Verte</p>' in html
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert "@media (max-width: 30rem)" in html


def test_the_preference_centre_and_the_admin_name_frequencies_alike(message):
    html = page(Purpose.PREFERENCES, "p", message)
    for value, label in Contact.Frequency.choices:
        assert f'value="{value}"' in html
        assert label in html
    assert Contact.Frequency.WEEKLY.label == "At most one email a week"
