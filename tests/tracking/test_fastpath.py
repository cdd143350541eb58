"""The lean WSGI path config/wsgi.py takes for /t/o/ and /t/c/: same answers and the same
recorded events as the Django views, and everything else still reaches Django."""

from io import BytesIO
from wsgiref.util import setup_testing_defaults

import pytest
from django.core import signals
from django.db import close_old_connections

from campaigns.models import Campaign
from config.wsgi import application
from contacts.models import Activity
from contacts.tokens import Purpose, TokenData, make_token
from tests.factories import CampaignFactory, CampaignLinkFactory, MessageFactory
from tracking import fastpath, services

pytestmark = pytest.mark.django_db

BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"


@pytest.fixture(autouse=True)
def _keep_the_test_connection(monkeypatch):
    """Like Django's test client: the per-request connection clean-up (ours, and Django's
    for the requests handed on to it) would close the connection holding the test's transaction."""
    monkeypatch.setattr(fastpath, "close_old_connections", lambda: None)
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def message():
    campaign = CampaignFactory(status=Campaign.Status.SENT)
    CampaignLinkFactory(campaign=campaign, index=0, url="https://shop.example.com/spring?ref=mail")
    return MessageFactory(campaign=campaign)


def token(message, purpose: Purpose, link_index: int | None = None) -> str:
    return make_token(TokenData(purpose, message.contact_id, message.pk, message.campaign_id, link_index))


def call(path: str, method: str = "GET", **extra: str) -> tuple[str, dict[str, str], bytes]:
    environ = {
        "PATH_INFO": path,
        "REQUEST_METHOD": method,
        "HTTP_USER_AGENT": BROWSER,
        "REMOTE_ADDR": "198.51.100.7",
        "SERVER_NAME": "testserver",
        "wsgi.input": BytesIO(),
        **extra,
    }
    setup_testing_defaults(environ)
    answer = {}

    def start_response(status, headers, exc_info=None):
        answer["status"], answer["headers"] = status, dict(headers)

    body = b"".join(application(environ, start_response))
    return answer["status"], answer["headers"], body


def recorded() -> list[Activity]:
    services.drain_events()
    return list(Activity.objects.filter(kind__in=[Activity.Kind.OPENED, Activity.Kind.CLICKED]))


def test_open_serves_the_uncacheable_pixel_and_records_the_open(message):
    status, headers, body = call("/t/o/" + token(message, Purpose.OPEN))
    assert (status, headers["Content-Type"], body) == ("200 OK", "image/gif", services.PIXEL)
    assert "no-store" in headers["Cache-Control"]
    [activity] = recorded()
    assert (activity.kind, activity.contact_id, activity.message_id) == ("opened", message.contact_id, message.pk)


def test_forged_open_still_gets_the_pixel_and_records_nothing():
    status, _, body = call("/t/o/AAAAAAAAAAAAAAAAAAAAAAAAAAAA")
    assert (status, body) == ("200 OK", services.PIXEL)
    assert recorded() == []


def test_click_redirects_to_the_frozen_link_and_records_it(message):
    status, headers, _ = call("/t/c/" + token(message, Purpose.CLICK, 0))
    assert status == "302 Found"
    assert headers["Location"] == "https://shop.example.com/spring?ref=mail"
    [activity] = recorded()
    assert (activity.kind, activity.link_url) == ("clicked", "https://shop.example.com/spring?ref=mail")


@pytest.mark.parametrize("path", ["/t/c/AAAAAAAAAAAAAAAAAAAAAAAAAAAA", "/t/c/https://evil.example.com"])
def test_forged_click_is_404_and_records_nothing(path):
    status, headers, _ = call(path)
    assert status.startswith("404")
    assert "Location" not in headers
    assert recorded() == []


def test_head_gets_the_headers_without_a_body(message):
    status, headers, body = call("/t/o/" + token(message, Purpose.OPEN), method="HEAD")
    assert (status, headers["Content-Type"], body) == ("200 OK", "image/gif", b"")


def test_other_methods_and_urls_still_go_through_django(message):
    status, _, _ = call("/t/o/" + token(message, Purpose.OPEN), method="OPTIONS")
    assert status.startswith("405")
    status, _, _ = call("/v/AAAAAAAAAAAAAAAAAAAAAAAAAAAA")
    assert status.startswith("404")


# --- the protections Django's middleware gives every other response ------------------------------


@pytest.mark.parametrize("prefix", ["/t/o/", "/t/c/"])
def test_a_host_not_in_allowed_hosts_is_refused_and_records_nothing(message, prefix):
    purpose = Purpose.OPEN if prefix == "/t/o/" else Purpose.CLICK
    status, _, _ = call(prefix + token(message, purpose, 0), HTTP_HOST="evil.example.net")
    assert status == "400 Bad Request"
    assert recorded() == []


@pytest.mark.parametrize("path", ["/t/o/AAAAAAAAAAAAAAAAAAAAAAAA", "/t/c/AAAAAAAAAAAAAAAAAAAAAAAA"])
def test_every_fast_answer_has_nosniff_and_no_referrer(path):
    _, headers, _ = call(path)
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"


def test_a_click_over_https_gets_hsts_like_any_django_page(message, settings):
    settings.SECURE_HSTS_SECONDS = 31_536_000
    _, headers, _ = call("/t/c/" + token(message, Purpose.CLICK, 0), **{"wsgi.url_scheme": "https"})
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"


def test_no_hsts_over_plain_http(message, settings):
    settings.SECURE_HSTS_SECONDS = 31_536_000
    _, headers, _ = call("/t/o/" + token(message, Purpose.OPEN))
    assert "Strict-Transport-Security" not in headers


def test_with_ssl_redirect_a_plain_http_hit_is_sent_to_https_and_not_recorded(message, settings):
    settings.SECURE_SSL_REDIRECT = True
    path = "/t/o/" + token(message, Purpose.OPEN)
    status, headers, _ = call(path)
    assert (status, headers["Location"]) == ("301 Moved Permanently", f"https://testserver{path}")
    assert recorded() == []
