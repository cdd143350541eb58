"""Bounces, complaints, auto-replies and mailto unsubscribes coming back by mail.

Classification leans on libraries: the stdlib email parser reads RFC 3464 delivery status
notifications (``message/delivery-status``) and RFC 5965 abuse reports
(``message/feedback-report``); flufl.bounce recognises the many non-standard bounce
formats MTAs still send. A bounce is attributed to our message through the signed VERP
token in the return path (``bounces+<token>@BOUNCE_DOMAIN``), or failing that through the
tokens in the original message's headers quoted in the bounce, or the recipient address.
"""

from __future__ import annotations

import hashlib
import imaplib
import logging
import mailbox
import re
from dataclasses import dataclass, field
from datetime import timedelta
from email import message_from_bytes
from email.message import Message
from email.utils import getaddresses
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from contacts import services as contact_services
from contacts.models import Activity, Contact
from contacts.tokens import Purpose, TokenData, read_token
from tracking import bounce_parser

log = logging.getLogger(__name__)

HARD, SOFT, COMPLAINT, AUTO_REPLY, UNSUBSCRIBE, UNKNOWN = (
    "hard",
    "soft",
    "complaint",
    "auto_reply",
    "unsubscribe",
    "unknown",
)
SOFT_BOUNCE_LIMIT, SOFT_BOUNCE_DAYS = 3, 30
SIGNED_ID = r"([A-Za-z0-9_-]{16,80})"


@dataclass
class Classification:
    kind: str
    recipients: list[str] = field(default_factory=list)
    status: str | None = None
    token: TokenData | None = None
    message_id: str = ""
    reason: str | None = None

    def as_json(self, file: str) -> dict:
        return {
            "file": file,
            "kind": self.kind,
            "recipients": self.recipients,
            "status": self.status,
            "reason": self.reason,
        }


# --- reading ----------------------------------------------------------------------------


def read_messages(path: Path) -> list[Message]:
    """The messages in one file: an mbox (starts with a "From " line) or a single message."""
    with path.open("rb") as handle:
        is_mbox = handle.read(5) == b"From "
    if is_mbox:
        box = mailbox.mbox(path, factory=None, create=False)
        try:
            return [message_from_bytes(box.get_bytes(key)) for key in box.iterkeys()]
        finally:
            box.close()
    return [message_from_bytes(path.read_bytes())]


# --- classifying --------------------------------------------------------------------------


def classify(message: Message) -> Classification:
    """What kind of returned mail this is, for whom, with which status code."""
    result = _classify_kind(message)
    result.token = _attribution(message, result.kind)
    result.message_id = str(message.get("Message-ID", "")).strip()
    return result


def _classify_kind(message: Message) -> Classification:
    # A mailto unsubscribe is ours to recognise before any bounce heuristics run.
    if _unsubscribe_token(message) is not None:
        return Classification(UNSUBSCRIBE, _addresses(message, "From"))
    report = bounce_parser.parse(message)
    return Classification(report.kind, report.recipients, report.status, reason=report.reason)


# --- attribution -----------------------------------------------------------------------------


def _attribution(message: Message, kind: str) -> TokenData | None:
    """Which of our messages this is about: the VERP return path we set, the unsubscribe
    token of a mailto List-Unsubscribe, or a token in the quoted original headers."""
    if kind == UNSUBSCRIBE:
        return _unsubscribe_token(message)
    raw = _all_headers_text(message)
    for token in re.findall(rf"bounces\+{SIGNED_ID}@", raw):
        data = read_token(token, Purpose.BOUNCE)
        if data is not None:
            return data
    for token in re.findall(rf"/u/{SIGNED_ID}|unsubscribe\+{SIGNED_ID}@", raw):
        data = read_token(next(filter(None, token)), Purpose.UNSUBSCRIBE)
        if data is not None:
            return data
    return None


def _unsubscribe_token(message: Message) -> TokenData | None:
    """A message sent to the mailto: List-Unsubscribe address: ``unsubscribe@BOUNCE_DOMAIN``
    with the token as subject (what campaigns/delivery.py writes), or ``unsubscribe+<token>@``."""
    envelope = " ".join(
        str(value)
        for name in ("To", "Delivered-To", "X-Original-To", "Envelope-To")
        for value in message.get_all(name, [])
    )
    candidates = re.findall(rf"unsubscribe\+{SIGNED_ID}@", envelope)
    if re.search(rf"\bunsubscribe@{re.escape(settings.BOUNCE_DOMAIN)}", envelope, re.I):
        candidates += re.findall(SIGNED_ID, str(message.get("Subject", "")))
    for token in candidates:
        data = read_token(token, Purpose.UNSUBSCRIBE)
        if data is not None:
            return data
    return None


def _all_headers_text(message: Message) -> str:
    """Headers of the bounce and of every quoted original (message/rfc822, text/rfc822-headers)."""
    chunks = [str(value) for value in message.values()]
    original = bounce_parser.original_message(message)
    if original is not None:
        chunks += [str(value) for value in original.values()]
    for part in message.walk():
        if part.get_content_type() in {"text/rfc822-headers", "text/plain"}:
            payload = part.get_payload(decode=True) or b""
            chunks.append(payload.decode("utf-8", errors="replace"))
    return "\n".join(chunks)


# --- small helpers --------------------------------------------------------------------------


def status_code(text: str) -> str | None:
    """The first RFC 3463 status code in ``text`` (an ESP's MTA response, a DSN field)."""
    match = bounce_parser.STATUS_RE.search(text)
    return match.group(0) if match else None


def _bare(value: str) -> str:
    """``rfc822; User@Example.com`` -> ``User@Example.com``."""
    return value.split(";", 1)[-1].strip().strip("<>").strip()


def _addresses(message: Message, header: str) -> list[str]:
    return _unique(addr for _, addr in getaddresses(message.get_all(header, [])))


def _unique(addresses) -> list[str]:
    seen: dict[str, None] = {}
    for address in addresses:
        if address and "@" in address:
            seen.setdefault(address.strip(), None)
    return list(seen)


# --- applying the policy ----------------------------------------------------------------------


def _contacts(result: Classification) -> list[Contact]:
    if result.token is not None:
        return list(Contact.objects.filter(pk=result.token.contact_id))
    emails = [address.lower() for address in result.recipients]
    return list(Contact.objects.filter(email__in=emails)) if emails else []


def apply(result: Classification, *, source: str = "bounce") -> int:
    """Update the contacts concerned by one classified message; returns how many were touched.

    hard -> bounced and suppressed; complaint -> complained and suppressed; soft -> recorded,
    and bounced at the third within 30 days; a mailto unsubscribe -> unsubscribed."""
    if result.kind in {AUTO_REPLY, UNKNOWN}:
        return 0
    contacts = _contacts(result)
    ids = {"campaign_id": result.token.campaign_id, "message_id": result.token.message_id} if result.token else {}
    for contact in contacts:
        if result.kind == HARD:
            if contact.status != Contact.Status.BOUNCED:
                contact_services.mark_bounced(contact, status=result.status, source=source, **ids)
        elif result.kind == COMPLAINT:
            if contact.status != Contact.Status.COMPLAINED:
                contact_services.mark_complained(contact, source=source, **ids)
        elif result.kind == SOFT:
            record_soft_bounce(contact, result, source=source, **ids)
        elif result.kind == UNSUBSCRIBE:
            contact_services.unsubscribe(contact, source="mailto", **ids)
    return len(contacts)


@transaction.atomic
def record_soft_bounce(
    contact: Contact,
    result: Classification,
    *,
    source: str,
    campaign_id: int | None = None,
    message_id: int | None = None,
) -> None:
    """Record a soft bounce once per returned message; the third within 30 days is a hard one."""
    event_id = "bounce:" + hashlib.sha256(f"{result.message_id}|{contact.pk}".encode()).hexdigest()[:40]
    if result.message_id and Activity.objects.filter(event_id=event_id).exists():
        return
    contact_services.record(
        contact,
        Activity.Kind.BOUNCED_SOFT,
        campaign_id=campaign_id,
        message_id=message_id,
        event_id=event_id if result.message_id else None,
        details={"status": result.status, "source": source},
    )
    recent = Activity.objects.filter(
        contact=contact,
        kind=Activity.Kind.BOUNCED_SOFT,
        occurred_at__gte=timezone.now() - timedelta(days=SOFT_BOUNCE_DAYS),
    ).count()
    if recent >= SOFT_BOUNCE_LIMIT and contact.status != Contact.Status.BOUNCED:
        contact_services.mark_bounced(
            contact, campaign_id=campaign_id, message_id=message_id, source=source, soft_bounces=recent
        )


def process_bytes(raw: bytes, *, source: str) -> Classification:
    """Classify one raw message and apply the policy (the IMAP poller and inbound webhooks)."""
    result = classify(message_from_bytes(raw))
    apply(result, source=source)
    return result


def process_path(path: Path, *, dry_run: bool) -> list[dict]:
    """Classify every message in one file (a single message or an mbox) and, unless
    ``dry_run``, apply the policy; one JSON-ready summary per message."""
    summaries = []
    messages = read_messages(path)
    for index, message in enumerate(messages):
        result = classify(message)
        if not dry_run:
            apply(result, source="process_bounces")
        summary = result.as_json(str(path))
        if len(messages) > 1:
            summary["message"] = index
        summaries.append(summary)
    return summaries


# --- IMAP -------------------------------------------------------------------------------------


def poll_mailbox() -> int:
    """Process unseen messages in the bounce mailbox, marking each seen once applied;
    returns how many. Does nothing while IMAP_HOST is unset."""
    if not settings.IMAP_HOST:
        return 0
    connect = imaplib.IMAP4_SSL if settings.IMAP_SSL else imaplib.IMAP4
    processed = 0
    with connect(settings.IMAP_HOST, settings.IMAP_PORT, timeout=30) as imap:
        imap.login(settings.IMAP_USER, settings.IMAP_PASSWORD)
        imap.select(settings.IMAP_FOLDER)
        _, found = imap.uid("SEARCH", None, "UNSEEN")
        for uid in (found[0] or b"").split():
            _, data = imap.uid("FETCH", uid, "(BODY.PEEK[])")
            raw = next((item[1] for item in data if isinstance(item, tuple)), None)
            if raw is None:
                continue
            try:
                process_bytes(raw, source="imap")
            except Exception:
                log.exception("bounce mailbox: message %s not processed", uid)
                continue
            imap.uid("STORE", uid, "+FLAGS", "(\\Seen)")
            processed += 1
    return processed
