"""Browser test: both shipped layouts, as delivered (inlined), read on phones.

At 320-414 px there is no sideways scrolling, also in a client that drops <style> and
@media (Gmail's mobile web client, many webmails): the layout is fluid, not a 600 px table
that a media query must rescue. The preheader stays hidden where display:none and opacity
are ignored. Rendered in Debian's Chromium headless through Playwright.
"""

import re

import pytest

from campaigns.management.commands.seed_demo import demo_body
from campaigns.version import prepare
from templates_mail.apps import SHIPPED_LAYOUTS
from templates_mail.models import Layout
from templates_mail.recipient import Recipient
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, sync_api
from tests.factories import CampaignFactory
from tests.templates_mail.helpers import block

pytestmark = [
    pytest.mark.django_db,
]
PHONES = [320, 375, 414]
WIDE_IMAGE = (
    '<img src="data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7" width="560" '
    'height="280" alt="A wide picture" class="fluid" style="display:block;max-width:100%;height:auto;border:0">'
)
RICH_BODY = [
    *demo_body(),
    block("columns", left="<p>Left column, long enough to wrap on a phone.</p>", right="<p>Right column.</p>"),
    block("html", html=WIDE_IMAGE),
]


@pytest.fixture(scope="module")
def browser(django_db_setup):
    """One browser for the module, started after the test database exists. Messages are then
    rendered while its event loop runs in this thread: plain synchronous ORM work, allowed."""
    with pytest.MonkeyPatch.context() as patch, sync_api.sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "1")
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(params=list(SHIPPED_LAYOUTS))
def delivered_html(request) -> str:
    """The demo newsletter in one shipped layout, exactly as a recipient gets it."""
    campaign = CampaignFactory(
        layout=Layout.objects.get(name=request.param), preheader="Early access this week", body=RICH_BODY
    )
    return prepare(campaign).render(Recipient(contact_id=1, email="ann@example.com", first_name="Ann")).html


def without_style_elements(html: str) -> str:
    """What a client without <style> support (so without @media) keeps: the inline styles."""
    return re.sub(r"<style\b.*?</style>", "", html, flags=re.S | re.I)


def overflow(browser, html: str, width: int) -> int:
    """How many pixels the message sticks out to the side at this viewport width."""
    page = browser.new_page(viewport={"width": width, "height": 800})
    try:
        page.set_content(html)
        return page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    finally:
        page.close()


@pytest.mark.parametrize("width", PHONES)
def test_the_layout_fits_a_phone_without_sideways_scrolling(browser, delivered_html, width):
    assert overflow(browser, delivered_html, width) <= 0


@pytest.mark.parametrize("width", PHONES)
def test_the_layout_fits_a_phone_in_a_client_without_media_queries(browser, delivered_html, width):
    assert overflow(browser, without_style_elements(delivered_html), width) <= 0


def test_the_preheader_stays_hidden_where_display_none_and_opacity_are_ignored(browser, delivered_html):
    page = browser.new_page(viewport={"width": 375, "height": 800})
    try:
        page.set_content(delivered_html)
        box = page.evaluate(
            """() => {
                const preheader = document.querySelector(".preheader");
                preheader.style.display = "";
                preheader.style.opacity = "";
                const box = preheader.getBoundingClientRect();
                return {width: box.width, height: box.height, text: preheader.textContent};
            }"""
        )
    finally:
        page.close()
    assert "Early access this week" in box["text"]
    assert (box["width"], box["height"]) == (0, 0)
