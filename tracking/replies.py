"""Replies: a person's own answer that reaches the inbound mailbox (IMAP, an ESP's inbound
webhook, process_bounces), recorded in the sender's history as "replied".

What tracking/bounce_classify.py calls ``unknown`` is what is left after bounces, complaints,
mailto unsubscribes and auto-replies are recognised. Of that, a message is a reply when it
comes from a known contact's address, is no delivery report and no list or bulk mail, and
no machine says it wrote it (RFC 3834 Auto-Submitted). The Message-ID makes recording it
idempotent, so a mailbox read twice records each reply once.
"""

from __future__ import annotations

import hashlib
from email.message import Message
from email.utils import parseaddr

from django.db import IntegrityError, transaction

from contacts import services as contact_services
from contacts.models import Activity, Contact
from tracking.bounce_classify import Classification
from tracking.bounce_reasons import BounceKind
from tracking.bounce_text import SYSTEM_SENDER
from tracking.notice_parts import header_text

NOT_PERSONAL = {"bulk", "list", "junk"}


def _is_personal(message: Message) -> bool:
    if message.get_content_type() == "multipart/report" or SYSTEM_SENDER.search(str(message.get("From", ""))):
        return False
    if str(message.get("Auto-Submitted", "no")).strip().lower() != "no":
        return False
    return str(message.get("Precedence", "")).strip().lower() not in NOT_PERSONAL and not message.get("List-Id")


def record_reply(message: Message, result: Classification, *, source: str) -> Activity | None:
    """Record ``message`` as its sender's reply when it is one (see the module docstring);
    returns the history entry, or None when it is no reply or was recorded before."""
    if result.kind != BounceKind.UNKNOWN or not _is_personal(message):
        return None
    address = parseaddr(str(message.get("From", "")))[1].strip()
    contact = Contact.objects.filter(email__iexact=address).first() if "@" in address else None
    if contact is None:
        return None
    mail_id = str(message.get("Message-ID", "")).strip()
    token = result.token if result.token and result.token.contact_id == contact.pk else None
    subject = header_text(message, "Subject")[:200]
    try:
        with transaction.atomic():
            return contact_services.record(
                contact,
                Activity.Kind.REPLIED,
                campaign_id=token.campaign_id if token else None,
                message_id=token.message_id if token else None,
                event_id=("reply:" + hashlib.sha256(mail_id.encode()).hexdigest()[:40]) if mail_id else None,
                details={"summary": f"Replied: {subject}" if subject else "Replied", "source": source},
            )
    except IntegrityError:
        return None
