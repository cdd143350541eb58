"""ESP events through django-anymail: its webhooks under /esp/ verify and normalise each
provider's payload and send the ``tracking`` and ``inbound`` signals; we feed them into the
same code paths as our own endpoints and bounce mailbox, deduplicated on the ESP event id."""

from __future__ import annotations

import logging
import uuid

from anymail.signals import AnymailInboundEvent, AnymailTrackingEvent, EventType, inbound, tracking
from django.dispatch import receiver
from django.utils import timezone

from contacts import services as contact_services
from contacts.models import Activity, Contact
from tracking import bounces, machine, services

log = logging.getLogger(__name__)

RECORDED = {
    EventType.DELIVERED: Activity.Kind.DELIVERED,
    EventType.DEFERRED: Activity.Kind.DEFERRED,
    EventType.REJECTED: Activity.Kind.FAILED,
    EventType.FAILED: Activity.Kind.FAILED,
}
BOUNCES = {EventType.BOUNCED: bounces.HARD, EventType.COMPLAINED: bounces.COMPLAINT}


@receiver(tracking, dispatch_uid="rapport-esp-tracking")
def on_tracking(sender, event: AnymailTrackingEvent, esp_name: str, **kwargs) -> None:
    handle_tracking_event(event, esp_name)


@receiver(inbound, dispatch_uid="rapport-esp-inbound")
def on_inbound(sender, event: AnymailInboundEvent, esp_name: str, **kwargs) -> None:
    """Inbound mail to the bounce domain: bounces, complaints and mailto unsubscribes."""
    bounces.process_bytes(event.message.as_bytes(), source=f"esp:{esp_name}")


def handle_tracking_event(event: AnymailTrackingEvent, esp_name: str) -> None:
    """One normalised ESP event into history and standing; a repeated event id does nothing."""
    event_id = f"esp:{esp_name}:{event.event_id}" if event.event_id else None
    if event_id and Activity.objects.filter(event_id=event_id).exists():
        return
    contact = Contact.objects.filter(email=(event.recipient or "").strip().lower()).first()
    if contact is None:
        log.info("%s %s event for unknown recipient ignored", esp_name, event.event_type)
        return
    if event.event_type in {EventType.OPENED, EventType.CLICKED}:
        services.ingest([(event_id or f"esp:{esp_name}:{uuid.uuid4().hex}", _engagement(event, contact))])
    elif event.event_type in BOUNCES:
        kind = BOUNCES[event.event_type]
        status = bounces.status_code(event.mta_response or event.description or "")
        if kind == bounces.HARD and status and status.startswith("4"):
            kind = bounces.SOFT
        result = bounces.Classification(kind, [contact.email], status, message_id=event_id or "")
        bounces.apply(result, source=f"esp:{esp_name}")
    elif event.event_type == EventType.UNSUBSCRIBED:
        contact_services.unsubscribe(contact, source=f"esp:{esp_name}")
    elif event.event_type in RECORDED:
        details = {"esp": esp_name, "response": event.mta_response or event.description or ""}
        if event.reject_reason:
            details["reason"] = event.reject_reason
        contact_services.record(
            contact, RECORDED[event.event_type], occurred_at=event.timestamp, event_id=event_id, details=details
        )


def _engagement(event: AnymailTrackingEvent, contact: Contact) -> dict:
    user_agent = event.user_agent or ""
    clicked = event.event_type == EventType.CLICKED
    by_machine = machine.is_scanner_click(user_agent) if clicked else machine.is_proxy_open(user_agent, "")
    return {
        "k": "c" if clicked else "o",
        "c": contact.pk,
        "m": None,
        "g": None,
        "l": None,
        "t": (event.timestamp or timezone.now()).timestamp(),
        "u": user_agent[:300],
        "h": "",
        "r": ("scanner_agent" if clicked else "proxy") if by_machine else "",
        "url": event.click_url or "",
    }
