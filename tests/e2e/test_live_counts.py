"""Browser test: the editors' live counts follow what is being edited, without saving.

The segment editor's count follows its rules field (the JSON the form saves), however that
field is written: the test writes it as a builder does (value, then a bubbling "input"
event). Drives Debian's Chromium headless through Playwright against pytest-django's live server.
"""

import json
import re

import pytest

from campaigns.models import Campaign
from contacts.models import Segment
from tests.e2e.conftest import sync_api
from tests.factories import (
    CampaignFactory,
    ContactFactory,
    MailingListFactory,
    SegmentFactory,
    SubscriptionFactory,
    UserFactory,
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def audience() -> tuple[Campaign, Segment]:
    """Created before the browser starts: the ORM refuses to run beside Playwright's event loop."""
    customers = MailingListFactory(name="Customers")
    for name, city in [("ann", "Paris"), ("bob", "Lyon"), ("eve", "Paris")]:
        SubscriptionFactory(contact=ContactFactory(email=f"{name}@example.com", city=city), mailing_list=customers)
    segment = SegmentFactory(name="Everyone", rules={})
    return CampaignFactory(name="Autumn news"), segment


@pytest.fixture
def page(audience, page_for):
    """A logged-in admin page that fails the test on any script or console error."""
    admin_page = page_for(UserFactory(username="e2e-counts", is_superuser=True, is_staff=True))
    yield admin_page
    assert admin_page.console_errors == []


def write_rules(page, value: str) -> None:
    """As a builder does: write the JSON into the rules field, then tell who listens."""
    page.eval_on_selector(
        "[name=rules]",
        "(field, value) => { field.value = value; field.dispatchEvent(new Event('input', {bubbles: true})); }",
        value,
    )


def test_the_campaign_editors_recipient_count_follows_the_ticked_lists(page, audience):
    campaign, _ = audience
    page.goto(f"/admin/campaigns/edit/{campaign.pk}/")
    count = page.locator("#recipient-count")
    assert count.inner_text() == "0"

    page.get_by_role("checkbox", name="Customers").first.check()

    sync_api.expect(count).to_have_text("3")


def test_the_segment_editors_count_follows_the_rules_field(page, audience):
    _, segment = audience
    page.goto(f"/admin/snippets/contacts/segment/edit/{segment.pk}/")
    count = page.locator("#segment-count")
    assert count.inner_text() == "3"

    write_rules(page, json.dumps({"match": "all", "rules": [{"field": "city", "op": "equals", "value": "Paris"}]}))

    sync_api.expect(count).to_have_text("2")


def test_the_segment_editor_says_why_rules_cannot_be_counted(page, audience):
    _, segment = audience
    page.goto(f"/admin/snippets/contacts/segment/edit/{segment.pk}/")

    write_rules(page, '{"field": "nope"')

    sync_api.expect(page.locator("#segment-count-error")).to_have_text(re.compile(r"\S"))
    assert page.locator("#segment-count").inner_text() == "3"
    # The count endpoint answers 400 to rules it cannot count, and the browser says so: expected here.
    page.console_errors.remove("Failed to load resource: the server responded with a status of 400 (Bad Request)")
