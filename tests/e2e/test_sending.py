"""Browser test: sending a campaign from its sending page, as a marketer does it.

Send now asks first (recipients, sender, subject); the page then follows the send to
"sent" and offers nothing more; a page left open follows a send started elsewhere.
Celery runs eagerly here (the send happens inside the request that confirms it) and mail
goes to Django's in-memory outbox: the real worker path is covered by tests/campaigns.
"""

import pytest

from campaigns import services
from campaigns.models import Campaign
from tests.campaigns.conftest import campaign_for
from tests.e2e.conftest import sync_api
from tests.factories import SenderIdentityFactory, UserFactory
from tests.templates_mail.helpers import text

pytestmark = [
    pytest.mark.django_db(transaction=True),
]
# The page polls a draft every 5 s and a send in progress more often.
FOLLOW_MS = 20_000


@pytest.fixture
def campaign() -> Campaign:
    """Created before the browser starts: the ORM refuses to run beside Playwright's event loop."""
    sender = SenderIdentityFactory(name="Rapport News", email="news@example.com", postal_address="1 Main St")
    campaign = campaign_for(
        ["ann@example.com", "bob@example.com"],
        name="Winter news",
        subject="Winter is here",
        sender=sender,
        body=[text("<p>Hello {{ contact.first_name }}, the winter collection is in.</p>")],
    )
    assert services.blocking_problems(campaign) == []
    return campaign


@pytest.fixture
def page(campaign, page_for):
    """A logged-in admin page that fails the test on any script or console error."""
    admin_page = page_for(UserFactory(username="e2e-sender", is_superuser=True, is_staff=True))
    yield admin_page
    assert admin_page.console_errors == []


def test_send_now_asks_first_then_follows_the_send_to_sent(page, campaign):
    expect = sync_api.expect
    page.goto(f"/admin/campaigns/{campaign.pk}/sending/")
    expect(page.get_by_role("button", name="Pause")).to_be_hidden()

    page.get_by_role("link", name="Send now…").click()

    expect(page.locator("#confirm-recipients")).to_have_text("2")
    expect(page.locator("#confirm-sender")).to_have_text("Rapport News <news@example.com>")
    expect(page.locator("#confirm-subject")).to_have_text("Winter is here")
    page.get_by_role("button", name="Send to 2 recipients now").click()

    expect(page.locator(".messages")).to_contain_text("“Winter news” is queued")
    expect(page.locator('#sending-progress [data-field="state"]')).to_have_text("sent", timeout=FOLLOW_MS)
    expect(page.locator('#sending-progress [data-field="total"]')).to_have_text("2")
    for name in ["Send now…", "Pause", "Resume", "Unschedule", "Cancel sending"]:
        expect(page.get_by_role("button", name=name).or_(page.get_by_role("link", name=name))).to_be_hidden()


def test_an_open_page_follows_a_send_started_elsewhere(page, campaign, monkeypatch):
    page.goto(f"/admin/campaigns/{campaign.pk}/sending/")
    sync_api.expect(page.locator('#sending-progress [data-field="state"]')).to_have_text("draft")

    # Another admin (or the CLI) sends it; the ORM call is synchronous, beside Playwright's loop.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "1")
    services.send_now(Campaign.objects.get(pk=campaign.pk))

    sync_api.expect(page.locator('#sending-progress [data-field="state"]')).to_have_text("sent", timeout=FOLLOW_MS)
    sync_api.expect(page.get_by_role("link", name="Send now…")).to_be_hidden()
