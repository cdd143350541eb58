"""The transports that carry a message: smtplib over one connection per batch (pipelined, DKIM-signed),
or any other configured Django backend (a django-anymail ESP, console, locmem) through an
EmailMultiAlternatives carrying the same headers. Each send answers with a :class:`Result`.
"""

from __future__ import annotations

import re
import smtplib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection

from campaigns import signing
from campaigns.mime import Outgoing, format_address

SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
# ESP metadata naming our Message row: the ESP echoes it in its events (tracking.esp).
METADATA_MESSAGE_ID = "rapport_message_id"
METADATA_CAMPAIGN_ID = "rapport_campaign_id"
# SMTP transparency (RFC 5321 4.5.2): a line starting with "." gets another one. Our bytes use CRLF throughout.
_LEADING_DOT = re.compile(rb"^\.", re.MULTILINE)


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
