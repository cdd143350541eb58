"""Browser test: a marketer creates a campaign in the admin, previews it as a contact, sends a test.

Drives Debian's Chromium headless through Playwright against pytest-django's live server;
the test arrives at a real SMTP server (aiosmtpd) on loopback.
"""

import re

import pytest

from campaigns import delivery
from tests.conftest import wait_until
from tests.e2e.conftest import PAGE_TIMEOUT_MS, sync_api
from tests.factories import ContactFactory, MailingListFactory, SenderIdentityFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def browser_page(page_for):
    """A logged-in admin, a sender, a list and a contact to preview as."""
    SenderIdentityFactory(name="Rapport News", email="news@example.com")
    MailingListFactory(name="Customers")
    ContactFactory(email="ann@example.com", first_name="Ann")
    return page_for(UserFactory(username="e2e-admin", is_superuser=True, is_staff=True))


def test_marketer_creates_previews_and_test_sends_a_campaign(browser_page, smtp_sink, settings):
    settings.EMAIL_BACKEND, settings.EMAIL_HOST, settings.EMAIL_PORT = (
        delivery.SMTP_BACKEND,
        "127.0.0.1",
        smtp_sink.port,
    )
    page = browser_page

    page.goto("/admin/campaigns/new/")
    page.fill("#id_name", "Autumn news")
    page.fill("#id_subject", "Hello {{ contact.first_name }} 🍂")
    page.select_option("#id_sender", label="Rapport News <news@example.com>")
    page.select_option("#id_layout", label="Classic newsletter")
    page.get_by_role("checkbox", name="Customers").first.check()
    page.locator("#body-root button[title='Insert a block']").first.click()
    page.get_by_role("option", name="Heading").click()
    page.locator("input[name='body-0-value-text']").fill("Dear {{ contact.first_name }}, the autumn collection is here")
    page.get_by_role("button", name="Create").first.click()
    page.wait_for_url(re.compile(r"/admin/campaigns/edit/\d+/"))
    campaign_id = re.search(r"/edit/(\d+)/", page.url).group(1)
    assert page.locator("#recipient-count").inner_text() == "0"

    page.goto(f"/admin/campaigns/preview/{campaign_id}/")
    page.fill("#id_contact", "ann@example.com")
    page.locator("#preview-contact button[type=submit]").click()
    assert page.locator("#preview-subject").inner_text() == "Hello Ann 🍂"
    frame = page.frame_locator("#preview-frame")
    assert "Dear Ann, the autumn collection is here" in frame.locator("h2").inner_text()
    page.get_by_role("link", name="mobile").click()
    page.wait_for_url(re.compile(r"width=mobile"))
    assert page.locator("#preview-frame").get_attribute("width") == "375"
    assert page.locator("#send-test").count() == 1, page.locator("main").inner_text()[:2000]

    page.fill("#id_addresses", "qa@example.com")
    # The test send answers with a new page that reports the outcome: wait for that report.
    page.get_by_role("button", name="Send test").click()
    sync_api.expect(page.get_by_text("Test to qa@example.com")).to_be_visible(timeout=PAGE_TIMEOUT_MS)
    assert "Test to qa@example.com: sent" in page.locator("body").inner_text()
    wait_until(lambda: smtp_sink.handler.messages, message="the test message at the SMTP sink")
    received = smtp_sink.parsed()[0]
    assert received["Subject"] == "[Test] Hello Ann 🍂"
    assert received["X-Rapport-Test"] == "1"
    assert "Dear Ann" in received.get_body(("html",)).get_content()
