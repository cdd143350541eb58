"""What recipients do with our mail, back into the contact's history.

Opens and clicks are written to the Redis event buffer at request time and drained into
Activity in batches (:func:`drain_events`); when Redis is down the same event goes
straight to the database through :func:`ingest`, the one code path that writes them.
Unsubscribes and preference changes are rare and go to the database at once.
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from base64 import b64decode
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from email.utils import parseaddr
from typing import Any
from urllib.parse import urlsplit

import redis.exceptions
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from campaigns import version
from campaigns.models import Campaign, CampaignLink, Message
from contacts import engagement
from contacts import services as contact_services
from contacts.models import Activity, Contact, MailingList, Subscription
from contacts.tokens import HONEYPOT_LINK_INDEX, Purpose, TokenData, read_token
from templates_mail.recipient import recipient_for
from tracking import buffer, machine, signals
from tracking import ingest as ingest_sql
from tracking.events import EventKind, TrackedEvent

log = logging.getLogger(__name__)

REDIRECT_SCHEMES = {"http", "https"}
PIXEL = b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
NO_STORE = "no-store, no-cache, must-revalidate, max-age=0"


@dataclass(frozen=True, slots=True)
class Visitor:
    """Who fetched a tracking URL; the IP is only ever stored hashed."""

    user_agent: str
    ip: str


def visitor_from(meta: Mapping[str, Any]) -> Visitor:
    """The visitor of a request, from its WSGI environ (``request.META``)."""
    ip = meta.get("REMOTE_ADDR", "")
    if settings.SECURE_PROXY_SSL_HEADER:
        # Behind our own proxy the client is the first hop it recorded.
        ip = meta.get("HTTP_X_FORWARDED_FOR", ip).split(",")[0].strip()
    return Visitor(meta.get("HTTP_USER_AGENT", ""), ip)


# --- opens and clicks -----------------------------------------------------------------


def track_open(token: str, visitor: Visitor) -> None:
    """Record an open if the token is genuine; never raises (the pixel is always served)."""
    data = read_token(token, Purpose.OPEN)
    # Without a message the token never came with a delivered mail (a preview or test copy
    # made before those were untracked): nothing to record.
    if data is not None and data.message_id is not None:
        reason = "proxy" if machine.is_proxy_open(visitor.user_agent, visitor.ip) else ""
        _enqueue(_event(EventKind.OPEN, data, visitor, reason))


def track_click(token: str, visitor: Visitor) -> str | None:
    """The redirect target of a genuine click token, recording the click; None for a bad
    token or an unknown link (the view answers 404, never a redirect elsewhere)."""
    data = read_token(token, Purpose.CLICK)
    if data is None or data.campaign_id is None or data.link_index is None:
        return None
    if data.link_index == HONEYPOT_LINK_INDEX:
        _enqueue(_event(EventKind.CLICK, data, visitor, "honeypot"))
        return None
    target = link_target(data.campaign_id, data.link_index)
    if target is not None and data.message_id is not None:
        reason = "scanner_agent" if machine.is_scanner_click(visitor.user_agent) else ""
        _enqueue(_event(EventKind.CLICK, data, visitor, reason, url=target))
    return target


_link_cache: dict[tuple[int, int], str] = {}
_LINK_CACHE_SIZE = 50_000


def link_target(campaign_id: int, index: int) -> str | None:
    """The URL behind link ``index`` of a campaign, as rendering stored it (UTM parameters included).

    Links of a campaign that started sending are frozen, so they are cached per process.
    """
    key = (campaign_id, index)
    if key in _link_cache:
        return _link_cache[key]
    link = CampaignLink.objects.select_related("campaign").filter(campaign_id=campaign_id, index=index).first()
    if link is None or urlsplit(link.url).scheme.lower() not in REDIRECT_SCHEMES:
        return None
    url = link.url
    if link.campaign.is_frozen:
        if len(_link_cache) >= _LINK_CACHE_SIZE:
            _link_cache.clear()
        _link_cache[key] = url
    return url


def clear_link_cache() -> None:
    _link_cache.clear()


def _event(kind: EventKind, data: TokenData, visitor: Visitor, machine_reason: str, url: str = "") -> TrackedEvent:
    return TrackedEvent(
        kind=kind,
        contact_id=data.contact_id,
        message_id=data.message_id,
        campaign_id=data.campaign_id,
        link_index=data.link_index,
        at=time.time(),
        user_agent=visitor.user_agent,
        ip_hash=machine.hash_ip(visitor.ip),
        machine_reason=machine_reason,
        url=url,
    )


def _enqueue(event: TrackedEvent) -> None:
    """Into the buffer; straight into the database when Redis is down. Failures are
    logged, never raised: the recipient still gets the pixel or the redirect."""
    if buffer.push(event):
        return
    try:
        ingest([(f"db:{uuid.uuid4().hex}", event)])
    except Exception:
        log.exception("tracking event lost: Redis and the database both failed (%s)", event.kind)


def ingest(entries: list[tuple[str, TrackedEvent]]) -> int:
    """Write events into Activity and credit the contacts' engagement in one transaction;
    returns how many were new (the Redis-down fallback and ESP webhooks come through here).
    Idempotent: an event id already in Activity is skipped by the insert itself."""
    with transaction.atomic():
        inserted, deltas = _insert(entries)
        engagement.apply_human_events(deltas)
    return inserted


def _insert(entries: list[tuple[str, TrackedEvent]]) -> tuple[int, dict[int, engagement.Delta]]:
    """Insert the events; returns how many were new and the engagement credit they earn."""
    if not entries:
        return 0, {}
    clicks = [event for _, event in entries if event.kind == EventKind.CLICK and event.message_id]
    # A message whose clicks came in a burst, or whose hidden honeypot link was followed, was
    # clicked by a scanner: all its clicks in the batch are flagged.
    suspects = dict.fromkeys(machine.burst_messages([(e.message_id, e.link_index, e.at) for e in clicks]), "burst")
    suspects.update((e.message_id, "honeypot") for e in clicks if e.machine_reason == "honeypot")
    adapt = connection.ops.adapt_datetimefield_value  # looked up once: the proxy is slow per row
    inserted = ingest_sql.insert_events([_row(event_id, event, suspects, adapt) for event_id, event in entries])
    signals.events_recorded.send(
        sender=__name__,
        activity_ids=[activity_id for activity_id, _, _ in inserted],
        user_agents={event.user_agent for _, event in entries},
    )
    events = dict(entries)
    deltas: dict[int, engagement.Delta] = {}
    for _, event_id, is_machine in inserted:
        if not is_machine:
            event = events[event_id]
            deltas.setdefault(event.contact_id, engagement.Delta()).add(event.activity_kind, event.occurred_at)
    return len(inserted), deltas


def _row(event_id: str, event: TrackedEvent, suspects: dict[int, str], adapt: Callable) -> dict[str, Any]:
    """One Activity row as the insert statement reads it; flags known at request time (agent,
    network, honeypot) or visible in the batch (suspect messages) are set here, the
    delivery-time check is made by the database."""
    reason = event.machine_reason or (suspects.get(event.message_id, "") if event.kind == EventKind.CLICK else "")
    details = {"ua": event.user_agent, "ip": event.ip_hash}
    if event.link_index is not None:
        details["link"] = event.link_index
    return {
        "event_id": event_id,
        "contact_id": event.contact_id,
        "kind": event.activity_kind,
        "occurred_at": str(adapt(event.occurred_at)),
        "campaign_id": event.campaign_id,
        "message_id": event.message_id,
        "link_url": event.url,
        "details": details,
        "reason": reason,
    }


def drain_events(batch_size: int = 5000, max_batches: int | None = None, credit_every: int = 100) -> int:
    """Move buffered events into Activity, batch by batch, until the buffer is empty;
    returns how many were new. Entries are acknowledged only after their batch committed.

    The next batch is read from Redis (and decoded) in a helper thread while the database
    writes the current one: reading takes about a third of a drain, and it then hides behind
    the database work instead of adding to it. The database is only ever used from the
    calling thread. The engagement credit of ``credit_every`` batches is merged and written
    in one statement, so a contact active in many batches is updated once rather than once
    per batch. A crash in between loses at most that credit, never an event, and the nightly
    recompute rebuilds scores and last-engagement times from Activity.
    """
    total = batches = 0
    pending: dict[int, engagement.Delta] = {}
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="drain-read") as reader:
        upcoming: Future | None = reader.submit(buffer.read_batch, batch_size)
        while upcoming is not None:
            batch = upcoming.result()
            if not batch:
                break
            batches += 1
            # No read beyond the last batch: its entries would wait, unacknowledged, until
            # a later drain claims them back after buffer.CLAIM_IDLE_MS.
            more = max_batches is None or batches < max_batches
            upcoming = reader.submit(buffer.read_batch, batch_size) if more else None
            with transaction.atomic():
                inserted, deltas = _insert(batch)
            buffer.ack([entry_id for entry_id, _ in batch])
            engagement.merge(pending, deltas)
            total += inserted
            if batches % credit_every == 0:
                engagement.apply_human_events(pending)
                pending = {}
    engagement.apply_human_events(pending)
    return total


def drain_exclusively(max_batches: int) -> int:
    """One drain at a time across all workers; a drain already running makes this a no-op."""
    lock = buffer.drain_lock()
    if not lock.acquire(blocking=False):
        return 0
    try:
        drained = drain_events(max_batches=max_batches)
    except Exception as error:
        buffer.record_drain_failure(error)
        raise
    else:
        buffer.record_drain_success()
        return drained
    finally:
        # A drain that outlived the lock's timeout no longer owns it; nothing to release then.
        with contextlib.suppress(redis.exceptions.LockError):
            lock.release()


def web_version(token: str) -> str | None:
    """The HTML that recipient received, rendered again with the same links; None for a bad token."""
    data = read_token(token, Purpose.VIEW)
    if data is None or data.message_id is None:
        return None
    message = (
        Message.objects.select_related("campaign", "contact__owner")
        .filter(pk=data.message_id, contact_id=data.contact_id)
        .first()
    )
    if message is None:
        return None
    prepared = version.prepare(message.campaign, message.variant)
    # Whoever opens the web version (the recipient, or staff from the admin) is not counted as
    # opening the mail: only the delivered copy carries tracking.
    return prepared.render(recipient_for(message.contact, message.pk), tracked=False).html


# --- unsubscribe and preferences -------------------------------------------------------------


def contact_for(token: str, purpose: Purpose) -> tuple[Contact, TokenData] | None:
    data = read_token(token, purpose)
    if data is None:
        return None
    contact = Contact.objects.filter(pk=data.contact_id).first()
    return None if contact is None else (contact, data)


def unsubscribe(contact: Contact, data: TokenData, *, source: str) -> None:
    """Unsubscribe from everything; repeating it (a replayed token, a second click) is harmless."""
    contact_services.unsubscribe(contact, campaign_id=data.campaign_id, message_id=data.message_id, source=source)


def resubscribe(contact: Contact) -> bool:
    return contact_services.resubscribe(contact, source="unsubscribe page")


def subscribed_list_ids(contact: Contact) -> set[int]:
    return set(
        Subscription.objects.filter(contact=contact)
        .exclude(status=Subscription.Status.UNSUBSCRIBED)
        .values_list("mailing_list_id", flat=True)
    )


@transaction.atomic
def update_preferences(
    contact: Contact,
    *,
    lists: list[MailingList],
    frequency: str,
    pause_days: int,
    profile: dict[str, str],
) -> None:
    """Apply the preference centre: list choices, frequency, a pause and profile fields.
    Each kind of change is recorded in the contact's history."""
    chosen = {mailing_list.pk for mailing_list in lists}
    current = subscribed_list_ids(contact)
    for mailing_list in lists:
        if mailing_list.pk not in current:
            contact_services.subscribe(contact, mailing_list, source="preferences", confirmed=True)
    for mailing_list in MailingList.objects.filter(pk__in=current - chosen, is_public=True):
        contact_services.unsubscribe(contact, mailing_list=mailing_list, source="preferences")
    paused_until = timezone.now() + timedelta(days=pause_days) if pause_days else None
    changes = {"frequency": frequency} if frequency != contact.frequency else {}
    if pause_days or contact.paused_until:
        changes["paused_until"] = paused_until.isoformat() if paused_until else None
    profile_changes = {field: value for field, value in profile.items() if getattr(contact, field) != value}
    Contact.objects.filter(pk=contact.pk).update(frequency=frequency, paused_until=paused_until, **profile_changes)
    if changes or chosen != current:
        lists_detail = sorted(MailingList.objects.filter(pk__in=chosen).values_list("slug", flat=True))
        contact_services.record(contact, Activity.Kind.PREFERENCES, details={**changes, "lists": lists_detail})
    if profile_changes:
        contact_services.record(contact, Activity.Kind.PROFILE, details={"fields": sorted(profile_changes)})


def sender_name(campaign_id: int | None) -> str:
    """Whom the public pages speak for: the sender of the campaign the link came in, else the
    name of the default From address."""
    name = None
    if campaign_id is not None:
        name = Campaign.objects.filter(pk=campaign_id).values_list("sender__name", flat=True).first()
    return name or parseaddr(settings.DEFAULT_FROM_EMAIL)[0] or settings.WAGTAIL_SITE_NAME
