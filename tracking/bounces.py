"""Bounces, complaints, auto-replies, mailto unsubscribes and replies coming back by mail: the policy.

tracking/bounce_classify.py says what a returned message is and which of our messages it is
about. Here the policy: only a bounce about the address itself suppresses at once, and every
returned message is kept in ReturnedMail with its reason. Messages come from the IMAP
bounce mailbox, files (process_bounces) and ESP inbound webhooks.
"""

from __future__ import annotations

import hashlib
import imaplib
import logging
from datetime import timedelta
from email import message_from_bytes
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from contacts import services as contact_services
from contacts.models import Activity, Contact
from tracking.bounce_classify import Classification, classify, read_messages
from tracking.bounce_reasons import RECIPIENT_REASONS, BounceKind
from tracking.models import ReturnedMail
from tracking.replies import record_reply

__all__ = ["Classification", "classify", "read_messages"]

log = logging.getLogger(__name__)

SOFT_BOUNCE_LIMIT, SOFT_BOUNCE_DAYS = 3, 30


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
    if result.kind in {BounceKind.AUTO_REPLY, BounceKind.UNKNOWN}:
        return 0
    contacts = _contacts(result) if result.accepted else []
    _record_returned(result, contacts, source)
    ids = {"campaign_id": result.token.campaign_id, "message_id": result.token.message_id} if result.token else {}
    for contact in contacts:
        _apply_to(contact, result.for_recipient(contact.email), source, ids)
    return len(contacts)


def _apply_to(contact: Contact, result: Classification, source: str, ids: dict) -> None:
    if result.kind == BounceKind.HARD and suppresses(result):
        if contact.status != Contact.Status.BOUNCED:
            details = {"status": result.status, "reason": result.reason, "source": source}
            contact_services.mark_bounced(contact, **details, **ids)
    elif result.kind == BounceKind.COMPLAINT:
        if contact.status != Contact.Status.COMPLAINED:
            contact_services.mark_complained(contact, source=source, **ids)
    elif result.kind in {BounceKind.HARD, BounceKind.SOFT}:
        record_bounce(contact, result, source=source, **ids)
    elif result.kind == BounceKind.UNSUBSCRIBE:
        contact_services.unsubscribe(contact, source="mailto", **ids)


def suppresses(result: Classification) -> bool:
    """Only a permanent failure of the address itself takes it out of the pool at once. A
    caller that gives no reason (an ESP's own hard-bounce verdict) is taken at its word."""
    return result.kind == BounceKind.HARD and (result.reason is None or result.reason in RECIPIENT_REASONS)


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
        Activity.Kind.BOUNCED_HARD if result.kind == BounceKind.HARD else Activity.Kind.BOUNCED_SOFT,
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


def reason_breakdown(campaign_id: int | None = None) -> dict[str, dict[str, int]]:
    """Accepted bounces per kind and reason, e.g. ``{"hard": {"mailbox_unknown": 3}}``,
    for one campaign or for everything; one grouped query."""
    rows = ReturnedMail.objects.filter(accepted=True, kind__in=[BounceKind.HARD, BounceKind.SOFT])
    if campaign_id is not None:
        rows = rows.filter(campaign_id=campaign_id)
    breakdown: dict[str, dict[str, int]] = {BounceKind.HARD: {}, BounceKind.SOFT: {}}
    for row in rows.values("kind", "reason").annotate(count=Count("id")).order_by("kind", "reason"):
        breakdown[row["kind"]][row["reason"] or "other"] = row["count"]
    return breakdown


def process_bytes(raw: bytes, *, source: str) -> Classification:
    """Classify one raw message and apply the policy (the IMAP poller and inbound webhooks);
    a contact's own reply goes to their history."""
    message = message_from_bytes(raw)
    result = classify(message)
    apply(result, source=source)
    record_reply(message, result, source=source)
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
            record_reply(message, result, source="process_bounces")
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
