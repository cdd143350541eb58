"""Reading returned mail: which recipients failed, with which status, and why.

The standards come first: RFC 5965 feedback reports are complaints; RFC 3464 delivery-status
fields give each recipient's action and RFC 3463 status, whether they arrive in their own
``message/delivery-status`` part (as they should) or pasted into the text of a notice (as
Amazon WorkMail, forwarded bounces and some appliances do). Amazon SES's JSON notifications
are read as such. Everything else is a free-text failure notice (tracking/bounce_text.py).
The kinds and reasons are in tracking/bounce_reasons.py; what is the notice's own text and
what is the original it quotes, in tracking/notice_parts.py.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from email import message_from_string
from email.message import Message
from email.utils import getaddresses

from tracking.bounce_reasons import BounceKind, Failure, status_code
from tracking.bounce_text import SYSTEM_SENDER, flufl_failures, looks_like_failure_notice, text_failures
from tracking.notice_parts import (
    ADDRESS_RE,
    bare_address,
    decoded_part,
    decoded_text,
    has_part,
    header_blocks,
    header_text,
    notice_text,
    original_message,
    outside_originals,
    own_parts,
    unique_addresses,
)

DSN_FIELD = re.compile(r"^\s*(Final-Recipient|Original-Recipient|Action|Status|Diagnostic-Code)\s*:\s*(.*)$", re.I)


@dataclass
class Report:
    kind: BounceKind
    recipients: list[str] = field(default_factory=list)
    status: str | None = None
    reason: str | None = None
    # Each recipient's own (kind, status, reason), by lower-cased address.
    each: dict[str, tuple[str, str | None, str]] = field(default_factory=dict)


def parse(message: Message) -> Report:
    """What kind of returned mail ``message`` is, for which recipients, with which status."""
    if _is_complaint(message):
        return Report(BounceKind.COMPLAINT, _arf_recipients(message))
    ses = _ses_notification(message)
    if ses is not None:
        return ses
    failures, delivered = _dsn_failures(message)
    if not failures and not delivered:
        flufl = flufl_failures(message)
        if any(flufl) or looks_like_failure_notice(message):
            failures = text_failures(message, flufl)
    if failures:
        return _report(failures)
    if delivered:
        return Report(BounceKind.UNKNOWN)
    if _is_auto_reply(message):
        return Report(
            BounceKind.AUTO_REPLY, unique_addresses(addr for _, addr in getaddresses(message.get_all("From", [])))
        )
    return Report(BounceKind.UNKNOWN)


def _report(failures: list[Failure]) -> Report:
    """One verdict for the message: hard when any recipient failed for good, with the
    first specific reason among those failures; and each recipient's own verdict."""
    each = {
        failure.recipient.lower(): (
            BounceKind.SOFT if failure.temporary else BounceKind.HARD,
            failure.status,
            failure.reason,
        )
        for failure in failures
    }
    chosen = [failure for failure in failures if not failure.temporary] or failures
    reasons = [each[failure.recipient.lower()][2] for failure in chosen]
    return Report(
        BounceKind.SOFT if chosen[0].temporary else BounceKind.HARD,
        unique_addresses(failure.recipient for failure in failures),
        next((failure.status for failure in chosen if failure.status), None),
        next((reason for reason in reasons if reason != "other"), "other"),
        each,
    )


# --- RFC 5965 -----------------------------------------------------------------------------------


def _report_type(message: Message) -> str:
    for part in outside_originals(message):
        if part.get_content_type() == "multipart/report":
            return (part.get_param("report-type") or "").lower()
    return ""


def _is_complaint(message: Message) -> bool:
    """An RFC 5965 report, one whose feedback fields arrive as plain text, or Microsoft's
    JMRP report (its original recipient in X-HmXmrOriginalRecipient)."""
    if _report_type(message) == "feedback-report" or has_part(message, "message/feedback-report"):
        return True
    if message.get("X-HmXmrOriginalRecipient"):
        return True
    return any(
        re.search(r"^Feedback-Type:\s*\w+", decoded_part(part), re.M)
        and re.search(r"^Version:\s*1", decoded_part(part), re.M)
        for part in own_parts(message)
    )


def _arf_recipients(message: Message) -> list[str]:
    """RFC 5965: the feedback report's Original-Rcpt-To, else JMRP's original recipient,
    else the quoted message's To."""
    for part in outside_originals(message):
        if part.get_content_type() == "message/feedback-report":
            found = [
                bare_address(value) for block in header_blocks(part) for value in block.get_all("Original-Rcpt-To", [])
            ]
            if found:
                return unique_addresses(found)
    fields = "\n".join(decoded_part(part) for part in own_parts(message))
    found = re.findall(r"^Original-Rcpt-To:\s*<?([^>\s]+@[^>\s]+)>?", fields, re.M | re.I)
    found += [addr for _, addr in getaddresses(message.get_all("X-HmXmrOriginalRecipient", []))]
    if found:
        return unique_addresses(found)
    original = original_message(message)
    return unique_addresses(addr for _, addr in getaddresses(original.get_all("To", []))) if original else []


# --- Amazon SES notifications --------------------------------------------------------------------


def _ses_notification(message: Message) -> Report | None:
    """An SES notification delivered by mail (SNS email subscription): a JSON document with
    ``notificationType`` Bounce, Complaint or Delivery."""
    text = decoded_text(message)
    start = text.find('{"notificationType"')
    if start < 0:
        return None
    # Sendmail folds lines longer than 990 characters with "!\n ": undo it before decoding.
    document = re.sub(r"!\r?\n ", "", text[start:])
    try:
        data, _ = json.JSONDecoder().raw_decode(document)
    except ValueError:
        return None
    kind = str(data.get("notificationType", "")).lower()
    if kind == "complaint":
        return Report(
            BounceKind.COMPLAINT,
            unique_addresses(r.get("emailAddress", "") for r in data["complaint"]["complainedRecipients"]),
        )
    if kind != "bounce":
        return Report(BounceKind.UNKNOWN)
    bounce = data.get("bounce", {})
    temporary = bounce.get("bounceType") != "Permanent"
    failures = [
        Failure(r.get("emailAddress", ""), status_code(r.get("status", "")), temporary, r.get("diagnosticCode", ""))
        for r in bounce.get("bouncedRecipients", [])
    ]
    return _report(failures) if failures else None


# --- RFC 3464 ------------------------------------------------------------------------------------


def _dsn_failures(message: Message) -> tuple[list[Failure], bool]:
    """Per-recipient blocks of delivery-status fields: from the notice's own
    message/delivery-status parts, else from those of a notice it forwards as an attachment,
    else from its text; also whether any recipient was delivered."""
    blocks = _status_blocks(outside_originals(message))
    if not any(_block_recipient(block) for block in blocks):
        blocks = _status_blocks(message.walk())
    if not any(_block_recipient(block) for block in blocks):
        blocks = _text_blocks(notice_text(message, cut=False))
    failures, delivered = [], False
    context = notice_text(message) if blocks else ""
    for block in blocks:
        recipient = _block_recipient(block)
        if not recipient:
            continue
        action = str(block.get("Action", "")).strip().lower()
        diagnostic = " ".join(str(block.get(name, "")) for name in ("Diagnostic-Code", "Status"))
        status = status_code(str(block.get("Status", ""))) or status_code(diagnostic)
        if action in {"delivered", "relayed", "expanded"}:
            delivered = True
            continue
        if action not in {"failed", "delayed"} and not (status and status[0] in "45"):
            continue
        temporary = status[0] == "4" if status and status[0] in "45" else action == "delayed"
        failures.append(Failure(recipient, status, temporary, diagnostic, context))
    return _merge(failures), delivered


def _status_blocks(parts) -> list[Message]:
    return [
        recipient_block
        for part in parts
        if _is_status_part(part)
        for block in header_blocks(part)
        for recipient_block in _split_recipients(block)
    ]


def _split_recipients(block: Message) -> list[Message]:
    """Per-recipient blocks out of one, for MTAs that leave out the blank line between them:
    a new block starts when a per-recipient field comes round again."""
    per_recipient = {"final-recipient", "original-recipient", "action", "status"}
    blocks, seen = [Message()], set()
    for name, value in block.items():
        if name.lower() in per_recipient and name.lower() in seen:
            blocks.append(Message())
            seen = set()
        seen.add(name.lower())
        blocks[-1][name] = value
    return blocks


def _is_status_part(part: Message) -> bool:
    # message/global-delivery-status is RFC 6533's UTF-8 variant.
    return part.get_content_type() in {"message/delivery-status", "message/global-delivery-status"}


def _text_blocks(text: str) -> list[Message]:
    """Delivery-status blocks pasted into text, possibly quoted with "> " by a forward."""
    lines = [re.sub(r"^(>\s?)+", "", line) for line in text.splitlines()]
    blocks, current = [], []
    for line in [*lines, ""]:
        if DSN_FIELD.match(line) or (current and line[:1] in " \t" and line.strip()):
            current.append(line.strip() if DSN_FIELD.match(line) else " " + line.strip())
            continue
        if current and not re.match(r"^[\w-]+:", line):
            blocks.append(message_from_string("\n".join(current).replace("\n ", " ") + "\n\n"))
            current = []
    return blocks


def _block_recipient(block: Message) -> str:
    # Original-Recipient is the address as it was sent; Final-Recipient may be a rewrite.
    for name in ("Original-Recipient", "Final-Recipient"):
        for value in block.get_all(name, []):
            address = bare_address(str(value))
            if ADDRESS_RE.fullmatch(address):
                return address
    return ""


def _merge(failures: list[Failure]) -> list[Failure]:
    """One failure per recipient: the permanent one when a recipient appears twice."""
    merged: dict[str, Failure] = {}
    for failure in failures:
        key = failure.recipient.lower()
        if key not in merged or (merged[key].temporary and not failure.temporary):
            merged[key] = failure
    return list(merged.values())


# --- RFC 3834 ---------------------------------------------------------------------------------------

AUTO_REPLY_SUBJECT = re.compile(
    r"^\s*(auto(matic)?[ -]?(reply|response|antwort|risposta|respuesta)|auto:|automatische antwort|"
    r"out of (the )?office|abwesenheit|absence|absent|vacation|r[ée]ponse automatique|"
    r"risposta automatica|respuesta autom[aá]tica|away from|自動応答|自動返信)",
    re.I,
)


def _is_auto_reply(message: Message) -> bool:
    """RFC 3834 Auto-Submitted: auto-replied, the older vendor headers, or an out-of-office
    subject; never a notice from the mail system itself."""
    if SYSTEM_SENDER.search(str(message.get("From", ""))):
        return False
    if str(message.get("Auto-Submitted", "no")).strip().lower().startswith("auto-replied"):
        return True
    vendor_headers = ("X-Autoreply", "X-Autorespond", "X-Autoresponder", "X-Vacation", "X-Autogenerated")
    if any(message.get(name) for name in vendor_headers):
        return True
    if str(message.get("Precedence", "")).strip().lower() == "auto_reply":
        return True
    return bool(AUTO_REPLY_SUBJECT.search(header_text(message, "Subject")))
