"""Only the delivered mail records engagement: a preview in the admin, a test send or the web
version, looked at and clicked through, leave the contact's history and standing untouched."""

import re

import pytest
from django.conf import settings
from django.core import mail
from django.urls import reverse

from campaigns import delivery
from campaigns.models import Campaign
from contacts.models import Activity
from contacts.tokens import Purpose, TokenData, make_token
from tests.factories import CampaignFactory, ContactFactory, MessageFactory
from tests.templates_mail.helpers import text
from tracking import services

pytestmark = pytest.mark.django_db

BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"
BODY = [text('<p>Dear {{ contact.first_name }}, see <a href="https://shop.example.com/winter">winter</a></p>')]


@pytest.fixture
def ann():
    return ContactFactory(email="ann@example.com", first_name="Ann")


def our_urls(html: str) -> list[str]:
    """Every URL of ours in a page or message, as a path the test client can fetch."""
    prefix = re.escape(settings.SITE_URL)
    return [match.replace("&amp;", "&") for match in re.findall(rf'(?:src|href)="{prefix}(/[^"]*)"', html)]


def visit_everything(client, html: str) -> None:
    """What a reader does: the mail client loads the images, the reader clicks every link."""
    for path in our_urls(html):
        client.get(path, HTTP_USER_AGENT=BROWSER)


def engagement(contact) -> list[Activity]:
    services.drain_events()
    return list(Activity.objects.filter(contact=contact, kind__in=[Activity.Kind.OPENED, Activity.Kind.CLICKED]))


def test_previewing_as_a_contact_records_no_open_or_click(client, marketer, ann):
    campaign = CampaignFactory(body=BODY)
    preview = reverse("campaigns:preview", args=[campaign.pk])
    html = client.get(preview, {"contact": ann.email, "format": "web"}).content.decode()
    assert "Dear Ann" in html

    visit_everything(client, html)

    assert "/t/o/" not in html and "/t/c/" not in html
    assert 'href="https://shop.example.com/winter' in html
    assert engagement(ann) == []


def test_a_test_send_records_no_open_or_click(client, ann, settings):
    campaign = CampaignFactory(body=BODY)
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    delivery.send_test(campaign, ["qa@example.com"], contact=ann)
    html = next(body for body, kind in mail.outbox[0].alternatives if kind == "text/html")
    assert "Dear Ann" in html

    visit_everything(client, html)

    assert "/t/o/" not in html and "/t/c/" not in html
    assert engagement(ann) == []


def test_reading_the_web_version_records_no_open_or_click(client, ann):
    message = MessageFactory(campaign=CampaignFactory(body=BODY, status=Campaign.Status.SENT), contact=ann)
    token = make_token(TokenData(Purpose.VIEW, ann.pk, message.pk, message.campaign_id))
    html = client.get(f"/v/{token}").content.decode()
    assert "Dear Ann" in html

    visit_everything(client, html)

    assert engagement(ann) == []


def test_an_open_token_without_a_message_records_nothing(client, ann):
    campaign = CampaignFactory(status=Campaign.Status.SENT)
    token = make_token(TokenData(Purpose.OPEN, ann.pk, None, campaign.pk))

    assert client.get(f"/t/o/{token}", HTTP_USER_AGENT=BROWSER).status_code == 200

    assert engagement(ann) == []
