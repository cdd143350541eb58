"""The recipient-facing endpoints: /t/o/, /t/c/, /v/ and what they record."""

import pytest
from django.test import override_settings

from campaigns.models import Campaign
from contacts.models import Activity
from contacts.tokens import HONEYPOT_LINK_INDEX, Purpose, TokenData, make_token
from devtools.services import free_port
from tests.factories import CampaignFactory, CampaignLinkFactory, ContactFactory, MessageFactory
from tests.templates_mail.helpers import text
from tracking import services

pytestmark = pytest.mark.django_db

BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"


@pytest.fixture
def message():
    campaign = CampaignFactory(status=Campaign.Status.SENT)
    CampaignLinkFactory(campaign=campaign, index=0, url="https://shop.example.com/spring?ref=mail")
    return MessageFactory(campaign=campaign)


def token(message, purpose: Purpose, link_index: int | None = None) -> str:
    return make_token(TokenData(purpose, message.contact_id, message.pk, message.campaign_id, link_index))


def drained() -> list[Activity]:
    services.drain_events()
    return list(Activity.objects.filter(kind__in=[Activity.Kind.OPENED, Activity.Kind.CLICKED]))


# --- forged and unknown ------------------------------------------------------------------------


def test_forged_open_token_still_gets_the_pixel_and_records_nothing(client):
    response = client.get("/t/o/AAAAAAAAAAAAAAAAAAAAAAAAAAAA")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/gif"
    assert drained() == []


def test_forged_click_token_is_404_and_records_nothing(client, message):
    forged = token(message, Purpose.CLICK, 0)[:-2] + "AA"
    assert client.get(f"/t/c/{forged}").status_code == 404
    assert drained() == []


def test_open_token_cannot_be_used_as_click(client, message):
    assert client.get(f"/t/c/{token(message, Purpose.OPEN)}").status_code == 404


def test_click_on_link_index_outside_the_link_table_is_404(client, message):
    assert client.get(f"/t/c/{token(message, Purpose.CLICK, 5)}").status_code == 404
    assert drained() == []


@pytest.mark.parametrize(
    "path",
    ["/t/c/https://evil.example.com", "/t/c/%2F%2Fevil.example.com", "/t/c//evil.example.com"],
)
def test_a_url_in_place_of_the_token_is_404(client, path):
    assert client.get(path).status_code == 404


@pytest.mark.parametrize("query", ["?url=https://evil.example.com", "?next=//evil.example.com"])
def test_a_redirect_parameter_beside_a_genuine_token_is_ignored(client, message, query):
    response = client.get(f"/t/c/{token(message, Purpose.CLICK, 0)}{query}")
    assert response.status_code == 302
    assert response["Location"] == "https://shop.example.com/spring?ref=mail"


def test_a_link_with_a_non_web_scheme_is_never_redirected_to(client, message):
    CampaignLinkFactory(campaign=message.campaign, index=1, url="javascript:alert(1)")
    assert client.get(f"/t/c/{token(message, Purpose.CLICK, 1)}").status_code == 404


def test_forged_web_version_token_is_404(client):
    assert client.get("/v/AAAAAAAAAAAAAAAAAAAAAAAAAAAA").status_code == 404


# --- genuine -------------------------------------------------------------------------------------


def test_open_serves_an_uncacheable_gif_and_records_the_open(client, message):
    response = client.get(f"/t/o/{token(message, Purpose.OPEN)}", HTTP_USER_AGENT=BROWSER, REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 200
    assert response.content.startswith(b"GIF89a")
    assert "no-store" in response["Cache-Control"]
    [opened] = drained()
    assert (opened.kind, opened.contact_id, opened.message_id, opened.campaign_id) == (
        Activity.Kind.OPENED,
        message.contact_id,
        message.pk,
        message.campaign_id,
    )
    assert opened.details["ua"] == BROWSER
    assert not opened.is_machine


def test_the_raw_ip_is_never_stored(client, message):
    client.get(f"/t/o/{token(message, Purpose.OPEN)}", HTTP_USER_AGENT=BROWSER, REMOTE_ADDR="203.0.113.9")
    [opened] = drained()
    assert "203.0.113.9" not in str(opened.details)
    assert opened.details["ip"]


def test_click_redirects_to_the_frozen_link_and_records_which_link(client, message):
    response = client.get(f"/t/c/{token(message, Purpose.CLICK, 0)}", HTTP_USER_AGENT=BROWSER)
    assert response.status_code == 302
    assert response["Location"] == "https://shop.example.com/spring?ref=mail"
    [clicked] = drained()
    assert clicked.kind == Activity.Kind.CLICKED
    assert clicked.link_url == "https://shop.example.com/spring?ref=mail"
    assert clicked.details["link"] == 0


def test_click_redirects_to_the_link_exactly_as_rendering_stored_it(client):
    """Rendering adds the UTM parameters when it fills the link table; the click adds nothing,
    even to a link frozen before the marketer turned UTM on."""
    campaign = CampaignFactory(status=Campaign.Status.SENT, utm_enabled=True, name="Spring Sale")
    stored = "https://shop.example.com/?utm_source=partner&x=1&utm_medium=email&utm_campaign=spring-sale"
    CampaignLinkFactory(campaign=campaign, index=0, url=stored)
    CampaignLinkFactory(campaign=campaign, index=1, url="https://shop.example.com/plain")
    message = MessageFactory(campaign=campaign)
    assert client.get(f"/t/c/{token(message, Purpose.CLICK, 0)}")["Location"] == stored
    assert client.get(f"/t/c/{token(message, Purpose.CLICK, 1)}")["Location"] == "https://shop.example.com/plain"


def test_replayed_click_is_recorded_as_a_second_click(client, message):
    click_token = token(message, Purpose.CLICK, 0)
    client.get(f"/t/c/{click_token}", HTTP_USER_AGENT=BROWSER)
    client.get(f"/t/c/{click_token}", HTTP_USER_AGENT=BROWSER)
    assert len(drained()) == 2


def test_web_version_renders_that_recipients_message_without_tracking_the_view(client):
    body = [text('<p>Hello {{ contact.first_name }}, see <a href="https://shop.example.com/spring">spring</a></p>')]
    campaign = CampaignFactory(status=Campaign.Status.SENT, subject="Spring for {{ contact.first_name }}", body=body)
    message = MessageFactory(campaign=campaign, contact=ContactFactory(first_name="Ann"))
    response = client.get(f"/v/{token(message, Purpose.VIEW)}")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Hello Ann, see" in page
    assert "https://shop.example.com/spring" in page
    assert "/t/o/" not in page


def test_web_version_token_for_another_contact_is_404(client, message):
    other = MessageFactory(campaign=message.campaign)
    wrong = make_token(TokenData(Purpose.VIEW, other.contact_id, message.pk, message.campaign_id))
    assert client.get(f"/v/{wrong}").status_code == 404


# --- Redis outage ----------------------------------------------------------------------------------


@pytest.fixture
def redis_down():
    with override_settings(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0"):
        yield


def test_with_redis_down_the_open_is_written_straight_to_the_database(client, message, redis_down):
    response = client.get(f"/t/o/{token(message, Purpose.OPEN)}", HTTP_USER_AGENT=BROWSER)
    assert response.status_code == 200
    assert Activity.objects.filter(kind=Activity.Kind.OPENED, message_id=message.pk).count() == 1


def test_with_redis_down_the_click_still_redirects_and_is_recorded(client, message, redis_down):
    response = client.get(f"/t/c/{token(message, Purpose.CLICK, 0)}", HTTP_USER_AGENT=BROWSER)
    assert response.status_code == 302
    assert Activity.objects.filter(kind=Activity.Kind.CLICKED, message_id=message.pk).count() == 1
    message.contact.refresh_from_db()
    assert message.contact.last_clicked_at is not None


def test_honeypot_link_is_404_and_flags_the_click_as_a_scanner(client, message):
    response = client.get(f"/t/c/{token(message, Purpose.CLICK, HONEYPOT_LINK_INDEX)}", HTTP_USER_AGENT=BROWSER)
    assert response.status_code == 404
    [clicked] = drained()
    assert clicked.is_machine
    assert clicked.details["machine"] == "honeypot"
