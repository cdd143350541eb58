"""ESP events through django-anymail: its webhooks under /esp/ verify and normalise each
provider's payload and send the ``tracking`` and ``inbound`` signals; we feed them into the
same code paths as our own endpoints and bounce mailbox, deduplicated on the ESP event id."""

from __future__ import annotations

import hashlib
import logging

from anymail.signals import AnymailInboundEvent, AnymailTrackingEvent, EventType, inbound, tracking
from django.db import IntegrityError, transaction
from django.dispatch import receiver
from django.utils import timezone

from campaigns.delivery import METADATA_MESSAGE_ID
from campaigns.models import Message
from contacts import services as contact_services
from contacts.models import Activity, Contact
from tracking import bounces, machine, services
from tracking.bounce_reasons import BounceKind, status_code
from tracking.events import EventKind, TrackedEvent

log = logging.getLogger(__name__)

RECORDED = {
    EventType.DELIVERED: Activity.Kind.DELIVERED,
    EventType.DEFERRED: Activity.Kind.DEFERRED,
    EventType.REJECTED: Activity.Kind.FAILED,
    EventType.FAILED: Activity.Kind.FAILED,
}
BOUNCES = {EventType.BOUNCED, EventType.COMPLAINED}
# Activity.event_id is 200 characters; longer ESP ids are stored as a digest.
MAX_EVENT_ID = 180


@receiver(tracking, dispatch_uid="rapport-esp-tracking")
def on_tracking(sender, event: AnymailTrackingEvent, esp_name: str, **kwargs) -> None:
    handle_tracking_event(event, esp_name)


@receiver(inbound, dispatch_uid="rapport-esp-inbound")
def on_inbound(sender, event: AnymailInboundEvent, esp_name: str, **kwargs) -> None:
    """Inbound mail to the bounce domain: bounces, complaints and mailto unsubscribes."""
    bounces.process_bytes(event.message.as_bytes(), source=f"esp:{esp_name}")


def handle_tracking_event(event: AnymailTrackingEvent, esp_name: str) -> None:
    """One normalised ESP event into history and standing; a replayed event does nothing.

    Every kind stores its event id on the history row it writes, so the check below matches
    a replay; two deliveries racing each other meet the unique index instead."""
    event_id = esp_event_id(event, esp_name)
    if Activity.objects.filter(event_id=event_id).exists():
        return
    message = sent_message(event)
    contact = message.contact if message else Contact.objects.filter(email=_recipient(event)).first()
    if contact is None:
        log.info("%s %s event for unknown recipient ignored", esp_name, event.event_type)
        return
    ids = {"campaign_id": message.campaign_id, "message_id": message.pk} if message else {}
    try:
        with transaction.atomic():
            _apply(event, f"esp:{esp_name}", event_id, contact, ids)
    except IntegrityError:
        log.info("%s event %s recorded by a concurrent delivery", esp_name, event_id)


def esp_event_id(event: AnymailTrackingEvent, esp_name: str) -> str:
    """The ESP's own event id; for ESPs that send none, a digest of what identifies the event."""
    if event.event_id and len(event.event_id) <= MAX_EVENT_ID:
        return f"esp:{esp_name}:{event.event_id}"
    parts = [event.event_id, event.event_type, _recipient(event), event.message_id, event.click_url, event.mta_response]
    parts.append(event.timestamp.isoformat() if event.timestamp else "")
    digest = hashlib.sha256("\x1f".join(str(part or "") for part in parts).encode()).hexdigest()
    return f"esp:{esp_name}:sha256:{digest}"


def sent_message(event: AnymailTrackingEvent) -> Message | None:
    """The Message this event is about, from the metadata we sent with it (campaigns.delivery),
    provided it went to the event's recipient; None when the ESP did not echo it back."""
    raw_id = (event.metadata or {}).get(METADATA_MESSAGE_ID)
    if not str(raw_id or "").isdigit():
        return None
    message = Message.objects.select_related("contact").filter(pk=int(raw_id)).first()
    recipient = _recipient(event)
    if message is None or (recipient and message.email.lower() != recipient):
        return None
    return message


def _recipient(event: AnymailTrackingEvent) -> str:
    return (event.recipient or "").strip().lower()


def _apply(event: AnymailTrackingEvent, source: str, event_id: str, contact: Contact, ids: dict) -> None:
    if event.event_type in {EventType.OPENED, EventType.CLICKED}:
        services.ingest([(event_id, _engagement(event, contact, ids))])
    elif event.event_type in BOUNCES:
        _bounce(event, source, event_id, contact, ids)
    elif event.event_type == EventType.UNSUBSCRIBED:
        contact_services.unsubscribe(contact, source=source, event_id=event_id, **ids)
    elif event.event_type in RECORDED:
        details = {"esp": source.removeprefix("esp:"), "response": event.mta_response or event.description or ""}
        if event.reject_reason:
            details["reason"] = event.reject_reason
        contact_services.record(
            contact, RECORDED[event.event_type], occurred_at=event.timestamp, event_id=event_id, details=details, **ids
        )


def _bounce(event: AnymailTrackingEvent, source: str, event_id: str, contact: Contact, ids: dict) -> None:
    status = status_code(event.mta_response or event.description or "")
    if event.event_type == EventType.COMPLAINED:
        if contact.status != Contact.Status.COMPLAINED:
            contact_services.mark_complained(contact, source=source, event_id=event_id, **ids)
    elif status and status.startswith("4"):
        result = bounces.Classification(BounceKind.SOFT, [contact.email], status, message_id=event_id)
        bounces.record_bounce(contact, result, source=source, **ids)
    elif contact.status != Contact.Status.BOUNCED:
        contact_services.mark_bounced(contact, status=status, source=source, event_id=event_id, **ids)


def _engagement(event: AnymailTrackingEvent, contact: Contact, ids: dict) -> TrackedEvent:
    user_agent = event.user_agent or ""
    clicked = event.event_type == EventType.CLICKED
    by_machine = machine.is_scanner_click(user_agent) if clicked else machine.is_proxy_open(user_agent, "")
    return TrackedEvent(
        kind=EventKind.CLICK if clicked else EventKind.OPEN,
        contact_id=contact.pk,
        message_id=ids.get("message_id"),
        campaign_id=ids.get("campaign_id"),
        at=(event.timestamp or timezone.now()).timestamp(),
        user_agent=user_agent,
        machine_reason=("scanner_agent" if clicked else "proxy") if by_machine else "",
        url=event.click_url or "",
    )
