"""Browser tests: a marketer builds a segment visually and watches its count; the contact page
reads as the person. Debian's Chromium headless through Playwright, against the live server.

With SCREENSHOTS_DIR set, the pages are saved there (docs/segment-builder.png and
docs/contact-page.png come from ``SCREENSHOTS_DIR=docs``).
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from contacts.models import Activity, Segment
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, sync_api
from tests.factories import (
    ActivityFactory,
    CampaignFactory,
    ContactFactory,
    MailingListFactory,
    SegmentFactory,
    SubscriptionFactory,
    UserFactory,
)

IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148"
pytestmark = [
    pytest.mark.django_db(transaction=True),
]
UNLABELLED_CONTROLS = """() => [...document.querySelectorAll('.rapport-builder input, .rapport-builder select')]
    .filter((control) => control.labels.length === 0 && !control.closest('fieldset legend'))
    .map((control) => control.id || control.outerHTML)"""


@contextmanager
def admin_page(live_server, client, settings) -> Iterator:
    """A logged-in admin page. The ORM refuses to run beside Playwright's event loop, so tests
    create their data before and read the database after this block."""
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    client.force_login(UserFactory(username="e2e-marketer", is_superuser=True, is_staff=True))
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 1500})
        context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])
        try:
            yield context.new_page()
        finally:
            browser.close()


def screenshot(page, name: str) -> None:
    if folder := os.environ.get("SCREENSHOTS_DIR"):
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / name), full_page=True)


def test_marketer_builds_a_segment_with_a_group_of_two_rules_and_watches_the_count(live_server, client, settings):
    for region in ("Ontario", "Ontario", "Quebec"):
        ContactFactory(industry="Retail", region=region)
    ContactFactory(industry="Finance", region="Ontario")
    segment = SegmentFactory(name="Retail in Ontario", rules={})
    expect = sync_api.expect

    with admin_page(live_server, client, settings) as page:
        page.goto(f"/admin/snippets/contacts/segment/edit/{segment.pk}/")
        count = page.locator("#segment-count")
        expect(count).to_have_text("4")

        page.get_by_role("button", name="Add group").click()
        group = page.locator(".rapport-builder__group--nested")
        first = group.locator(".rapport-builder__rule").nth(0)
        first.get_by_label("Field").select_option("industry")
        first.get_by_label("Condition").select_option("equals")
        first.get_by_label("Value").fill("Retail")
        expect(count).to_have_text("3")

        group.get_by_role("button", name="Add rule to group").click()
        second = group.locator(".rapport-builder__rule").nth(1)
        second.get_by_label("Field").select_option("region")
        second.get_by_label("Condition").select_option("equals")
        second.get_by_label("Value").fill("Ontario")
        expect(count).to_have_text("2")

        assert page.evaluate(UNLABELLED_CONTROLS) == []
        screenshot(page, "segment-builder.png")
        page.get_by_role("button", name="Save").first.click()
        page.wait_for_url("**/admin/snippets/contacts/segment/")
        assert "2" in page.locator("table.listing tbody tr").first.inner_text()

    assert Segment.objects.get(pk=segment.pk).rules == {
        "match": "all",
        "rules": [
            {
                "match": "all",
                "rules": [
                    {"field": "industry", "op": "equals", "value": "Retail"},
                    {"field": "region", "op": "equals", "value": "Ontario"},
                ],
            }
        ],
    }


def test_a_new_segment_is_built_with_a_live_count_too(live_server, client, settings):
    ContactFactory(grade="A")
    ContactFactory(grade="B")
    ContactFactory(grade="C")

    with admin_page(live_server, client, settings) as page:
        page.goto("/admin/snippets/contacts/segment/add/")
        count = page.locator("#segment-count")
        sync_api.expect(count).to_have_text("3")
        page.fill("#id_name", "Best customers")
        page.get_by_role("button", name="Add rule").click()
        rule = page.locator(".rapport-builder__rule").first
        rule.get_by_label("Field").select_option("grade")
        rule.get_by_label("Condition").select_option("in")
        rule.get_by_label("A (high value)").check()
        rule.get_by_label("B", exact=True).check()
        sync_api.expect(count).to_have_text("2")
        page.get_by_role("button", name="Save").first.click()
        page.wait_for_url("**/admin/snippets/contacts/segment/")

    assert Segment.objects.get(name="Best customers").rules == {
        "match": "all",
        "rules": [{"field": "grade", "op": "in", "value": ["A", "B"]}],
    }


def test_the_builder_shows_every_kind_of_rule_and_gives_back_the_same_json(live_server, client, settings):
    MailingListFactory(name="Newsletter", slug="newsletter")
    ContactFactory().tags.add("vip")
    campaign = CampaignFactory(name="December newsletter")
    rules = {
        "match": "any",
        "rules": [
            {"field": "grade", "op": "in", "value": ["A", "B"]},
            {"field": "list", "op": "in", "value": ["newsletter"]},
            {"field": "tag", "op": "not_in", "value": ["vip"]},
            {"field": "region", "op": "contains", "value": "tario"},
            {"field": "last_opened_at", "op": "within_last_days", "value": 30},
            {"field": "created_at", "op": "between", "value": ["2026-01-01", "2026-03-31"]},
            {"field": "engagement_score", "op": "gte", "value": 3},
            {"event": "clicked", "campaign": campaign.pk, "within_days": 14},
            {"event": "clicked"},
            {"event": "not_opened", "last_campaigns": 3},
            {"match": "all", "negate": True, "rules": [{"field": "standing", "op": "in", "value": ["at_risk"]}]},
        ],
    }
    segment = SegmentFactory(rules=rules)

    with admin_page(live_server, client, settings) as page:
        page.goto(f"/admin/snippets/contacts/segment/edit/{segment.pk}/")
        builder = page.locator("[data-segment-builder]")
        sync_api.expect(builder.locator(".rapport-builder__rule")).to_have_count(11)
        assert builder.get_by_label("Campaign").first.input_value() == str(campaign.pk)
        assert page.evaluate(UNLABELLED_CONTROLS) == []
        shown = page.evaluate(
            "() => { const b = document.querySelector('[data-segment-builder]').builder; return b.serialise(b.root); }"
        )

    assert shown == rules


def test_the_contact_page_reads_as_the_person(live_server, client, settings):
    owner = UserFactory(username="sam", first_name="Sam", last_name="Sales")
    contact = ContactFactory(
        email="ann.lee@example.com",
        first_name="Ann",
        last_name="Lee",
        company="Initech",
        job_title="Buyer",
        region="Ontario",
        city="Toronto",
        grade="A",
        owner=owner,
        notes="Prefers a call before noon.",
        engagement_score=7.0,
        standing="engaged",
    )
    SubscriptionFactory(contact=contact, mailing_list=MailingListFactory(name="Newsletter"))
    body = [("button", {"label": "See the winter collection", "url": "https://shop.example.com/winter"})]
    campaign = CampaignFactory(name="December newsletter", body=body)
    for kind, extra in (
        (Activity.Kind.SENT, {}),
        (Activity.Kind.OPENED, {"details": {"ua": IPHONE}}),
        (Activity.Kind.CLICKED, {"details": {"ua": IPHONE}, "link_url": "https://shop.example.com/winter"}),
    ):
        ActivityFactory(contact=contact, kind=kind, campaign_id=campaign.pk, **extra)
    ActivityFactory(contact=contact, kind=Activity.Kind.NOTE, details={"text": "Asked for the spring catalogue."})

    with admin_page(live_server, client, settings) as page:
        page.goto(f"/admin/snippets/contacts/contact/inspect/{contact.pk}/")
        history = page.locator("#timeline")
        sync_api.expect(history).to_contain_text("Opened December newsletter on iPhone")
        sync_api.expect(history).to_contain_text("Clicked See the winter collection in December newsletter")
        sync_api.expect(page.get_by_role("link", name="Edit")).to_be_visible()
        sync_api.expect(page.locator(".rapport-contact")).to_contain_text("owner: Sam Sales")
        screenshot(page, "contact-page.png")
