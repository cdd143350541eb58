"""A visitor signs up through a form embedded on another site (a second origin: a tiny
http.server on another loopback port serving the admin's snippet), solves the ALTCHA check in
the browser, and confirms from the link in the email the SMTP sink received."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from campaigns import delivery
from contacts.models import Contact, Subscription
from signups.viewsets import embed_snippet
from tests.e2e.conftest import PAGE_TIMEOUT_MS, check_page
from tests.factories import SignupFormFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def other_site(tmp_path: Path) -> Iterator:
    """``other_site(html)``: the URL of a page with ``html`` in its body, on its own origin."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(tmp_path)))
    threading.Thread(target=server.serve_forever, daemon=True).start()

    def publish(html: str) -> str:
        head = "<meta charset='utf-8'><link rel='icon' href='data:,'><title>Another site</title>"
        page = f"<!doctype html><html lang='en'><head>{head}</head><body>{html}</body></html>"
        (tmp_path / "index.html").write_text(page)
        return f"http://127.0.0.1:{server.server_port}/index.html"

    yield publish
    server.shutdown()


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def test_a_visitor_signs_up_on_another_site_and_confirms_from_the_email(
    browser, live_server, settings, smtp_sink, other_site
):
    settings.SITE_URL = live_server.url
    settings.EMAIL_CHECK_DNS = False
    settings.SIGNUP_CHALLENGE, settings.SIGNUP_CHALLENGE_COST = True, 1000
    settings.EMAIL_BACKEND, settings.EMAIL_HOST = delivery.SMTP_BACKEND, "127.0.0.1"
    settings.EMAIL_PORT = smtp_sink.port
    form = SignupFormFactory(name="Shop news")
    page = browser.new_page()
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    page.console_errors = []
    page.on("console", lambda message: message.type == "error" and page.console_errors.append(message.text))

    page.goto(other_site(embed_snippet(form)))
    page.fill("input[name=email]", "visitor@example.com")
    page.fill("input[name=first_name]", "Vera")
    page.wait_for_function("document.querySelector('input[name=ts]').value !== ''")
    page.wait_for_function("(document.querySelector('input[name=altcha]') || {}).value")
    # The form must have been open for the minimum fill time (3 s) before it is sent.
    page.wait_for_timeout(3000)
    page.click("button[type=submit]")

    page.wait_for_selector("text=Please check your inbox")
    assert page.url.startswith(live_server.url)
    assert page.console_errors == []
    [(_, raw)] = smtp_sink.handler.messages
    link = re.search(rb"https?://\S+/confirm/\S+/", raw).group(0).decode()
    page.goto(link)
    check_page(page, "signup-confirm-page")
    assert not Contact.objects.filter(email="visitor@example.com").exists()
    page.click("text=Yes, subscribe me")
    page.wait_for_selector("text=You are subscribed")
    contact = Contact.objects.get(email="visitor@example.com")
    assert contact.first_name == "Vera"
    assert Subscription.objects.get(contact=contact).status == Subscription.Status.SUBSCRIBED
