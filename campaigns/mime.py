"""A message as RFC 5322 bytes: header encoding (RFC 2047, folding, IDNA) and the assembly of
a multipart/alternative message from a per-version template and one recipient's parts.

The stdlib ``email`` builder costs milliseconds per message, so the headers common to every
recipient of a campaign are encoded once into a :class:`MessageTemplate` and each message
is assembled from bytes. Every header value is checked for CR/LF before anything is sent.
"""

from __future__ import annotations

import binascii
import re
import secrets
from dataclasses import dataclass, field
from email.header import Header
from email.utils import formataddr
from typing import Protocol


class UnsendableError(ValueError):
    """This message cannot be sent as it stands; retrying will not help."""


class HeaderInjectionError(UnsendableError):
    """A header value carried CR or LF: refused before anything is sent."""


class Content(Protocol):
    subject: str
    html: str
    text: str


def clean(value: str, name: str = "header") -> str:
    if "\r" in value or "\n" in value:
        raise HeaderInjectionError(f"{name}: line break in header value refused")
    return value


# An encoded-word may be 75 characters (RFC 2047 2); 68 leaves room for "List-Id: " on a 78-character line.
_WORD_LENGTH = 68
_LINE_LENGTH = 78
# RFC 5322 specials: a display name holding one of them must be a quoted-string.
_SPECIALS = re.compile(r'[][\\()<>@,:;".]')


def encode_words(value: str) -> str:
    """RFC 2047 encoded-words (UTF-8) separated by single spaces, on one line, when ``value`` is not
    plain ASCII; the header folder below breaks the line between words. The raw value is checked first:
    the line breaks of our own encoding are folding, not injection."""
    clean(value)
    if value.isascii():
        return value
    return Header(value, "utf-8", maxlinelen=_WORD_LENGTH).encode(linesep="\r\n").replace("\r\n ", " ")


def encode_header(value: str) -> str:
    """A free-text header value (the subject): encoded-words when not plain ASCII."""
    return encode_words(value)


def phrase(name: str) -> str:
    """A display name for From or List-Id: encoded-words, a quoted-string when it has specials, else as is."""
    clean(name, "name")
    if not name.isascii():
        return encode_words(name)
    if _SPECIALS.search(name):
        return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return name


def header_line(name: str, value: str) -> str:
    """``Name: value`` with CRLF, folded at spaces (RFC 5322 2.2.3) so that lines stay within 78
    characters where a space allows; ``value`` must already be ASCII without line breaks."""
    line = f"{name}:"
    lines = []
    for word in clean(value, name).split(" "):
        if len(line) + 1 + len(word) > _LINE_LENGTH and line.strip() and line != f"{name}:":
            lines.append(line)
            line = ""
        line += f" {word}"
    lines.append(line)
    return "\r\n".join(lines) + "\r\n"


def ascii_address(address: str) -> str:
    """The address with its domain in IDNA (punycode) form."""
    local, _, domain = clean(address, "address").rpartition("@")
    if not local.isascii():
        raise UnsendableError(f"{address}: non-ASCII local part needs SMTPUTF8, which we do not use")
    if not domain.isascii():
        domain = domain.encode("idna").decode("ascii")
    return f"{local}@{domain}"


def format_address(name: str, address: str) -> str:
    return formataddr((clean(name, "name"), ascii_address(address)), charset="utf-8")


def _qp(body: str) -> bytes:
    """Quoted-printable UTF-8 with CRLF line ends (C implementation in binascii)."""
    encoded = binascii.b2a_qp(body.replace("\r\n", "\n").encode("utf-8"), istext=True)
    return encoded.replace(b"\n", b"\r\n")


@dataclass(slots=True)
class Outgoing:
    """One message ready for a transport: envelope, headers and content."""

    envelope_from: str
    recipient: str
    headers: dict[str, str]
    content: Content
    template: MessageTemplate
    campaign_id: int | None = None
    # The Message row; None for test sends.
    message_id: int | None = None

    def as_bytes(self) -> bytes:
        return self.template.assemble(self)


@dataclass
class MessageTemplate:
    """What every recipient of one campaign variant shares, encoded once."""

    from_name: str
    from_email: str
    reply_to: str
    # The whole List-Id value, already encoded and on one line (see list_id_value).
    list_id: str
    feedback_id: str
    boundary: str = field(default_factory=lambda: f"=_rapport_{secrets.token_hex(12)}")
    static: bytes = b""
    # Marketing mail carries the list headers; one person's own mail (a confirmation, a reminder) does not.
    bulk: bool = True

    def __post_init__(self) -> None:
        headers = [
            ("From", f"{phrase(self.from_name)} <{ascii_address(self.from_email)}>"),
            ("Reply-To", ascii_address(self.reply_to)),
        ]
        if self.bulk:
            headers += [
                ("List-Id", self.list_id),
                ("Feedback-ID", self.feedback_id),
                ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
            ]
        headers += [
            ("MIME-Version", "1.0"),
            ("Content-Type", f'multipart/alternative; boundary="{self.boundary}"'),
        ]
        self.static = "".join(header_line(name, value) for name, value in headers).encode("ascii")

    @property
    def from_domain(self) -> str:
        return ascii_address(self.from_email).rpartition("@")[2]

    def assemble(self, outgoing: Outgoing) -> bytes:
        personal = "".join(header_line(name, value) for name, value in outgoing.headers.items())
        part = f"--{self.boundary}\r\nContent-Type: text/%s; charset=utf-8\r\n"
        part += "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        return b"".join(
            [
                personal.encode("ascii"),
                self.static,
                b"\r\n",
                (part % "plain").encode("ascii"),
                _qp(outgoing.content.text),
                b"\r\n",
                (part % "html").encode("ascii"),
                _qp(outgoing.content.html),
                f"\r\n--{self.boundary}--\r\n".encode("ascii"),
            ]
        )


def list_id_value(name: str, campaign_id: int, domain: str) -> str:
    """RFC 2919 List-Id: the sender's name as the phrase, and one list per campaign under the
    sending domain, so filters and mailbox providers can tell campaigns apart."""
    return f"{phrase(name)} <{campaign_id}.campaigns.{domain}>"


def message_id_header(campaign_id: int, message_id: int | None, domain: str) -> str:
    """Deterministic for real sends, so a retried message keeps its Message-ID."""
    if message_id is None:
        return f"<test.{campaign_id}.{secrets.token_hex(8)}@{domain}>"
    return f"<rapport.{campaign_id}.{message_id}@{domain}>"
