"""Signed tokens for every link we put in a message: tracking, web version, unsubscribe,
preferences, double opt-in confirmation and the VERP bounce address.

A token is ``base64url(purpose | varints | mac)`` without padding. The varints are the
contact id, then message id, campaign id and link index, each stored as ``value + 1`` so
that 0 means "absent". The MAC is HMAC-SHA256 truncated to 96 bits, keyed by a key derived
from SECRET_KEY (and each of SECRET_KEY_FALLBACKS, so tokens in mail sent before a key
rotation keep working). Tokens carry ids only, never an email address, and a click token
carries an index into the campaign's frozen link table, never a URL.
"""

from __future__ import annotations

import hashlib
import hmac
from base64 import urlsafe_b64decode, urlsafe_b64encode
from dataclasses import dataclass
from enum import StrEnum

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

MAC_BYTES = 12
_KEY_SALT = b"rapport.contacts.tokens.v1"
# Longest payload we accept: purpose + four 64-bit varints (10 bytes each) + MAC.
_MAX_RAW = 1 + 4 * 10 + MAC_BYTES
# A hidden link the renderer may add to a message: only a machine follows it, so a click
# on it marks that message's clicks as a scanner's.
HONEYPOT_LINK_INDEX = 0xFFFF


class Purpose(StrEnum):
    OPEN = "o"
    CLICK = "c"
    VIEW = "v"
    UNSUBSCRIBE = "u"
    PREFERENCES = "p"
    CONFIRM = "d"
    BOUNCE = "b"
    # The link to a person's own data export; its message_id slot carries the export's id,
    # and the export row (privacy app) carries the expiry.
    EXPORT = "x"
    # A signup awaiting double opt-in, before the address is a contact: the contact id field
    # carries the pending signup's id and the link index field its random nonce.
    SIGNUP = "s"
    # A satisfaction answer: the link index carries the scale and the score as
    # ``scale * ANSWER_BASE + score`` (see answer_index).
    ANSWER = "a"


ANSWER_BASE = 16


def answer_index(scale: int, score: int) -> int:
    return scale * ANSWER_BASE + score


def answer_of(link_index: int | None) -> tuple[int, int] | None:
    """(scale, score) of an answer token's link index; None when it is not a valid answer."""
    if link_index is None:
        return None
    scale, score = divmod(link_index, ANSWER_BASE)
    return (scale, score) if (scale, score) in ANSWER_CHOICES else None


# The scales a satisfaction question offers: 1 to 5, or 0 to 10 (NPS).
ANSWER_SCALES = {5: range(1, 6), 10: range(0, 11)}
ANSWER_CHOICES = {(scale, score) for scale, scores in ANSWER_SCALES.items() for score in scores}


@dataclass(frozen=True, slots=True)
class TokenData:
    purpose: Purpose
    contact_id: int
    message_id: int | None = None
    campaign_id: int | None = None
    link_index: int | None = None


_macs: list[hmac.HMAC] | None = None


def _keyed_macs() -> list[hmac.HMAC]:
    """One keyed HMAC per secret (current first), built once and copied per token."""
    global _macs  # a process-wide cache, reset when settings change
    if _macs is None:
        secrets = [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
        _macs = [
            hmac.new(hmac.new(_KEY_SALT, secret.encode(), hashlib.sha256).digest(), digestmod=hashlib.sha256)
            for secret in secrets
        ]
    return _macs


@receiver(setting_changed)
def _clear_key_cache(*, setting: str, **kwargs) -> None:
    global _macs
    if setting in {"SECRET_KEY", "SECRET_KEY_FALLBACKS"}:
        _macs = None


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _optional(value: int | None) -> bytes:
    return _varint(0 if value is None else value + 1)


def _read_varints(data: bytes) -> list[int] | None:
    values, value, shift = [], 0, 0
    for byte in data:
        value |= (byte & 0x7F) << shift
        if byte & 0x80:
            shift += 7
            if shift > 63:
                return None
            continue
        values.append(value)
        value, shift = 0, 0
    return values if shift == 0 else None


def _encode(raw: bytes) -> str:
    return urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _sign(payload: bytes) -> str:
    mac = _keyed_macs()[0].copy()
    mac.update(payload)
    return _encode(payload + mac.digest()[:MAC_BYTES])


def make_token(data: TokenData) -> str:
    """A compact URL-safe token ([A-Za-z0-9_-]) for ``data``."""
    payload = (
        Purpose(data.purpose).value.encode()
        + _varint(data.contact_id)
        + _optional(data.message_id)
        + _optional(data.campaign_id)
        + _optional(data.link_index)
    )
    return _sign(payload)


def click_tokens(contact_id: int, message_id: int | None, campaign_id: int | None, link_count: int) -> list[str]:
    """Click tokens for links 0..link_count-1 of one recipient's message.

    The renderer calls this once per recipient, so the shared prefix is hashed once and
    only the link index is hashed per link.
    """
    prefix = b"c" + _varint(contact_id) + _optional(message_id) + _optional(campaign_id)
    keyed = _keyed_macs()[0].copy()
    keyed.update(prefix)
    tokens = []
    for index in range(link_count):
        suffix = _varint(index + 1)
        mac = keyed.copy()
        mac.update(suffix)
        tokens.append(_encode(prefix + suffix + mac.digest()[:MAC_BYTES]))
    return tokens


def read_token(token: str, purpose: Purpose) -> TokenData | None:
    """The data of a genuine token of ``purpose``; None for anything forged, truncated,
    malformed or made for another purpose."""
    if not token or len(token) > 80 or not token.isascii():
        return None
    try:
        raw = urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except ValueError:
        return None
    if len(raw) <= MAC_BYTES + 1 or len(raw) > _MAX_RAW or _encode(raw) != token:
        return None
    payload, given = raw[:-MAC_BYTES], raw[-MAC_BYTES:]
    if payload[:1] != purpose.value.encode():
        return None
    if not any(_verify(keyed, payload, given) for keyed in _keyed_macs()):
        return None
    values = _read_varints(payload[1:])
    if values is None or len(values) != 4:
        return None
    contact_id, message, campaign, link = values
    return TokenData(
        purpose=purpose,
        contact_id=contact_id,
        message_id=message - 1 if message else None,
        campaign_id=campaign - 1 if campaign else None,
        link_index=link - 1 if link else None,
    )


def _verify(keyed: hmac.HMAC, payload: bytes, given: bytes) -> bool:
    mac = keyed.copy()
    mac.update(payload)
    return hmac.compare_digest(mac.digest()[:MAC_BYTES], given)
