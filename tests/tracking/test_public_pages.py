"""Headers of the pages anyone can open (/v/, /u/, /p/ and error pages): a strict
Content-Security-Policy, no Referer to other sites, and HEAD answered like GET."""

import pytest

from campaigns.models import Campaign
from config.security import PUBLIC_PAGE_CSP, WEB_VERSION_CSP
from contacts.tokens import Purpose, TokenData, make_token
from tests.factories import CampaignFactory, MessageFactory
from tests.templates_mail.helpers import block

pytestmark = pytest.mark.django_db

HOSTILE = '<script>alert(document.cookie)</script><img src="x" onerror="alert(1)" alt="" width="1">'


@pytest.fixture
def message():
    campaign = CampaignFactory(status=Campaign.Status.SENT, body=[block("html", html=HOSTILE)])
    return MessageFactory(campaign=campaign)


def url(message, purpose: Purpose, prefix: str) -> str:
    return f"/{prefix}/" + make_token(TokenData(purpose, message.contact_id, message.pk, message.campaign_id))


def test_the_web_version_runs_in_a_sandbox_without_scripts_or_same_origin(client, message):
    response = client.get(url(message, Purpose.VIEW, "v"))
    assert b"<script>" in response.content  # served as the recipient received it, but inert
    policy = response["Content-Security-Policy"]
    assert policy == WEB_VERSION_CSP
    sandbox = policy.split(";")[0].split()
    assert sandbox[0] == "sandbox"
    assert "allow-scripts" not in sandbox and "allow-same-origin" not in sandbox


def test_the_web_version_sets_no_cookie_and_sends_no_referer_to_other_sites(client, message):
    response = client.get(url(message, Purpose.VIEW, "v"))
    assert not response.cookies
    assert response["Referrer-Policy"] == "same-origin"


@pytest.mark.parametrize("purpose, prefix", [(Purpose.UNSUBSCRIBE, "u"), (Purpose.PREFERENCES, "p")])
def test_unsubscribe_and_preference_pages_have_a_strict_policy(client, message, purpose, prefix):
    response = client.get(url(message, purpose, prefix))
    assert response.status_code == 200
    assert response["Content-Security-Policy"] == PUBLIC_PAGE_CSP
    assert response["Referrer-Policy"] == "same-origin"


@pytest.mark.parametrize(
    "purpose, prefix", [(Purpose.VIEW, "v"), (Purpose.UNSUBSCRIBE, "u"), (Purpose.PREFERENCES, "p")]
)
def test_head_is_answered_like_get_without_a_body(client, message, purpose, prefix):
    response = client.head(url(message, purpose, prefix))
    assert response.status_code == 200
    assert response.content == b""


def test_head_on_the_open_pixel_and_a_click_is_not_405(client, message):
    assert client.head(url(message, Purpose.OPEN, "t/o")).status_code == 200
    assert client.head("/t/c/AAAAAAAAAAAAAAAAAAAAAAAA").status_code == 404


def test_an_error_page_has_the_strict_policy_too(client):
    response = client.get("/v/AAAAAAAAAAAAAAAAAAAAAAAAAAAA")
    assert response.status_code == 404
    assert response["Content-Security-Policy"] == PUBLIC_PAGE_CSP
    assert response["Referrer-Policy"] == "same-origin"
