"""The bounce mailbox poller. The IMAP server is remote in production and none runs on this
machine, so it is replaced by a small in-memory stand-in speaking imaplib's client API."""

from pathlib import Path

import pytest
from django.test import override_settings

from contacts.models import Contact
from tests.factories import ContactFactory
from tracking import bounces

CORPUS = Path(__file__).parent / "data" / "flufl_bounce"


class FakeMailbox:
    """Just the imaplib.IMAP4 calls the poller makes, over a dict of uid -> raw message."""

    def __init__(self, messages: dict[bytes, bytes]) -> None:
        self.messages = messages
        self.seen: set[bytes] = set()
        self.logged_in_as = None

    def __call__(self, host, port, timeout=None):
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        return None

    def login(self, user, password):
        self.logged_in_as = user
        return "OK", [b""]

    def select(self, folder):
        return "OK", [str(len(self.messages)).encode()]

    def uid(self, command, *args):
        if command == "SEARCH":
            return "OK", [b" ".join(uid for uid in self.messages if uid not in self.seen)]
        if command == "FETCH":
            return "OK", [(b"1 (UID " + args[0] + b" BODY[] {n}", self.messages[args[0]]), b")"]
        if command == "STORE":
            self.seen.add(args[0])
            return "OK", [b""]
        raise AssertionError(command)


def test_polling_is_off_without_an_imap_host():
    with override_settings(IMAP_HOST=""):
        assert bounces.poll_mailbox() == 0


@pytest.mark.django_db
def test_unseen_bounces_are_processed_once_and_marked_seen(monkeypatch):
    contact = ContactFactory(email="xxxxx@local.ie")
    mailbox = FakeMailbox({b"7": (CORPUS / "postfix_01.txt").read_bytes()})
    monkeypatch.setattr(bounces.imaplib, "IMAP4_SSL", mailbox)
    with override_settings(IMAP_HOST="imap.example.com", IMAP_USER="bounces", IMAP_PASSWORD="x", IMAP_SSL=True):
        assert bounces.poll_mailbox() == 1
        assert bounces.poll_mailbox() == 0
    assert mailbox.seen == {b"7"}
    contact.refresh_from_db()
    assert contact.status == Contact.Status.BOUNCED
