"""Bounces, complaints, auto-replies and mailto unsubscribes coming back by mail.

tracking/bounce_parser.py reads each message (RFC 3464/3463/5965/3834 first, then the free
text of MTAs that ignore them, with flufl.bounce's detectors). Here a bounce is attributed
to our message through the signed VERP token in the return path
(``bounces+<token>@BOUNCE_DOMAIN``), or failing that a token in the original message's
headers quoted in the bounce, or the recipient address; a complaint only through what
proves the quoted message is ours (a signed token or our DKIM signature). Then the policy:
only a bounce about the address itself suppresses at once, and every returned message is
kept in ReturnedMail with its reason.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import imaplib
import logging
import mailbox
import re
from dataclasses import dataclass, field, replace
from datetime import timedelta
from email import message_from_bytes
from email.message import Message
from email.utils import getaddresses
from pathlib import Path

import dkim
from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from dkim.crypto import parse_pem_private_key

from contacts import services as contact_services
from contacts.models import Activity, Contact
from contacts.tokens import Purpose, TokenData, read_token
from tracking import bounce_parser
from tracking.bounce_parser import AUTO_REPLY, COMPLAINT, HARD, SOFT, UNKNOWN
from tracking.models import ReturnedMail

log = logging.getLogger(__name__)

UNSUBSCRIBE = "unsubscribe"
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
    # False for a complaint that proves nothing about our mail: recorded, never applied.
    accepted: bool = True
    note: str = ""
    # Each recipient's own (kind, status, reason) when a notice reports several.
    each: dict[str, tuple[str, str | None, str]] = field(default_factory=dict)

    def for_recipient(self, email: str) -> Classification:
        """This verdict as it stands for one recipient of a multi-recipient notice."""
        if email.lower() not in self.each:
            return self
        kind, status, reason = self.each[email.lower()]
        return replace(self, kind=kind, status=status, reason=reason)

    def as_json(self, file: str) -> dict:
        summary = {
            "file": file,
            "kind": self.kind,
            "recipients": self.recipients,
            "status": self.status,
            "reason": self.reason,
        }
        if not self.accepted:
            summary["ignored"] = self.note
        return summary


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
    if result.kind == COMPLAINT:
        _verify_complaint(message, result)
    else:
        result.token = _attribution(message, result.kind)
    result.message_id = str(message.get("Message-ID", "")).strip()
    return result


def _classify_kind(message: Message) -> Classification:
    # A mailto unsubscribe is ours to recognise before any bounce heuristics run.
    if _unsubscribe_token(message) is not None:
        return Classification(UNSUBSCRIBE, _addresses(message, "From"))
    report = bounce_parser.parse(message)
    return Classification(report.kind, report.recipients, report.status, reason=report.reason, each=report.each)


# --- attribution -----------------------------------------------------------------------------


def _attribution(message: Message, kind: str) -> TokenData | None:
    """Which of our messages this is about: the VERP return path we set, the unsubscribe
    token of a mailto List-Unsubscribe, or a token in the quoted original headers."""
    if kind == UNSUBSCRIBE:
        return _unsubscribe_token(message)
    return _token_in(_all_headers_text(message))


def _token_in(text: str) -> TokenData | None:
    """The first of our signed tokens in ``text``: a VERP address, else an unsubscribe link."""
    for token in re.findall(rf"bounces\+{SIGNED_ID}@", text):
        data = read_token(token, Purpose.BOUNCE)
        if data is not None:
            return data
    for token in re.findall(rf"/u/{SIGNED_ID}|unsubscribe\+{SIGNED_ID}@", text):
        data = read_token(next(filter(None, token)), Purpose.UNSUBSCRIBE)
        if data is not None:
            return data
    return None


def _verify_complaint(message: Message, result: Classification) -> None:
    """Anyone who can mail the bounce address can write an abuse report: act on one only
    when the message it quotes proves to be ours, by a signed token in its headers (the
    VERP return path, or the unsubscribe link) or by our valid DKIM signature. The token,
    when there is one, names the contact; the report's own addresses are only a fallback."""
    original = bounce_parser.original_message(message)
    if original is not None:
        result.token = _token_in("\n".join(str(value) for value in original.values()))
        if result.token is not None or signed_by_us(original.as_bytes()):
            return
    result.accepted = False
    result.note = "complaint about a message that carries neither our signed token nor our DKIM signature"


def signed_by_us(raw: bytes) -> bool:
    """Whether ``raw`` carries a DKIM signature that verifies with our own key (no DNS:
    we hold the key pair, so a valid signature can only be ours)."""
    if not settings.DKIM_SELECTOR:
        return False
    record = _our_dkim_record(settings.DKIM_PRIVATE_KEY_PATH)
    selector = settings.DKIM_SELECTOR.encode()

    def our_key(name: bytes, timeout: int = 5) -> bytes:
        return record if name.split(b".", 1)[0] == selector else b""

    verifier = dkim.DKIM(raw)
    signatures = [value for name, value in verifier.headers if name.lower() == b"dkim-signature"]
    for index, value in enumerate(signatures):
        if re.search(rb"(^|;)\s*s=\s*" + re.escape(selector) + rb"\s*(;|$)", value):
            try:
                if verifier.verify(idx=index, dnsfunc=our_key):
                    return True
            except dkim.DKIMException:
                continue
    return False


@functools.cache
def _our_dkim_record(private_key_path: str) -> bytes:
    """The DNS TXT record of our public key (an RFC 8017 RSAPublicKey, which dkimpy reads),
    derived from the private key file."""
    private = parse_pem_private_key(Path(private_key_path).read_bytes())
    public = _der(0x30, _der_integer(private["modulus"]) + _der_integer(private["publicExponent"]))
    return b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)


def _der(tag: int, body: bytes) -> bytes:
    size = len(body)
    if size < 0x80:
        return bytes([tag, size]) + body
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(length)]) + length + body


def _der_integer(value: int) -> bytes:
    # One spare bit keeps a positive number's high bit clear, as DER requires.
    return _der(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big"))


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

    A hard bounce for a reason about the address itself (mailbox or host unknown) bounces
    and suppresses the contact; any other bounce is recorded, and the third within 30 days
    bounces it. A verified complaint -> complained and suppressed; an unverified one is only
    recorded (see ReturnedMail). A mailto unsubscribe -> unsubscribed."""
    if result.kind in {AUTO_REPLY, UNKNOWN}:
        return 0
    contacts = _contacts(result) if result.accepted else []
    _record_returned(result, contacts, source)
    ids = {"campaign_id": result.token.campaign_id, "message_id": result.token.message_id} if result.token else {}
    for contact in contacts:
        _apply_to(contact, result.for_recipient(contact.email), source, ids)
    return len(contacts)


def _apply_to(contact: Contact, result: Classification, source: str, ids: dict) -> None:
    if result.kind == HARD and suppresses(result):
        if contact.status != Contact.Status.BOUNCED:
            details = {"status": result.status, "reason": result.reason, "source": source}
            contact_services.mark_bounced(contact, **details, **ids)
    elif result.kind == COMPLAINT:
        if contact.status != Contact.Status.COMPLAINED:
            contact_services.mark_complained(contact, source=source, **ids)
    elif result.kind in {HARD, SOFT}:
        record_bounce(contact, result, source=source, **ids)
    elif result.kind == UNSUBSCRIBE:
        contact_services.unsubscribe(contact, source="mailto", **ids)


def suppresses(result: Classification) -> bool:
    """Only a permanent failure of the address itself takes it out of the pool at once. A
    caller that gives no reason (an ESP's own hard-bounce verdict) is taken at its word."""
    return result.kind == HARD and (result.reason is None or result.reason in bounce_parser.RECIPIENT_REASONS)


def _record_returned(result: Classification, contacts: list[Contact], source: str) -> None:
    """One row per contact concerned (one without a contact when none is known)."""
    token = result.token
    ReturnedMail.objects.bulk_create(
        ReturnedMail(
            source=source,
            kind=own.kind,
            reason=own.reason or "",
            status=own.status or "",
            recipients=result.recipients,
            contact=contact,
            campaign_id=token.campaign_id if token else None,
            message_id=token.message_id if token else None,
            accepted=result.accepted,
            note=result.note,
            mail_id=result.message_id[:250],
        )
        for contact, own in ((c, result.for_recipient(c.email) if c else result) for c in (contacts or [None]))
    )


@transaction.atomic
def record_bounce(
    contact: Contact,
    result: Classification,
    *,
    source: str,
    campaign_id: int | None = None,
    message_id: int | None = None,
) -> None:
    """Record a bounce that does not suppress at once (soft, or hard for a reason other than
    the address), once per returned message; the third within 30 days bounces the contact."""
    event_id = "bounce:" + hashlib.sha256(f"{result.message_id}|{contact.pk}".encode()).hexdigest()[:40]
    if result.message_id and Activity.objects.filter(event_id=event_id).exists():
        return
    contact_services.record(
        contact,
        Activity.Kind.BOUNCED_HARD if result.kind == HARD else Activity.Kind.BOUNCED_SOFT,
        campaign_id=campaign_id,
        message_id=message_id,
        event_id=event_id if result.message_id else None,
        details={"status": result.status, "reason": result.reason, "source": source, "suppressed": False},
    )
    recent = Activity.objects.filter(
        contact=contact,
        kind__in=[Activity.Kind.BOUNCED_SOFT, Activity.Kind.BOUNCED_HARD],
        occurred_at__gte=timezone.now() - timedelta(days=SOFT_BOUNCE_DAYS),
    ).count()
    if recent >= SOFT_BOUNCE_LIMIT and contact.status != Contact.Status.BOUNCED:
        contact_services.mark_bounced(
            contact, campaign_id=campaign_id, message_id=message_id, source=source, soft_bounces=recent
        )


# The name ESP webhook handling (tracking/esp.py) records a 4.x.x event under.
record_soft_bounce = record_bounce


def reason_breakdown(campaign_id: int | None = None) -> dict[str, dict[str, int]]:
    """Accepted bounces per kind and reason, e.g. ``{"hard": {"mailbox_unknown": 3}}``,
    for one campaign or for everything; one grouped query."""
    rows = ReturnedMail.objects.filter(accepted=True, kind__in=[HARD, SOFT])
    if campaign_id is not None:
        rows = rows.filter(campaign_id=campaign_id)
    breakdown: dict[str, dict[str, int]] = {HARD: {}, SOFT: {}}
    for row in rows.values("kind", "reason").annotate(count=Count("id")).order_by("kind", "reason"):
        breakdown[row["kind"]][row["reason"] or "other"] = row["count"]
    return breakdown


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
