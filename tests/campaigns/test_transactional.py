"""One person's own mail goes out at once, signed, without the headers of a mailing list."""

from email import message_from_bytes, policy

import pytest

from campaigns import delivery
from campaigns.delivery import HeaderInjectionError
from campaigns.transactional import send_transactional


def received(sink) -> list:
    return [(recipients, message_from_bytes(raw, policy=policy.default)) for recipients, raw in sink.handler.messages]


def test_the_message_reaches_the_server_with_both_parts(smtp):
    result = send_transactional("ann@example.com", "Please confirm", "Click here:\nhttps://example.com/c/1")

    [(recipients, message)] = received(smtp)
    assert result.outcome is delivery.Outcome.SENT
    assert recipients == ["ann@example.com"] and message["Subject"] == "Please confirm"
    assert message.get_body(("plain",)).get_content().startswith("Click here:")
    assert "https://example.com/c/1" in message.get_body(("html",)).get_content()


def test_it_carries_no_list_headers_and_says_it_was_machine_written(smtp):
    send_transactional("ann@example.com", "Your reminder", "Call Bo today")

    [(_, message)] = received(smtp)
    for header in ("List-Id", "List-Unsubscribe", "List-Unsubscribe-Post", "Feedback-ID"):
        assert message[header] is None, header
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["From"] == "Rapport <hello@example.com>"


def test_text_that_looks_like_markup_is_escaped_in_the_html_part(smtp):
    send_transactional("ann@example.com", "Hi", "<script>alert(1)</script>")

    [(_, message)] = received(smtp)
    assert "<script>" not in message.get_body(("html",)).get_content()


def test_a_line_break_in_a_header_is_refused_before_anything_is_sent(smtp):
    with pytest.raises(HeaderInjectionError):
        send_transactional("ann@example.com", "Hi\r\nBcc: victim@example.com", "text")

    assert smtp.handler.messages == []


def test_a_refusal_is_reported_not_raised(smtp):
    smtp.handler.reply = "550 5.1.1 unknown user"

    result = send_transactional("nobody@example.com", "Hi", "text")

    assert (result.outcome, result.code) == (delivery.Outcome.FAILED, 550)
