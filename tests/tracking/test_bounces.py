"""Bounces, complaints and auto-replies: classification on real MTA output, attribution
through VERP, the contact policy, and the process_bounces command."""

import json
import mailbox
import subprocess
from datetime import timedelta
from email import message_from_bytes
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.utils import timezone

from campaigns import delivery
from contacts.models import Activity, Contact, Suppression
from contacts.tokens import Purpose, TokenData, make_token
from tests.factories import ActivityFactory, ContactFactory, MessageFactory
from tracking import bounces
from tracking.models import ReturnedMail

CORPUS = Path(__file__).parent / "data" / "flufl_bounce"
EXPECTED = json.loads((CORPUS / "expected.json").read_text())["files"]

# RFC 5965 Appendix B.2 ("Complex Report"), the example of the standard itself, with the
# original message's return path being one of ours.
ARF = """\
From: <abusedesk@example.com>
Date: Thu, 8 Mar 2005 17:40:36 EDT
Subject: FW: Earn money
To: <abuse@example.net>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report;
     boundary="part1_13d.2e68ed54_boundary"

--part1_13d.2e68ed54_boundary
Content-Type: text/plain; charset="US-ASCII"
Content-Transfer-Encoding: 7bit

This is an email abuse report for an email message received from IP
192.0.2.1 on Thu, 8 Mar 2005 14:00:00 EDT.  For more information
about this format please see http://www.mipassoc.org/arf/.

--part1_13d.2e68ed54_boundary
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: SomeGenerator/1.0
Version: 1
Original-Mail-From: <somespammer@example.net>
Original-Rcpt-To: <{recipient}>
Arrival-Date: Thu, 8 Mar 2005 14:00:00 EDT
Reporting-MTA: dns; mail.example.com
Source-IP: 192.0.2.1
Authentication-Results: mail.example.com;
               spf=fail smtp.mail=somespammer@example.com
Reported-Domain: example.net
Reported-Uri: http://example.net/earn_money.html
Reported-Uri: mailto:user@example.com
Removal-Recipient: user@example.com

--part1_13d.2e68ed54_boundary
Content-Type: message/rfc822
Content-Disposition: inline

Return-Path: <{return_path}>
From: <somespammer@example.net>
Received: from mailserver.example.net (mailserver.example.net
        [192.0.2.1]) by example.com with ESMTP id M63d4137594e46;
        Thu, 08 Mar 2005 14:00:00 -0400
To: <Undisclosed Recipients>
Subject: Earn money
MIME-Version: 1.0
Content-type: text/plain
Message-ID: 8787KJKJ3K4J3K4J3K4J3.mail@example.net
Date: Thu, 02 Sep 2004 12:31:03 -0500

Spam Spam Spam
Spam Spam Spam
Spam Spam Spam
Spam Spam Spam
--part1_13d.2e68ed54_boundary--
"""

# An RFC 3834 automatic response: Auto-Submitted: auto-replied, sent to our return path.
OUT_OF_OFFICE = """\
From: Ana Lima <ana@example.org>
To: {return_path}
Subject: Automatic reply: Spring sale
Auto-Submitted: auto-replied
Message-ID: <ooo-1@example.org>
Date: Mon, 3 Mar 2025 09:00:00 +0000
Content-Type: text/plain; charset=utf-8

I am out of the office until 10 March with limited access to email.
"""


def sample(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


def delivered_to_our_return_path(raw: bytes, message) -> bytes:
    """The bounce as our mailbox receives it: the MTA adds Delivered-To with the VERP address."""
    verp = make_token(TokenData(Purpose.BOUNCE, message.contact_id, message.pk, message.campaign_id))
    header = f"Delivered-To: bounces+{verp}@{settings.BOUNCE_DOMAIN}\n".encode()
    if raw.startswith(b"From "):
        first, _, rest = raw.partition(b"\n")
        return first + b"\n" + header + rest
    return header + raw


def verp(message) -> str:
    token = make_token(TokenData(Purpose.BOUNCE, message.contact_id, message.pk, message.campaign_id))
    return f"bounces+{token}@{settings.BOUNCE_DOMAIN}"


def run(*paths: Path, dry_run: bool = False) -> list[dict]:
    out = StringIO()
    call_command("process_bounces", *map(str, paths), "--json", *(["--dry-run"] if dry_run else []), stdout=out)
    return json.loads(out.getvalue())


# --- the public corpus --------------------------------------------------------------------------


def test_corpus_of_real_bounces_is_detected_with_recipients_and_class():
    right = []
    for name, expected in EXPECTED.items():
        [message] = bounces.read_messages(CORPUS / name)
        result = bounces.classify(message)
        recipients = sorted(address.lower() for address in result.recipients)
        right.append(
            recipients == sorted(a.lower() for a in expected["recipients"]) and result.kind == expected["kind"]
        )
    assert len(right) >= 100
    assert sum(right) / len(right) >= 0.95


def test_rfc3464_permanent_failure_is_hard_with_its_status():
    [message] = bounces.read_messages(CORPUS / "dsn_01.txt")
    result = bounces.classify(message)
    assert (result.kind, result.recipients, result.status) == ("hard", ["userx@example.com"], "5.0.0")


def test_rfc3464_delay_is_soft():
    [message] = bounces.read_messages(CORPUS / "dsn_17.txt")
    result = bounces.classify(message)
    assert (result.kind, result.status) == ("soft", "4.3.0")


def test_non_bounce_is_unknown():
    [message] = bounces.read_messages(CORPUS / "dumbass_01.txt")
    assert bounces.classify(message).kind == "unknown"


def test_arf_report_is_a_complaint_for_the_original_recipient():
    result = bounces.classify(
        message_from_bytes(ARF.format(recipient="user@example.com", return_path="x@example.net").encode())
    )
    assert (result.kind, result.recipients) == ("complaint", ["user@example.com"])


def test_feedback_fields_sent_as_plain_text_are_a_complaint():
    raw = ARF.format(recipient="user@example.com", return_path="x@example.net").replace(
        "Content-Type: message/feedback-report", "Content-Type: text/plain"
    )
    result = bounces.classify(message_from_bytes(raw.encode()))
    assert (result.kind, result.recipients) == ("complaint", ["user@example.com"])


def test_a_microsoft_jmrp_report_is_a_complaint_for_its_original_recipient():
    raw = (
        b"From: staff@hotmail.com\nTo: fbl@example.com\nSubject: complaint about message from 192.0.2.1\n"
        b"X-HmXmrOriginalRecipient: <user@hotmail.com>\nContent-Type: message/rfc822\n\n"
        b"From: news@example.org\nTo: user@hotmail.com\nSubject: Spring sale\n\nHello\n"
    )
    result = bounces.classify(message_from_bytes(raw))
    assert (result.kind, result.recipients) == ("complaint", ["user@hotmail.com"])


def test_out_of_office_is_an_auto_reply():
    raw = OUT_OF_OFFICE.format(return_path="bounces@example.com").encode()
    assert bounces.classify(message_from_bytes(raw)).kind == "auto_reply"


# --- policy ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_hard_bounce_is_attributed_through_verp_and_suppresses_the_contact(tmp_path):
    message = MessageFactory(contact=ContactFactory(email="renamed@example.org"))
    path = tmp_path / "bounce.eml"
    path.write_bytes(delivered_to_our_return_path(sample("postfix_01.txt"), message))
    [summary] = run(path)
    assert summary["kind"] == "hard"
    contact = Contact.objects.get(pk=message.contact_id)
    assert contact.status == Contact.Status.BOUNCED
    assert Suppression.objects.filter(email="renamed@example.org", reason=Suppression.Reason.HARD_BOUNCE).exists()
    bounced = Activity.objects.get(contact=contact, kind=Activity.Kind.BOUNCED_HARD)
    assert (bounced.campaign_id, bounced.message_id) == (message.campaign_id, message.pk)


@pytest.mark.django_db
def test_without_verp_the_bounce_is_attributed_by_recipient_address():
    contact = ContactFactory(email="xxxxx@local.ie")
    run(CORPUS / "postfix_01.txt")
    contact.refresh_from_db()
    assert contact.status == Contact.Status.BOUNCED


@pytest.mark.django_db
def test_dry_run_classifies_but_changes_nothing():
    contact = ContactFactory(email="userx@example.com")
    [summary] = run(CORPUS / "dsn_01.txt", dry_run=True)
    assert summary == {
        "file": str(CORPUS / "dsn_01.txt"),
        "kind": "hard",
        "recipients": ["userx@example.com"],
        "status": "5.0.0",
        "reason": "mailbox_full",
    }
    contact.refresh_from_db()
    assert contact.status == Contact.Status.SUBSCRIBED


@pytest.mark.django_db
def test_two_soft_bounces_keep_the_contact_three_within_30_days_bounce_it():
    message = MessageFactory()
    raw = delivered_to_our_return_path(sample("dsn_17.txt"), message)
    for number, expected in enumerate([Contact.Status.SUBSCRIBED, Contact.Status.SUBSCRIBED, Contact.Status.BOUNCED]):
        # Three separate delay notices: each returned message has its own Message-ID.
        bounces.process_bytes(raw.replace(b"Message-ID: <", f"Message-ID: <{number}.".encode(), 1), source="test")
        assert Contact.objects.get(pk=message.contact_id).status == expected, number


@pytest.mark.django_db
def test_soft_bounces_older_than_30_days_do_not_count():
    message = MessageFactory()
    old = timezone.now() - timedelta(days=45)
    for _ in range(2):
        ActivityFactory(contact=message.contact, kind=Activity.Kind.BOUNCED_SOFT, occurred_at=old)
    bounces.process_bytes(delivered_to_our_return_path(sample("dsn_17.txt"), message), source="test")
    assert Contact.objects.get(pk=message.contact_id).status == Contact.Status.SUBSCRIBED


@pytest.mark.django_db
def test_the_same_soft_bounce_processed_twice_counts_once():
    message = MessageFactory()
    raw = delivered_to_our_return_path(sample("dsn_17.txt"), message)
    for _ in range(3):
        bounces.process_bytes(raw, source="test")
    assert Activity.objects.filter(contact=message.contact, kind=Activity.Kind.BOUNCED_SOFT).count() == 1
    assert Contact.objects.get(pk=message.contact_id).status == Contact.Status.SUBSCRIBED


@pytest.mark.django_db
def test_complaint_marks_the_contact_complained_and_suppressed(tmp_path):
    message = MessageFactory()
    path = tmp_path / "arf.eml"
    path.write_text(ARF.format(recipient="someone-else@example.com", return_path=verp(message)))
    [summary] = run(path)
    assert summary["kind"] == "complaint"
    contact = Contact.objects.get(pk=message.contact_id)
    assert contact.status == Contact.Status.COMPLAINED
    assert contact.standing == Contact.Standing.SUPPRESSED
    assert Suppression.objects.filter(email=contact.email, reason=Suppression.Reason.COMPLAINT).exists()
    assert not Contact.objects.sendable().filter(pk=contact.pk).exists()


@pytest.mark.django_db
def test_auto_reply_changes_nothing(tmp_path):
    message = MessageFactory()
    path = tmp_path / "ooo.eml"
    path.write_text(OUT_OF_OFFICE.format(return_path=verp(message)))
    [summary] = run(path)
    assert summary["kind"] == "auto_reply"
    assert Contact.objects.get(pk=message.contact_id).status == Contact.Status.SUBSCRIBED
    assert not Activity.objects.filter(contact=message.contact).exists()


@pytest.mark.django_db
def test_mail_to_the_list_unsubscribe_address_unsubscribes(tmp_path):
    message = MessageFactory()
    token = make_token(TokenData(Purpose.UNSUBSCRIBE, message.contact_id, message.pk, message.campaign_id))
    path = tmp_path / "unsubscribe.eml"
    path.write_text(
        f"From: {message.contact.email}\nTo: unsubscribe@{settings.BOUNCE_DOMAIN}\nSubject: {token}\n"
        "Message-ID: <u-1@example.com>\n\nunsubscribe\n"
    )
    [summary] = run(path)
    assert summary["kind"] == "unsubscribe"
    assert Contact.objects.get(pk=message.contact_id).status == Contact.Status.UNSUBSCRIBED


@pytest.mark.django_db
def test_a_forged_token_in_the_unsubscribe_subject_does_nothing(tmp_path):
    contact = ContactFactory()
    path = tmp_path / "unsubscribe.eml"
    path.write_text(
        f"From: {contact.email}\nTo: unsubscribe@{settings.BOUNCE_DOMAIN}\nSubject: AAAAAAAAAAAAAAAAAAAAAAAAAAAA\n\nx\n"
    )
    run(path)
    assert Contact.objects.get(pk=contact.pk).status == Contact.Status.SUBSCRIBED


# --- the command -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_mbox_gives_one_summary_per_message(tmp_path):
    mbox = tmp_path / "bounces.mbox"
    box = mailbox.mbox(mbox)
    for name in ("dsn_01.txt", "dsn_17.txt"):
        box.add(bounces.read_messages(CORPUS / name)[0])
    box.close()
    summaries = run(mbox, dry_run=True)
    assert [(s["kind"], s["message"]) for s in summaries] == [("hard", 0), ("soft", 1)]


def test_a_missing_file_is_a_one_line_error():
    with pytest.raises(CommandError, match=r"not a readable file: /nonexistent\.eml"):
        call_command("process_bounces", "/nonexistent.eml", "--json")


# --- reasons: only a bounce about the address itself suppresses ------------------------------------

# An RFC 3464 notice for one recipient, with the status and the server's words of our choosing.
DSN = """\
From: Mail Delivery System <MAILER-DAEMON@mx.example.net>
To: {return_path}
Subject: Undelivered Mail Returned to Sender
Message-ID: <{mail_id}@mx.example.net>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b1"

--b1
Content-Type: text/plain

Your message could not be delivered.

--b1
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net

Final-Recipient: rfc822; {recipient}
Action: failed
Status: {status}
Diagnostic-Code: smtp; {words}

--b1--
"""


def dsn(message, status: str, words: str, mail_id: str = "n1") -> bytes:
    return DSN.format(
        return_path=verp(message), recipient=message.contact.email, status=status, words=words, mail_id=mail_id
    ).encode()


@pytest.mark.django_db
def test_a_permanent_bounce_for_spam_is_recorded_but_does_not_suppress():
    message = MessageFactory()
    result = bounces.process_bytes(dsn(message, "5.7.1", "554 5.7.1 rejected: listed at zen.spamhaus.org"), source="t")
    assert (result.kind, result.reason) == ("hard", "spam")
    contact = Contact.objects.get(pk=message.contact_id)
    assert contact.status == Contact.Status.SUBSCRIBED
    assert not Suppression.objects.filter(email=contact.email).exists()
    bounced = Activity.objects.get(contact=contact, kind=Activity.Kind.BOUNCED_HARD)
    assert bounced.details["reason"] == "spam" and bounced.details["suppressed"] is False


@pytest.mark.django_db
def test_three_bounces_not_about_the_address_within_30_days_bounce_the_contact():
    message = MessageFactory()
    for number in range(3):
        bounces.process_bytes(dsn(message, "5.7.1", "550 5.7.1 blocked by policy", mail_id=f"p{number}"), source="t")
    assert Contact.objects.get(pk=message.contact_id).status == Contact.Status.BOUNCED


@pytest.mark.django_db
def test_a_mailbox_unknown_bounce_suppresses_and_records_its_reason():
    message = MessageFactory()
    bounces.process_bytes(dsn(message, "5.1.1", "550 5.1.1 user unknown"), source="t")
    contact = Contact.objects.get(pk=message.contact_id)
    assert contact.status == Contact.Status.BOUNCED
    bounced = Activity.objects.get(contact=contact, kind=Activity.Kind.BOUNCED_HARD)
    assert (bounced.details["reason"], bounced.details["status"]) == ("mailbox_unknown", "5.1.1")
    returned = ReturnedMail.objects.get(contact=contact)
    assert (returned.kind, returned.reason, returned.campaign_id) == ("hard", "mailbox_unknown", message.campaign_id)


@pytest.mark.django_db
def test_each_recipient_of_a_notice_is_judged_by_its_own_status():
    full = ContactFactory(email="sabineko@example.jp")
    unknown = ContactFactory(email="mikeneko@example.jp")
    # AOL: one notice, 5.2.2 mailbox full for one recipient and 5.1.1 user unknown for the other.
    run(Path(__file__).parent / "data" / "sisimai" / "rhost-aol-03.eml")
    assert Contact.objects.get(pk=unknown.pk).status == Contact.Status.BOUNCED
    assert Contact.objects.get(pk=full.pk).status == Contact.Status.SUBSCRIBED
    assert ReturnedMail.objects.get(contact=full).reason == "mailbox_full"


@pytest.mark.django_db
def test_the_reason_breakdown_counts_a_campaigns_bounces_by_kind_and_reason():
    first = MessageFactory()
    bounces.process_bytes(dsn(first, "5.1.1", "550 5.1.1 user unknown"), source="t")
    second = MessageFactory(campaign=first.campaign)
    bounces.process_bytes(dsn(second, "4.2.2", "452 4.2.2 mailbox full"), source="t")
    elsewhere = MessageFactory()
    bounces.process_bytes(dsn(elsewhere, "5.1.1", "550 5.1.1 user unknown"), source="t")
    assert bounces.reason_breakdown(first.campaign_id) == {"hard": {"mailbox_unknown": 1}, "soft": {"mailbox_full": 1}}


# --- complaint forgery ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_complaint_about_a_message_without_our_token_is_recorded_and_ignored(tmp_path):
    contact = ContactFactory(email="user@example.com")
    path = tmp_path / "arf.eml"
    path.write_text(ARF.format(recipient=contact.email, return_path="somespammer@example.net"))
    [summary] = run(path)
    assert summary["kind"] == "complaint" and "ignored" in summary
    assert Contact.objects.get(pk=contact.pk).status == Contact.Status.SUBSCRIBED
    assert not Activity.objects.filter(contact=contact).exists()
    returned = ReturnedMail.objects.get()
    assert (returned.kind, returned.accepted, returned.recipients) == ("complaint", False, ["user@example.com"])


@pytest.mark.django_db
def test_a_complaint_with_a_tampered_token_is_ignored(tmp_path):
    message = MessageFactory()
    genuine = verp(message)
    token = genuine.split("+", 1)[1].split("@", 1)[0]
    forged = genuine.replace(token, token[:-1] + ("A" if token[-1] != "A" else "B"))
    path = tmp_path / "arf.eml"
    path.write_text(ARF.format(recipient=message.contact.email, return_path=forged))
    run(path)
    assert Contact.objects.get(pk=message.contact_id).status == Contact.Status.SUBSCRIBED


@pytest.fixture(scope="module")
def dkim_keys(tmp_path_factory) -> tuple[str, str]:
    """Two fresh RSA-2048 key files: ours, and a stranger's."""
    paths = []
    for name in ("ours", "theirs"):
        path = tmp_path_factory.mktemp("dkim") / f"{name}.pem"
        subprocess.run(["openssl", "genrsa", "-out", str(path), "2048"], check=True, capture_output=True)
        paths.append(str(path))
    return paths[0], paths[1]


def signed_original(settings, key_path: str) -> bytes:
    """A message signed the way campaigns.delivery signs ours, with no token in it."""
    settings.DKIM_SELECTOR, settings.DKIM_DOMAIN, settings.DKIM_PRIVATE_KEY_PATH = "s1", "example.org", key_path
    data = (
        b"From: News <news@example.org>\r\nTo: user@example.com\r\nSubject: Spring sale\r\n"
        b"Date: Mon, 3 Mar 2025 09:00:00 +0000\r\nMessage-ID: <c1.m1@example.org>\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello\r\n"
    )
    return delivery.sign(data, "example.org")


def arf_quoting(original: bytes, recipient: str) -> bytes:
    """The RFC 5965 report above, quoting ``original`` (as a mailbox provider stores it)."""
    report = ARF.format(recipient=recipient, return_path="x@example.net").encode()
    head = report[: report.index(b"Return-Path:")]
    return head + original.replace(b"\r\n", b"\n") + b"\n--part1_13d.2e68ed54_boundary--\n"


@pytest.mark.django_db
def test_a_complaint_quoting_a_message_with_our_dkim_signature_is_accepted(settings, dkim_keys):
    contact = ContactFactory(email="user@example.com")
    original = signed_original(settings, dkim_keys[0])
    result = bounces.process_bytes(arf_quoting(original, contact.email), source="t")
    assert result.accepted
    assert Contact.objects.get(pk=contact.pk).status == Contact.Status.COMPLAINED


@pytest.mark.django_db
def test_a_complaint_quoting_a_message_signed_with_another_key_is_ignored(settings, dkim_keys):
    contact = ContactFactory(email="user@example.com")
    original = signed_original(settings, dkim_keys[1])
    settings.DKIM_PRIVATE_KEY_PATH = dkim_keys[0]
    result = bounces.process_bytes(arf_quoting(original, contact.email), source="t")
    assert not result.accepted
    assert Contact.objects.get(pk=contact.pk).status == Contact.Status.SUBSCRIBED


def test_an_auto_reply_known_only_by_its_vendor_header_is_an_auto_reply():
    raw = b"From: Ana Lima <ana@example.org>\nTo: x@example.com\nSubject: Re: Spring sale\nX-Autoreply: yes\n\nAway.\n"
    assert bounces.classify(message_from_bytes(raw)).kind == "auto_reply"


def test_a_person_writing_to_the_bounce_address_is_unknown():
    raw = b"From: Ana Lima <ana@example.org>\nTo: x@example.com\nSubject: Question\n\nWhere is my order 550?\n"
    assert bounces.classify(message_from_bytes(raw)).kind == "unknown"
