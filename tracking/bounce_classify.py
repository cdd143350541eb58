"""Classifying returned mail and attributing it to the message it is about.

tracking/bounce_parser.py reads each message (RFC 3464/3463/5965/3834 first, then the free
text of MTAs that ignore them, with flufl.bounce's detectors). Here a bounce is attributed
to our message through the signed VERP token in the return path
(``bounces+<token>@BOUNCE_DOMAIN``), or failing that a token in the original message's
headers quoted in the bounce, or the recipient address; a complaint only through what
proves the quoted message is ours (a signed token or our DKIM signature).
"""

from __future__ import annotations

import base64
import functools
import mailbox
import re
from dataclasses import dataclass, field, replace
from email import message_from_bytes
from email.message import Message
from email.utils import getaddresses
from pathlib import Path

import dkim
from django.conf import settings
from dkim.crypto import parse_pem_private_key

from contacts.tokens import Purpose, TokenData, read_token
from tracking import bounce_parser
from tracking.bounce_reasons import BounceKind
from tracking.notice_parts import original_message

SIGNED_ID = r"([A-Za-z0-9_-]{16,80})"


@dataclass
class Classification:
    kind: BounceKind
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


def classify(message: Message) -> Classification:
    """What kind of returned mail this is, for whom, with which status code."""
    result = _classify_kind(message)
    if result.kind == BounceKind.COMPLAINT:
        _verify_complaint(message, result)
    else:
        result.token = _attribution(message, result.kind)
    result.message_id = str(message.get("Message-ID", "")).strip()
    return result


def _classify_kind(message: Message) -> Classification:
    # A mailto unsubscribe is ours to recognise before any bounce heuristics run.
    if _unsubscribe_token(message) is not None:
        return Classification(BounceKind.UNSUBSCRIBE, _addresses(message, "From"))
    report = bounce_parser.parse(message)
    return Classification(report.kind, report.recipients, report.status, reason=report.reason, each=report.each)


def _attribution(message: Message, kind: str) -> TokenData | None:
    """Which of our messages this is about: the VERP return path we set, the unsubscribe
    token of a mailto List-Unsubscribe, or a token in the quoted original headers."""
    if kind == BounceKind.UNSUBSCRIBE:
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
    original = original_message(message)
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
    original = original_message(message)
    if original is not None:
        chunks += [str(value) for value in original.values()]
    for part in message.walk():
        if part.get_content_type() in {"text/rfc822-headers", "text/plain"}:
            payload = part.get_payload(decode=True) or b""
            chunks.append(payload.decode("utf-8", errors="replace"))
    return "\n".join(chunks)


def _addresses(message: Message, header: str) -> list[str]:
    return _unique(addr for _, addr in getaddresses(message.get_all(header, [])))


def _unique(addresses) -> list[str]:
    seen: dict[str, None] = {}
    for address in addresses:
        if address and "@" in address:
            seen.setdefault(address.strip(), None)
    return list(seen)
