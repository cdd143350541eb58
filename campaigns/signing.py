"""DKIM signatures (RFC 6376) in RSA-SHA256 and Ed25519-SHA256 (RFC 8463), signed by OpenSSL.

dkimpy computes RSA in pure Python (about 9 ms a message, 80% of a worker's time); here the
private-key operation goes through ``cryptography`` (OpenSSL, well under a millisecond) and
dkimpy keeps the part it does well: relaxed header canonicalisation and header selection.
Headers are relaxed, the body simple: our bodies are quoted-printable with CRLF and no
trailing white space, so the relaxed body rewrite would only cost CPU.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from dkim import select_headers
from dkim.canonicalization import Relaxed, Simple

SIGNED_HEADERS = (b"from", b"to", b"subject", b"date", b"message-id", b"list-unsubscribe", b"list-unsubscribe-post")
# A header line ends at a CRLF not followed by white space (which would fold it).
_HEADER_END = re.compile(rb"\r\n(?![ \t])")


class DkimKeyError(ImproperlyConfigured):
    """A configured DKIM key cannot be read or is of the wrong type: no message can be signed."""


@dataclass(frozen=True)
class DkimKey:
    selector: str
    private_key: RSAPrivateKey | Ed25519PrivateKey
    # Blank: the From domain of each message.
    domain: str = ""

    @property
    def algorithm(self) -> bytes:
        return b"ed25519-sha256" if isinstance(self.private_key, Ed25519PrivateKey) else b"rsa-sha256"

    @property
    def key_type(self) -> str:
        return "ed25519" if isinstance(self.private_key, Ed25519PrivateKey) else "rsa"

    def public_key_base64(self) -> str:
        """The p= value of the DNS record: SubjectPublicKeyInfo for RSA, the raw key for Ed25519 (RFC 8463)."""
        public = self.private_key.public_key()
        if isinstance(public, Ed25519PublicKey):
            raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        else:
            raw = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        return base64.b64encode(raw).decode("ascii")

    def dns_record(self) -> str:
        """The TXT record to publish at ``<selector>._domainkey.<domain>``."""
        return f"v=DKIM1; k={self.key_type}; p={self.public_key_base64()}"

    def raw_signature(self, data: bytes) -> bytes:
        if isinstance(self.private_key, Ed25519PrivateKey):
            # RFC 8463 3: Ed25519 signs the SHA-256 digest of the canonical headers.
            return self.private_key.sign(hashlib.sha256(data).digest())
        return self.private_key.sign(data, padding.PKCS1v15(), hashes.SHA256())


@functools.cache
def load_key(path: str, selector: str, domain: str = "", ed25519: bool = False) -> DkimKey:
    """A PEM private key (PKCS#1 or PKCS#8), read once per process."""
    try:
        private_key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as error:
        raise DkimKeyError(f"DKIM key {path}: {error}") from None
    expected = Ed25519PrivateKey if ed25519 else (RSAPrivateKey, Ed25519PrivateKey)
    if not isinstance(private_key, expected):
        raise DkimKeyError(f"DKIM key {path}: expected {'an Ed25519' if ed25519 else 'an RSA'} private key")
    return DkimKey(selector, private_key, domain)


def configured_keys() -> list[DkimKey]:
    """The keys to sign with, from settings: the main key, then the optional Ed25519 one."""
    keys = []
    if settings.DKIM_SELECTOR:
        keys.append(load_key(settings.DKIM_PRIVATE_KEY_PATH, settings.DKIM_SELECTOR, settings.DKIM_DOMAIN))
    if settings.DKIM_ED25519_SELECTOR:
        keys.append(
            load_key(settings.DKIM_ED25519_PRIVATE_KEY_PATH, settings.DKIM_ED25519_SELECTOR, settings.DKIM_DOMAIN, True)
        )
    return keys


def _fold_tags(tags: list[bytes], first: int) -> bytes:
    """``tag=value;`` pairs on lines of at most 76 characters, the first one ``first`` shorter."""
    lines, line = [], b""
    for tag in tags:
        if line and len(line) + len(tag) + 2 > (76 - first if not lines else 76):
            lines.append(line)
            line = b""
        line += b" " + tag + b";"
    return b"\r\n".join([*lines, line])


def _fold_base64(value: bytes) -> bytes:
    """The b= value on lines of 72 characters; white space inside b= is ignored (RFC 6376 3.5)."""
    return b"\r\n ".join(value[i : i + 72] for i in range(0, len(value), 72))


def signature_header(key: DkimKey, headers: list[tuple[bytes, bytes]], body_hash: bytes, domain: str) -> bytes:
    """One ``DKIM-Signature:`` line (folded, CRLF-terminated) for the parsed headers."""
    signed = select_headers(headers, SIGNED_HEADERS)
    tags = [
        b"v=1",
        b"a=" + key.algorithm,
        b"c=relaxed/simple",
        b"d=" + domain.encode("ascii"),
        b"s=" + key.selector.encode("ascii"),
        b"t=" + str(int(time.time())).encode("ascii"),
        b"h=" + b":".join(name.lower() for name, _ in signed),
        b"bh=" + body_hash,
    ]
    value = _fold_tags(tags, len("DKIM-Signature:")) + b"\r\n b="
    # The signature header takes part in its own hash with an empty b= and no trailing CRLF.
    canonical = Relaxed.canonicalize_headers([*signed, (b"DKIM-Signature", value)])
    data = b"".join(name + b":" + text for name, text in canonical)[:-2]
    signature = base64.b64encode(key.raw_signature(data))
    return b"DKIM-Signature:" + value + _fold_base64(signature) + b"\r\n"


def sign(message: bytes, from_domain: str, keys: list[DkimKey] | None = None) -> bytes:
    """The message with one DKIM-Signature per key prepended (the configured keys by default)."""
    keys = configured_keys() if keys is None else keys
    if not keys:
        return message
    head, _, body = message.partition(b"\r\n\r\n")
    headers = [tuple(line.split(b":", 1)) for line in _HEADER_END.split(head) if b":" in line]
    headers = [(name, value + b"\r\n") for name, value in headers]
    body_hash = base64.b64encode(hashlib.sha256(Simple.canonicalize_body(body)).digest())
    signatures = [signature_header(key, headers, body_hash, key.domain or from_domain) for key in keys]
    return b"".join(signatures) + message
