"""The whole loop as `make run` runs it (DEBUG=1): a real worker sends, the recipient opens and
clicks over real HTTP, the worker drains the events, and both are in the contact's history.

pytest-django forces DEBUG=False, which hides whatever only breaks under Django's debug
cursor (it formats every statement with ``%``); this test turns DEBUG back on, in the test
process (live server) and in the worker's environment.
"""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from urllib.parse import urlsplit

import pytest

from campaigns import services
from campaigns.models import Campaign
from contacts.models import Activity
from tests.campaigns.conftest import campaign_for
from tests.conftest import wait_until
from tests.templates_mail.helpers import text
from tracking import tasks

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("real_broker")]

BROWSER = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def fetch(url: str) -> urllib.request.addinfourl | urllib.error.HTTPError:
    request = urllib.request.Request(url, headers={"User-Agent": BROWSER})
    try:
        return urllib.request.build_opener(_NoRedirect).open(request, timeout=120)
    except urllib.error.HTTPError as answer:  # the click's 302 arrives here
        return answer


def local(url: str, live_server) -> str:
    """A tracking URL from the mail, pointed at the live server."""
    parts = urlsplit(url)
    return f"{live_server.url}{parts.path}"


def test_sent_opened_and_clicked_mail_reaches_the_history_with_debug_on(smtp_sink, start_worker, live_server, settings):
    settings.DEBUG = True
    campaign = campaign_for(
        ["ann@example.com"], body=[text('<p>Hello, see <a href="https://shop.example.com/winter">winter</a></p>')]
    )
    start_worker({"DEBUG": "1", "EMAIL_URL": smtp_sink.url, "SEND_RATE_PER_SECOND": "1000"})

    services.send_now(campaign)
    wait_until(lambda: Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.SENT, message="campaign sent")
    html = smtp_sink.parsed()[0].get_body(("html",)).get_content()
    pixel = re.search(r'src="([^"]*/t/o/[^"]+)"', html).group(1)
    link = re.search(r'href="([^"]*/t/c/[^"]+)"', html).group(1)

    assert fetch(local(pixel, live_server)).status == 200
    assert fetch(local(link, live_server)).headers["Location"] == "https://shop.example.com/winter"
    tasks.drain_events.delay()

    contact = campaign.messages.get().contact
    history = Activity.objects.filter(contact=contact, campaign_id=campaign.pk)
    wait_until(lambda: history.filter(kind__in=["opened", "clicked"]).count() == 2, message="open and click in history")
    click = history.get(kind=Activity.Kind.CLICKED)
    assert click.link_url == "https://shop.example.com/winter"
