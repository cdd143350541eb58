"""Reading real returned mail: the public sisimai corpus (see data/sisimai/README.md) as a
whole, and the structures it taught us, one sample each."""

import json
from pathlib import Path

import pytest

from tracking import bounce_reasons, bounces
from tracking.bounce_reasons import BounceKind

CORPUS = Path(__file__).parent / "data" / "sisimai"
EXPECTED = json.loads((CORPUS / "expected.json").read_text())
NOT_BOUNCES = {"feedback", "vacation", "delivered"}
BOUNCES = {name: entries for name, entries in EXPECTED.items() if not {e["reason"] for e in entries} & NOT_BOUNCES}


def classify(name: str) -> bounces.Classification:
    [message] = bounces.read_messages(CORPUS / name)
    return bounces.classify(message)


def detected(name: str, result: bounces.Classification) -> bool:
    return result.kind in {BounceKind.HARD, BounceKind.SOFT} and len(result.recipients) == len(BOUNCES[name])


# --- the corpus as a whole ------------------------------------------------------------------------


def test_corpus_bounces_are_detected_with_their_recipients():
    results = {name: classify(name) for name in BOUNCES}
    found = [name for name, result in results.items() if detected(name, result)]
    assert len(found) / len(BOUNCES) >= 0.97


def test_corpus_bounces_are_hard_or_soft_by_their_status_class():
    right = 0
    for name, entries in BOUNCES.items():
        result = classify(name)
        hard = any(entry["status"].startswith("5") for entry in entries)
        right += detected(name, result) and (result.kind == BounceKind.HARD) == hard
    assert right / len(BOUNCES) >= 0.95


# --- standards and formats ---------------------------------------------------------------------------


def test_an_ses_complaint_notification_is_a_complaint_for_the_complained_recipient():
    result = classify("lhost-amazonses-11.eml")
    assert (result.kind, result.recipients) == ("complaint", ["complaint@simulator.amazonses.com"])


def test_a_delivery_success_notification_is_not_a_bounce():
    assert classify("lhost-amazonses-12.eml").kind == "unknown"


def test_recipient_blocks_run_together_without_blank_lines_are_each_read():
    result = classify("rhost-aol-03.eml")
    assert (result.kind, sorted(result.recipients)) == ("hard", ["mikeneko@example.jp", "sabineko@example.jp"])


def test_delivery_status_fields_pasted_into_the_text_are_read():
    result = classify("lhost-amazonworkmail-01.eml")
    assert (result.kind, result.recipients, result.status) == ("hard", ["kijitora@example.jp"], "5.1.1")


def test_a_free_text_notice_gives_the_recipient_and_the_status_the_server_quoted():
    result = classify("lhost-dragonfly-03.eml")
    assert (result.kind, result.recipients, result.status, result.reason) == (
        "hard",
        ["pseudo-local-part@yahoo-inc.example.com"],
        "5.7.9",
        "policy",
    )


def test_a_notice_whose_mime_boundary_never_appears_is_still_read():
    result = classify("rhost-franceptt-07.eml")
    assert (result.kind, result.recipients, result.status) == ("soft", ["xxxx@wanadoo.fr"], "4.0.0")


def test_the_report_inside_a_returned_bounce_is_not_the_notices_own():
    # A bounce of a bounce: the attached original carries a second, older status report.
    result = classify("rhost-yahooinc-03.eml")
    assert (result.kind, result.recipients) == ("hard", ["this-local-part-does-not-exist@yahoo.com"])


def test_a_notice_that_forwards_the_real_report_as_an_attachment_is_read_through_it():
    result = classify("lhost-x5-01.eml")
    assert (result.kind, result.recipients, result.status) == ("hard", ["kijitora@neko.example.org"], "5.1.1")


def test_the_address_a_notice_gives_for_help_is_not_a_recipient():
    assert classify("lhost-postfix-07.eml").recipients == ["kijitora@user.example.or.jp"]


def test_a_quoted_smtp_reply_without_enhanced_status_decides_the_class():
    # Sendmail v5: "421 ... Deferred" and the recipient only in the quoted original.
    result = classify("lhost-v5sendmail-01.eml")
    assert (result.kind, result.recipients) == ("soft", ["kijitora@example.com"])


def test_a_bounce_marked_auto_submitted_is_a_bounce_not_an_auto_reply():
    # RFC 3834 asks MTAs to mark their notices auto-replied too.
    assert classify("rhost-franceptt-04.eml").kind == "hard"


@pytest.mark.parametrize(
    ("status", "words", "reason"),
    [
        ("5.1.1", "", "mailbox_unknown"),
        ("5.0.0", "550 sorry, no such user here", "mailbox_unknown"),
        ("5.2.2", "", "mailbox_full"),
        ("4.2.0", "user is over quota", "mailbox_full"),
        ("5.7.1", "554 rejected: listed at zen.spamhaus.org", "spam"),
        ("5.1.2", "", "host_unknown"),
        ("5.7.1", "554 relay access denied", "policy"),
        ("4.7.0", "421 too many messages from your IP, rate limited", "rate_limited"),
        ("4.4.7", "", "expired"),
        ("5.0.0", "550 error", "other"),
    ],
)
def test_the_reason_comes_from_a_specific_status_else_from_the_servers_words(status, words, reason):
    assert bounce_reasons.reason_for(status, words) == reason
