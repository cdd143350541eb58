"""Browser tests: the dashboard a marketer lands on, the campaign editor's merge-field picker,
and the public pages at phone widths. Debian's Chromium headless through Playwright, against
the live server.

With SCREENSHOTS_DIR set, the pages are saved there (docs/dashboard.png and
docs/campaign-editor.png come from ``SCREENSHOTS_DIR=docs``).
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.utils import timezone

from campaigns.models import Campaign, Message
from contacts.models import Activity, Contact
from contacts.tokens import Purpose, TokenData, make_token
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, sync_api
from tests.factories import (
    ActivityFactory,
    CampaignFactory,
    ContactFactory,
    MailingListFactory,
    MessageFactory,
    SenderIdentityFactory,
    SubscriptionFactory,
    UserFactory,
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
]
HORIZONTAL_OVERFLOW = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


@contextmanager
def browser_context(live_server, client, settings, **options) -> Iterator:
    """A logged-in browser. The ORM refuses to run beside Playwright's event loop, so tests
    create their data before this block."""
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    client.force_login(UserFactory(username="e2e-marketer", is_superuser=True, is_staff=True, first_name="Mia"))
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(base_url=live_server.url, **options)
        context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])
        try:
            yield context
        finally:
            browser.close()


def screenshot(page, name: str) -> None:
    if folder := os.environ.get("SCREENSHOTS_DIR"):
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / name), full_page=True)


def watch_console(page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def demo_installation() -> Campaign:
    """A sender, a list of subscribers and a sent newsletter some of them opened and clicked."""
    sender = SenderIdentityFactory(name="Maison Verte", email="news@maisonverte.example.com")
    customers = MailingListFactory(name="Customers")
    now = timezone.now()
    campaign = CampaignFactory(
        name="December newsletter", sender=sender, status=Campaign.Status.SENT, started_at=now, finished_at=now
    )
    campaign.include_lists.add(customers)
    names = ["Ann", "Bruno", "Chloé", "Dev", "Elif", "Farah", "Goran", "Hana"]
    for index, name in enumerate(names):
        contact = ContactFactory(email=f"{name.lower()}@example.com", first_name=name, engagement_score=10 - index)
        SubscriptionFactory(contact=contact, mailing_list=customers)
        MessageFactory(campaign=campaign, contact=contact, status=Message.Status.SENT, sent_at=now)
        ActivityFactory(contact=contact, kind=Activity.Kind.SENT, campaign_id=campaign.pk)
        if index < 5:
            ActivityFactory(contact=contact, kind=Activity.Kind.OPENED, campaign_id=campaign.pk)
        if index < 2:
            ActivityFactory(contact=contact, kind=Activity.Kind.CLICKED, campaign_id=campaign.pk)
    ContactFactory(email="left@example.com", status=Contact.Status.UNSUBSCRIBED, status_changed_at=now)
    return campaign


def test_the_dashboard_shows_the_audience_the_last_campaign_and_hot_leads(live_server, client, settings):
    demo_installation()
    with browser_context(live_server, client, settings, viewport={"width": 1280, "height": 900}) as context:
        page = context.new_page()
        errors = watch_console(page)
        page.goto("/admin/")
        row = page.locator("#dashboard-campaigns tbody tr").first
        assert "December newsletter" in row.inner_text()
        assert row.locator("[data-figure=sent]").inner_text() == "8"
        assert row.locator("[data-figure=open-rate]").inner_text().startswith("62%")
        assert page.locator("[data-figure=hot-leads]").inner_text() == "2"
        assert page.locator("[data-figure=contacts]").inner_text() == "9"
        assert page.locator("#dashboard-next-steps").count() == 0
        assert page.locator("nav").get_by_text("Pages").count() == 0
        screenshot(page, "dashboard.png")
    assert errors == []


def test_the_merge_field_picker_inserts_at_the_cursor_with_a_fallback(live_server, client, settings):
    campaign = demo_installation()
    campaign.status = Campaign.Status.DRAFT
    campaign.save()
    with browser_context(live_server, client, settings, viewport={"width": 1280, "height": 1400}) as context:
        page = context.new_page()
        page.goto(f"/admin/campaigns/edit/{campaign.pk}/")
        subject = page.locator("#id_subject")
        subject.fill("Hello , our winter news")
        subject.evaluate("(input) => input.setSelectionRange(6, 6)")
        page.locator("#merge-fields summary").click()
        page.fill("#merge-default", "there")
        page.locator("#merge-fields").get_by_role("button", name="first name", exact=True).click()
        assert subject.input_value() == 'Hello {{ contact.first_name|default:"there" }}, our winter news'
        assert "Inserted" in page.locator("#merge-status").inner_text()
        screenshot(page, "campaign-editor.png")


@pytest.mark.parametrize("width", [320, 375, 414])
def test_public_pages_fit_a_phone_without_sideways_scrolling(live_server, client, settings, width):
    campaign = demo_installation()
    message = Message.objects.filter(campaign=campaign).first()
    data = (message.contact_id, message.pk, campaign.pk)
    pages = [
        f"/u/{make_token(TokenData(Purpose.UNSUBSCRIBE, *data))}",
        f"/p/{make_token(TokenData(Purpose.PREFERENCES, *data))}",
        "/u/AAAAAAAAAAAAAAAAAAAAAAAA",
    ]
    with browser_context(live_server, client, settings, viewport={"width": width, "height": 800}) as context:
        page = context.new_page()
        for path in pages:
            page.goto(path)
            assert page.evaluate(HORIZONTAL_OVERFLOW) <= 0, path
            if path.startswith("/u/") and "AAAA" not in path:
                assert page.locator(".sender").inner_text() == "Maison Verte"
