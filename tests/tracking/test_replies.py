"""A contact's own reply reaching the inbound mailbox is recorded in their history as "replied"."""

import pytest

from contacts.models import Activity
from tests.factories import ContactFactory
from tracking import bounces

pytestmark = pytest.mark.django_db


def reply(sender: str, *headers: str, mail_id: str = "<r1@mail.example.com>") -> bytes:
    lines = [f"From: Ana Reyes <{sender}>", "To: news@example.com", "Subject: Re: Spring offer", *headers]
    return ("\r\n".join([*lines, f"Message-ID: {mail_id}", "", "Yes, please call me on Monday.", ""])).encode()


def test_an_auto_reply_or_a_stranger_is_no_reply():
    contact = ContactFactory(email="ana@example.org")

    bounces.process_bytes(reply(contact.email, "Auto-Submitted: auto-replied"), source="imap")
    bounces.process_bytes(reply("someone@example.net", mail_id="<r2@mail.example.com>"), source="imap")

    assert not Activity.objects.filter(kind=Activity.Kind.REPLIED).exists()


def test_a_contacts_reply_is_recorded_once_however_often_it_is_read():
    contact = ContactFactory(email="ana@example.org")

    bounces.process_bytes(reply("Ana@Example.org"), source="imap")
    bounces.process_bytes(reply("Ana@Example.org"), source="imap")

    entry = Activity.objects.get(kind=Activity.Kind.REPLIED)
    assert (entry.contact, entry.details["summary"]) == (contact, "Replied: Re: Spring offer")
