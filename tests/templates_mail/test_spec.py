"""A message spec renders and lints from plain values, with no campaign behind it (journey email steps)."""

import pytest

from templates_mail.lint import lint_message
from templates_mail.recipient import Recipient
from templates_mail.rendering import prepare
from templates_mail.spec import MessageSpec, html_body

pytestmark = pytest.mark.django_db
LAYOUT = (
    '<html><body>{{ content }}<a href="{{ unsubscribe_url }}">Unsubscribe</a> '
    '<a href="{{ preferences_url }}">Preferences</a> {{ postal_address }}</body></html>'
)
WORDS = "<p>" + "A calm, informative paragraph about our products and news. " * 12 + "</p>"


def spec(**values) -> MessageSpec:
    defaults = {
        "subject": "Welcome, {{ contact.first_name }}",
        "layout_html": LAYOUT,
        "body": html_body(
            f'<p>Hello {{{{ contact.first_name }}}}</p>{WORDS}<a href="https://example.com/start">Start</a>'
        ),
        "postal_address": "1 Example Street, Springfield",
    }
    return MessageSpec(**(defaults | values))


def test_a_spec_without_a_postal_address_fails_its_lint():
    assert "no_postal_address" in [issue.code for issue in lint_message(spec(postal_address="")) if issue.blocking]


def test_a_spec_without_a_campaign_renders_for_a_recipient_with_its_unsubscribe_link(settings):
    prepared = prepare(spec())
    message = prepared.render(Recipient(contact_id=7, email="ada@example.com", first_name="Ada", message_id=None))
    assert message.subject == "Welcome, Ada"
    assert "Hello Ada" in message.html and "1 Example Street" in message.html
    assert f'href="{settings.SITE_URL}/u/' in message.html
    assert prepared.links == ["https://example.com/start"]


def test_a_clean_spec_has_no_blocking_lint_issue():
    assert [issue.message for issue in lint_message(spec()) if issue.blocking] == []
