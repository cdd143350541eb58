"""`make mailbox`: how many messages it shows, and each one decoded (headers and text part)."""

import smtplib
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from django.core.management import call_command
from django.core.management.base import CommandError

from devtools.services import free_port
from devtools.smtp_sink import MaildirHandler


@pytest.fixture
def sink(tmp_path, settings):
    """The real local SMTP sink of `make run`, keeping mail under a private VAR_DIR."""
    settings.VAR_DIR = tmp_path
    controller = Controller(MaildirHandler(tmp_path / "mail"), hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller
    controller.stop()


def send(sink, subject: str, text: str, *, html: str = "", charset_encoding: str = "quoted-printable") -> None:
    message = EmailMessage()
    message["From"] = "Rapport News <news@example.com>"
    message["To"] = "ann@example.com"
    message["Subject"] = subject
    message["Date"] = "Tue, 01 Dec 2026 10:00:00 +0000"
    message.set_content(text, cte=charset_encoding)
    if html:
        message.add_alternative(html, subtype="html")
    with smtplib.SMTP("127.0.0.1", sink.port) as client:
        client.send_message(message)


def run_mailbox(capsys, *args) -> str:
    call_command("mailbox", *args)
    return capsys.readouterr().out


def test_an_empty_mailbox_says_so(tmp_path, settings, capsys):
    settings.VAR_DIR = tmp_path
    assert run_mailbox(capsys).startswith("The mailbox is empty")


def test_a_limit_below_one_is_refused(tmp_path, settings):
    settings.VAR_DIR = tmp_path
    with pytest.raises(CommandError, match="--limit must be at least 1"):
        call_command("mailbox", "--limit", "0")


def test_the_list_says_how_many_of_how_many_it_shows(sink, capsys):
    for number in range(3):
        send(sink, f"News {number}", "Hello")
    output = run_mailbox(capsys, "--limit", "2")
    assert output.startswith("Showing 2 of 3 messages, newest first.")
    assert output.count("\n[") == 2


def test_messages_are_shown_decoded_with_subject_from_to_date_and_text(sink, capsys):
    send(sink, "Grüße 你好", "Grüße aus Köln — 你好\nZweite Zeile", html="<p>Grüße</p>", charset_encoding="base64")
    output = run_mailbox(capsys)
    assert "[1] Grüße 你好" in output
    assert "From: Rapport News <news@example.com>" in output
    assert "To:   ann@example.com" in output
    assert "Date: Tue, 01 Dec 2026 10:00:00 +0000" in output
    assert "    Grüße aus Köln — 你好\n    Zweite Zeile" in output
    assert "<p>" not in output


def test_message_n_is_shown_in_full_and_raw_on_request(sink, capsys):
    send(sink, "Long", "\n".join(f"line {number}" for number in range(30)))
    assert "line 29" not in run_mailbox(capsys)
    assert "line 29" in run_mailbox(capsys, "1")
    assert "Content-Transfer-Encoding" in run_mailbox(capsys, "1", "--raw")
