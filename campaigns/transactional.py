"""One person's own mail: signup confirmations, reminders, data-export links, notifications.

It goes out at once through the configured transport, DKIM-signed like a campaign, but never
through the campaign throttle's queue, and without list headers: it is not marketing. Celery
tasks that send it run on ``TRANSACTIONAL_QUEUE``, which a worker of its own consumes, so a
confirmation never waits behind a campaign's batches (CELERY_TASK_ROUTES in config/app_settings.py
routes each such task there). Each such task claims its row (a pending
signup, a due reminder) by a state change before calling :func:`send_transactional`.
"""

import secrets
from dataclasses import dataclass
from email.utils import formatdate, parseaddr

from django.conf import settings
from django.utils.html import linebreaks

from campaigns.delivery import MessageTemplate, Outgoing, Result, ascii_address, clean, encode_header, transport

TRANSACTIONAL_QUEUE = "transactional"


@dataclass(frozen=True, slots=True)
class TransactionalContent:
    subject: str
    text: str
    html: str


def send_transactional(
    recipient: str,
    subject: str,
    text: str,
    html: str = "",
    *,
    reply_to: str = "",
    headers: dict[str, str] | None = None,
) -> Result:
    """Send one message now and say what the receiving server answered.

    Without ``html`` the text is sent as escaped paragraphs; every header is checked for
    CR/LF like every other header Rapport writes.
    """
    from_name, from_email = parseaddr(settings.DEFAULT_FROM_EMAIL)
    domain = ascii_address(from_email).rpartition("@")[2]
    template = MessageTemplate(
        from_name=from_name,
        from_email=from_email,
        reply_to=reply_to or from_email,
        list_id="",
        feedback_id="",
        bulk=False,
    )
    to = ascii_address(clean(recipient, "recipient"))
    outgoing_headers = {
        "Date": formatdate(usegmt=True),
        "Message-ID": f"<transactional.{secrets.token_hex(12)}@{domain}>",
        "To": to,
        "Subject": encode_header(clean(subject, "subject")),
        # RFC 3834: no out-of-office replies to machine-written mail.
        "Auto-Submitted": "auto-generated",
    }
    for name, value in (headers or {}).items():
        outgoing_headers[clean(name, "header name")] = clean(value, name)
    content = TransactionalContent(subject=subject, text=text, html=html or _as_html(text))
    outgoing = Outgoing(
        envelope_from=from_email, recipient=to, headers=outgoing_headers, content=content, template=template
    )
    with transport() as carrier:
        return carrier.send(outgoing)


def _as_html(text: str) -> str:
    return f"<!DOCTYPE html><html><body>{linebreaks(text, autoescape=True)}</body></html>"
