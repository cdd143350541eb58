"""Browser test: a marketer installs the welcome series, enrols a contact, and sees the
counts on the flow diagram move as the engine runs (driven here as beat's tick would)."""

import pytest

from automations import engine
from contacts.roles import MARKETERS, ensure_groups
from tests.e2e.conftest import check_page
from tests.factories import ContactFactory, LayoutFactory, MailingListFactory, UserFactory

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page(page_for):
    ensure_groups()
    MailingListFactory(name="Newsletter", slug="newsletter")
    ContactFactory(email="ada@example.com")
    LayoutFactory(is_default=True)
    marketer_page = page_for(UserFactory(username="e2e-journeys", groups=[MARKETERS]))
    yield marketer_page
    assert marketer_page.console_errors == []


def count(page, key: str, name: str) -> str:
    return page.locator(f'[data-step="{key}"] > .journey-box .count-{name} b').inner_text()


def test_a_marketer_installs_the_welcome_series_enrols_a_contact_and_sees_the_counts_move(page):
    page.goto("/admin/journeys/install/")
    page.select_option("#id_template", "welcome")
    page.select_option("#id_mailing_list", "newsletter")
    page.check("#id_activate")
    page.click("#install-journey button[type=submit]")
    page.wait_for_selector("#journey-flow")
    check_page(page, "journey-flow-installed")

    page.fill("#id_enrol_email", "ada@example.com")
    page.click("#journey-enrol button[type=submit]")
    page.wait_for_selector("#journey-flow")
    assert count(page, "welcome", "waiting") == "1"

    engine.advance()
    page.reload()

    assert count(page, "welcome", "done") == "1"
    assert count(page, "opened-welcome", "waiting") == "1"
    assert page.locator("#journey-enrolled").inner_text() == "1"
    check_page(page, "journey-flow-counts")
