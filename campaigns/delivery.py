"""Delivery of one rendered message: RFC 5322 bytes, DKIM, and the transport that carries them.

The stdlib ``email`` builder costs milliseconds per message, so the headers common to every
recipient of a campaign are encoded once into a :class:`MessageTemplate` and each message
is assembled from bytes. SMTP goes through smtplib over one connection per batch; any other
configured Django backend (a django-anymail ESP, console, locmem) gets an
EmailMultiAlternatives carrying the same headers.
"""

from __future__ import annotations

import binascii
import re
import secrets
import smtplib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from email.header import Header
from email.utils import formataddr, formatdate, parseaddr
from enum import StrEnum
from typing import Protocol
from urllib.parse import quote

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection

from campaigns import signing
from campaigns.models import Campaign
from contacts.models import Contact
from contacts.tokens import Purpose, TokenData, make_token

SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
# ESP metadata naming our Message row: the ESP echoes it in its events (tracking.esp).
METADATA_MESSAGE_ID = "rapport_message_id"
METADATA_CAMPAIGN_ID = "rapport_campaign_id"
# SMTP transparency (RFC 5321 4.5.2): a line starting with "." gets another one. Our bytes use CRLF throughout.
_LEADING_DOT = re.compile(rb"^\.", re.MULTILINE)
TEST_SUBJECT_PREFIX = "[Test] "


class UnsendableError(ValueError):
    """This message cannot be sent as it stands; retrying will not help."""


class HeaderInjectionError(UnsendableError):
    """A header value carried CR or LF: refused before anything is sent."""


class Content(Protocol):
    subject: str
    html: str
    text: str


class Outcome(StrEnum):
    SENT = "sent"
    DEFERRED = "deferred"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Result:
    outcome: Outcome
    detail: str = ""
    code: int | None = None
    # The connection broke: the transport reconnects for the next message.
    connection_lost: bool = False


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


def template_for(campaign: Campaign, from_name: str = "") -> MessageTemplate:
    """The per-campaign header template; ``from_name`` overrides the sender's (A/B variants)."""
    default_name, default_email = parseaddr(settings.DEFAULT_FROM_EMAIL)
    sender = campaign.sender
    name = from_name or (sender.name if sender else default_name)
    email = sender.email if sender else default_email
    reply_to = campaign.reply_to or (sender.reply_to if sender and sender.reply_to else email)
    domain = ascii_address(email).rpartition("@")[2]
    return MessageTemplate(
        from_name=name,
        from_email=email,
        reply_to=reply_to,
        list_id=list_id_value(name, campaign.pk, domain),
        # Gmail's Feedback Loop format, campaign:customer:type:sender, so its spam reports name the campaign.
        feedback_id=f"{campaign.pk}:{sender.pk if sender else 0}:campaign:{domain}",
    )


def message_id_header(campaign_id: int, message_id: int | None, domain: str) -> str:
    """Deterministic for real sends, so a retried message keeps its Message-ID."""
    if message_id is None:
        return f"<test.{campaign_id}.{secrets.token_hex(8)}@{domain}>"
    return f"<rapport.{campaign_id}.{message_id}@{domain}>"


def compose(
    template: MessageTemplate,
    content: Content,
    *,
    campaign_id: int,
    contact_id: int,
    email: str,
    message_id: int | None,
    test: bool = False,
) -> Outgoing:
    """Headers of one recipient; every value is checked for CR/LF before anything is sent."""

    def token(purpose: Purpose) -> str:
        return make_token(TokenData(purpose, contact_id, message_id=message_id, campaign_id=campaign_id))

    unsubscribe = token(Purpose.UNSUBSCRIBE)
    recipient = ascii_address(email)
    headers = {
        "Date": formatdate(usegmt=True),
        "Message-ID": message_id_header(campaign_id, message_id, template.from_domain),
        "To": recipient,
        "Subject": encode_header(content.subject),
        "List-Unsubscribe": (
            f"<{settings.SITE_URL}/u/{unsubscribe}>, "
            f"<mailto:unsubscribe@{settings.BOUNCE_DOMAIN}?subject={quote(unsubscribe)}>"
        ),
    }
    if test:
        headers["X-Rapport-Test"] = "1"
    return Outgoing(
        envelope_from=f"bounces+{token(Purpose.BOUNCE)}@{settings.BOUNCE_DOMAIN}",
        recipient=recipient,
        headers=headers,
        content=content,
        template=template,
        campaign_id=campaign_id,
        message_id=message_id,
    )


def sign(data: bytes, from_domain: str) -> bytes:
    """Prepend the DKIM-Signatures of the configured keys (RSA-SHA256, and Ed25519-SHA256 if set)."""
    return signing.sign(data, from_domain)


def to_bytes(outgoing: Outgoing) -> bytes:
    """The exact bytes handed to the SMTP server."""
    return sign(outgoing.as_bytes(), outgoing.template.from_domain)


def _classify(code: int, detail: bytes | str) -> Result:
    text = detail.decode("utf-8", "replace") if isinstance(detail, bytes) else detail
    outcome = Outcome.FAILED if 500 <= code < 600 else Outcome.DEFERRED
    return Result(outcome, f"{code} {text}"[:500], code)


class SmtpTransport:
    """One smtplib connection, opened on first use and reopened after a drop."""

    def __init__(self) -> None:
        self.connection: smtplib.SMTP | None = None

    def _open(self) -> smtplib.SMTP:
        factory = smtplib.SMTP_SSL if settings.EMAIL_USE_SSL else smtplib.SMTP
        connection = factory(settings.EMAIL_HOST, settings.EMAIL_PORT, timeout=settings.EMAIL_TIMEOUT)
        if settings.EMAIL_USE_TLS:
            connection.starttls()
        if settings.EMAIL_HOST_USER:
            connection.login(settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD)
        connection.ehlo_or_helo_if_needed()
        return connection

    def _transmit(self, connection: smtplib.SMTP, sender: str, recipient: str, data: bytes) -> None:
        """MAIL, RCPT and DATA in one write when the server offers PIPELINING (RFC 2920):
        one round trip instead of three before the body. Raises smtplib's exceptions."""
        if not connection.has_extn("pipelining"):
            connection.sendmail(sender, [recipient], data)
            return
        connection.send(f"MAIL FROM:<{sender}>\r\nRCPT TO:<{recipient}>\r\nDATA\r\n".encode("ascii"))
        mail, rcpt, start = connection.getreply(), connection.getreply(), connection.getreply()
        if start[0] == 354 and (mail[0] != 250 or rcpt[0] not in {250, 251}):
            connection.send(b".\r\n")
            connection.getreply()
        if mail[0] != 250 or rcpt[0] not in {250, 251} or start[0] != 354:
            connection.rset()
            if mail[0] != 250:
                raise smtplib.SMTPSenderRefused(mail[0], mail[1], sender)
            if rcpt[0] not in {250, 251}:
                raise smtplib.SMTPRecipientsRefused({recipient: rcpt})
            raise smtplib.SMTPDataError(*start)
        connection.send(_LEADING_DOT.sub(b"..", data) + b".\r\n")
        code, detail = connection.getreply()
        if code != 250:
            connection.rset()
            raise smtplib.SMTPDataError(code, detail)

    def send(self, outgoing: Outgoing) -> Result:
        try:
            if self.connection is None:
                self.connection = self._open()
            self._transmit(self.connection, outgoing.envelope_from, outgoing.recipient, to_bytes(outgoing))
        except smtplib.SMTPSenderRefused as error:
            # Our envelope sender was refused: nothing to hold against the recipient.
            return Result(Outcome.DEFERRED, f"{error.smtp_code} {error.smtp_error!r}"[:500], error.smtp_code)
        except smtplib.SMTPRecipientsRefused as error:
            code, detail = error.recipients[outgoing.recipient]
            return _classify(code, detail)
        except smtplib.SMTPResponseException as error:
            if error.smtp_code in {421, -1}:
                self.close()
                return Result(Outcome.DEFERRED, str(error)[:500], error.smtp_code, connection_lost=True)
            return _classify(error.smtp_code, error.smtp_error)
        except (smtplib.SMTPException, OSError) as error:
            self.close()
            return Result(Outcome.DEFERRED, f"connection: {error}"[:500], connection_lost=True)
        return Result(Outcome.SENT)

    def close(self) -> None:
        if self.connection is not None:
            try:
                self.connection.quit()
            except (smtplib.SMTPException, OSError):
                self.connection.close()
            self.connection = None


class BackendTransport:
    """Django's configured backend (a django-anymail ESP in production), one connection per batch."""

    def __init__(self) -> None:
        self.connection = get_connection(fail_silently=False)
        self.opened = False

    def send(self, outgoing: Outgoing) -> Result:
        from anymail.exceptions import AnymailError, AnymailRecipientsRefused

        template = outgoing.template
        headers = {name: value for name, value in outgoing.headers.items() if name not in {"To", "Subject"}}
        if template.bulk:
            headers["List-Id"], headers["Feedback-ID"] = template.list_id, template.feedback_id
            headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        message = EmailMultiAlternatives(
            outgoing.content.subject,
            outgoing.content.text,
            format_address(template.from_name, template.from_email),
            [outgoing.recipient],
            headers=headers,
            reply_to=[template.reply_to],
            connection=self.connection,
        )
        message.attach_alternative(outgoing.content.html, "text/html")
        message.envelope_sender = outgoing.envelope_from
        if outgoing.message_id is not None:
            # Echoed back in the ESP's events: attributed to this message, not to the address.
            message.metadata = {
                METADATA_MESSAGE_ID: str(outgoing.message_id),
                METADATA_CAMPAIGN_ID: str(outgoing.campaign_id),
            }
        try:
            if not self.opened:
                self.connection.open()
                self.opened = True
            message.send()
        except AnymailRecipientsRefused as error:
            return Result(Outcome.FAILED, str(error)[:500], 550)
        except (AnymailError, OSError) as error:
            return Result(Outcome.DEFERRED, str(error)[:500])
        return Result(Outcome.SENT)

    def close(self) -> None:
        if self.opened:
            self.connection.close()
            self.opened = False


@contextmanager
def transport() -> Iterator[SmtpTransport | BackendTransport]:
    """The configured transport, closed when the batch is done."""
    current = SmtpTransport() if settings.EMAIL_BACKEND == SMTP_BACKEND else BackendTransport()
    try:
        yield current
    finally:
        current.close()


def outgoing_for(
    campaign: Campaign, contact: Contact, *, message_id: int | None = None, variant: int = 0, test: bool = False
) -> Outgoing:
    """One recipient's message through the real renderer (for tests and render_message; batches
    prepare once and call :func:`compose` directly)."""
    from templates_mail.rendering import prepare, recipient_for

    from_name = campaign.variants.filter(index=variant).values_list("from_name", flat=True).first() or ""
    # A test copy is not the contact's mail: opening or clicking it must not count as theirs.
    content = prepare(campaign, variant).render(recipient_for(contact, message_id), tracked=not test)
    if test:
        # So nobody mistakes a test in an inbox for the campaign itself.
        content = replace(content, subject=f"{TEST_SUBJECT_PREFIX}{content.subject}")
    return compose(
        template_for(campaign, from_name),
        content,
        campaign_id=campaign.pk,
        contact_id=contact.pk,
        email=contact.email,
        message_id=message_id,
        test=test,
    )


def send_test(campaign: Campaign, addresses: list[str], contact: Contact | None = None) -> dict[str, Result]:
    """Send the campaign to ``addresses`` through the real path, marked X-Rapport-Test, with no Message row.

    Merge fields come from ``contact`` (else the contact with that address, else an empty profile).
    """
    results = {}
    with transport() as carrier:
        for address in addresses:
            sample = contact or Contact.objects.filter(email=address.lower()).first() or Contact(pk=0, email=address)
            outgoing = outgoing_for(campaign, sample, test=True)
            outgoing.recipient = ascii_address(address)
            outgoing.headers["To"] = outgoing.recipient
            results[address] = carrier.send(outgoing)
    return results
