"""State changes of contacts. Views, admin actions, webhooks, commands and tasks call
these; nothing else sets Contact.status and saves. Each records an Activity row."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from taggit.models import Tag

from contacts import profile_changes
from contacts.erased import is_erased
from contacts.models import (
    Activity,
    Contact,
    MailingList,
    Subscription,
    Suppression,
    TaggedContact,
)
from contacts.validation import DomainChecker, DomainStatus, validate_address

Kind = Activity.Kind


def record(contact: Contact | int, kind: str, *, occurred_at: datetime | None = None, **fields: Any) -> Activity:
    """Add one event to a contact's history."""
    contact_id = contact if isinstance(contact, int) else contact.pk
    return Activity.objects.create(
        contact_id=contact_id, kind=kind, occurred_at=occurred_at or timezone.now(), **fields
    )


def record_many(rows: Iterable[Activity], batch_size: int = 2000) -> None:
    """Bulk insert history rows built by the caller; rows with a known event_id are skipped."""
    Activity.objects.bulk_create(rows, batch_size=batch_size, ignore_conflicts=True)


def _set_status(contact: Contact, status: str, kind: str, details: dict[str, Any]) -> bool:
    """Move a contact to ``status`` unless it is already there; returns whether it changed."""
    now = timezone.now()
    changed = Contact.objects.filter(pk=contact.pk).exclude(status=status).update(status=status, status_changed_at=now)
    if changed:
        contact.status, contact.status_changed_at = status, now
        record(contact, kind, details={"status": status, **details})
    return bool(changed)


@transaction.atomic
def subscribe(
    contact: Contact,
    mailing_list: MailingList,
    *,
    source: str = "manual",
    ip: str | None = None,
    form: str = "",
    confirmed: bool = False,
) -> Subscription:
    """Add a contact to a list; a double opt-in list keeps it pending until confirmed.

    Never re-subscribes a contact that unsubscribed, bounced, complained or is suppressed:
    that takes an explicit :func:`resubscribe` by the contact.
    """
    subscription, created = Subscription.objects.get_or_create(contact=contact, mailing_list=mailing_list)
    if not created and subscription.status != Subscription.Status.PENDING:
        return subscription
    needs_confirmation = mailing_list.double_opt_in and not confirmed
    subscription.status = Subscription.Status.PENDING if needs_confirmation else Subscription.Status.SUBSCRIBED
    subscription.confirmed_at = None if needs_confirmation else timezone.now()
    subscription.save(update_fields=["status", "confirmed_at"])
    if contact.consent_at is None:
        Contact.objects.filter(pk=contact.pk).update(
            consent_at=timezone.now(), consent_method=source, consent_ip=ip, consent_form=form
        )
    record(
        contact, Kind.SUBSCRIBED, details={"list": mailing_list.slug, "source": source, "pending": needs_confirmation}
    )
    return subscription


@transaction.atomic
def confirm(subscription: Subscription) -> None:
    """Double opt-in confirmation: the pending subscription becomes active."""
    now = timezone.now()
    if Subscription.objects.filter(pk=subscription.pk, status=Subscription.Status.PENDING).update(
        status=Subscription.Status.SUBSCRIBED, confirmed_at=now
    ):
        Contact.objects.filter(pk=subscription.contact_id).update(confirmed_at=now)
        record(subscription.contact_id, Kind.CONFIRMED, details={"list": subscription.mailing_list.slug})


@transaction.atomic
def unsubscribe(
    contact: Contact,
    *,
    mailing_list: MailingList | None = None,
    campaign_id: int | None = None,
    message_id: int | None = None,
    source: str = "link",
    event_id: str | None = None,
) -> None:
    """Unsubscribe from one list, or from everything when no list is given.

    ``event_id`` (an ESP's event) is stored on the history row so a replayed event is recognised."""
    now = timezone.now()
    subscriptions = Subscription.objects.filter(contact=contact).exclude(status=Subscription.Status.UNSUBSCRIBED)
    if mailing_list is not None:
        subscriptions = subscriptions.filter(mailing_list=mailing_list)
        if subscriptions.update(status=Subscription.Status.UNSUBSCRIBED, unsubscribed_at=now):
            record(
                contact,
                Kind.UNSUBSCRIBED,
                campaign_id=campaign_id,
                message_id=message_id,
                event_id=event_id,
                details={"list": mailing_list.slug, "source": source},
            )
        return
    subscriptions.update(status=Subscription.Status.UNSUBSCRIBED, unsubscribed_at=now)
    if Contact.objects.filter(pk=contact.pk, status=Contact.Status.SUBSCRIBED).update(
        status=Contact.Status.UNSUBSCRIBED, status_changed_at=now
    ):
        contact.status = Contact.Status.UNSUBSCRIBED
        record(
            contact,
            Kind.UNSUBSCRIBED,
            campaign_id=campaign_id,
            message_id=message_id,
            event_id=event_id,
            details={"source": source},
        )


@transaction.atomic
def resubscribe(contact: Contact, *, source: str = "link") -> bool:
    """The contact asked to hear from us again. Refused for suppressed, bounced or complained contacts."""
    if contact.status != Contact.Status.UNSUBSCRIBED or is_suppressed(contact.email):
        return False
    Subscription.objects.filter(contact=contact, status=Subscription.Status.UNSUBSCRIBED).update(
        status=Subscription.Status.SUBSCRIBED, unsubscribed_at=None
    )
    return _set_status(contact, Contact.Status.SUBSCRIBED, Kind.SUBSCRIBED, {"source": source, "resubscribed": True})


def is_suppressed(email: str) -> bool:
    """On the suppression list by address, by domain, or as an erased person's hashed address."""
    domain = email.rpartition("@")[2].lower()
    return (
        Suppression.objects.filter(email=email.lower()).exists()
        or Suppression.objects.filter(domain=domain).exists()
        or is_erased(email)
    )


def suppress(*, email: str = "", domain: str = "", reason: str = Suppression.Reason.MANUAL, source: str = "") -> bool:
    """Add an address or a whole domain to the suppression list; returns whether it was new."""
    email, domain = email.strip().lower(), domain.strip().lower().lstrip("@")
    if bool(email) == bool(domain):
        raise ValueError("suppress() takes an email or a domain, not both or neither")
    lookup = {"email": email} if email else {"domain": domain}
    _, created = Suppression.objects.get_or_create(**lookup, defaults={"reason": reason, "source": source})
    return created


@transaction.atomic
def mark_bounced(
    contact: Contact,
    *,
    campaign_id: int | None = None,
    message_id: int | None = None,
    event_id: str | None = None,
    **details,
) -> None:
    """A hard bounce (or three soft ones): out of the sending pool for good."""
    record(
        contact, Kind.BOUNCED_HARD, campaign_id=campaign_id, message_id=message_id, event_id=event_id, details=details
    )
    suppress(email=contact.email, reason=Suppression.Reason.HARD_BOUNCE, source=details.get("source", "bounce"))
    Contact.objects.filter(pk=contact.pk).update(standing=Contact.Standing.SUPPRESSED)
    _set_status(contact, Contact.Status.BOUNCED, Kind.STATUS, {"reason": "bounce"})


@transaction.atomic
def mark_complained(
    contact: Contact,
    *,
    campaign_id: int | None = None,
    message_id: int | None = None,
    event_id: str | None = None,
    **details,
) -> None:
    """A spam complaint: suppressed and never mailed again."""
    record(contact, Kind.COMPLAINED, campaign_id=campaign_id, message_id=message_id, event_id=event_id, details=details)
    suppress(email=contact.email, reason=Suppression.Reason.COMPLAINT, source=details.get("source", "complaint"))
    Contact.objects.filter(pk=contact.pk).update(standing=Contact.Standing.SUPPRESSED)
    _set_status(contact, Contact.Status.COMPLAINED, Kind.STATUS, {"reason": "complaint"})


def touch_last_sent(contact_ids: Iterable[int], sent_at: datetime) -> None:
    """Frequency preferences count from the last send."""
    Contact.objects.filter(pk__in=list(contact_ids)).update(last_sent_at=sent_at)


def add_note(contact: Contact, text: str, author) -> Activity:
    """A salesperson's note on the timeline."""
    return record(contact, Kind.NOTE, details={"text": text}, created_by=author)


# --- Bulk actions (admin) ------------------------------------------------------------------------


def subscribe_many(contact_ids: Iterable[int], mailing_list: MailingList) -> list[int]:
    """Add contacts to a list with the same rule as :func:`subscribe` (never contacts that
    unsubscribed, bounced, complained or are suppressed); returns the ids newly added."""
    new_ids = list(
        Contact.objects.filter(pk__in=list(contact_ids), status=Contact.Status.SUBSCRIBED)
        .exclude(Contact.objects.suppressed_q())
        .exclude(subscriptions__mailing_list=mailing_list)
        .values_list("pk", flat=True)
    )
    pending = mailing_list.double_opt_in
    now = timezone.now()
    Subscription.objects.bulk_create(
        [
            Subscription(
                contact_id=contact_id,
                mailing_list=mailing_list,
                status=Subscription.Status.PENDING if pending else Subscription.Status.SUBSCRIBED,
                confirmed_at=None if pending else now,
            )
            for contact_id in new_ids
        ],
        batch_size=1000,
        ignore_conflicts=True,
    )
    return new_ids


@transaction.atomic
def add_to_list(contact_ids: Iterable[int], mailing_list: MailingList, *, source: str = "admin") -> int:
    """Subscribe many contacts at once (see :func:`subscribe_many`), each with a history row.
    Returns how many were added."""
    new_ids = subscribe_many(contact_ids, mailing_list)
    details = {"list": mailing_list.slug, "source": source, "pending": mailing_list.double_opt_in}
    now = timezone.now()
    record_many(Activity(contact_id=pk, kind=Kind.SUBSCRIBED, occurred_at=now, details=details) for pk in new_ids)
    return len(new_ids)


@transaction.atomic
def tag_contacts(contact_ids: Iterable[int], tag_name: str) -> int:
    """Add one tag to many contacts; returns how many newly got it."""
    tag = Tag.objects.filter(name=tag_name).first() or Tag.objects.create(name=tag_name)
    untagged = Contact.objects.filter(pk__in=list(contact_ids)).exclude(tagged_items__tag=tag)
    new_ids = list(untagged.values_list("pk", flat=True))
    TaggedContact.objects.bulk_create([TaggedContact(content_object_id=pk, tag=tag) for pk in new_ids], batch_size=1000)
    now, details = timezone.now(), profile_changes.tags_details([], [tag.name])
    record_many(Activity(contact_id=pk, kind=Kind.TAGS, occurred_at=now, details=details) for pk in new_ids)
    return len(new_ids)


@transaction.atomic
def unsubscribe_many(contact_ids: Iterable[int], *, source: str = "admin") -> int:
    """Unsubscribe many contacts from everything; returns how many changed status."""
    now = timezone.now()
    contacts = Contact.objects.filter(pk__in=list(contact_ids), status=Contact.Status.SUBSCRIBED)
    changed = list(contacts.values_list("pk", flat=True))
    Subscription.objects.filter(contact_id__in=changed).exclude(status=Subscription.Status.UNSUBSCRIBED).update(
        status=Subscription.Status.UNSUBSCRIBED, unsubscribed_at=now
    )
    Contact.objects.filter(pk__in=changed).update(status=Contact.Status.UNSUBSCRIBED, status_changed_at=now)
    record_many(
        Activity(contact_id=pk, kind=Kind.UNSUBSCRIBED, occurred_at=now, details={"source": source}) for pk in changed
    )
    return len(changed)


PROFILE_EDIT_FIELDS = [*Contact.PROFILE_FIELDS, "notes"]


@transaction.atomic
def update_profile(contact: Contact, changed: list[str], author) -> Contact:
    """Save an edited profile (never its status) and note in the history what really changed,
    in words ("Owner changed to Sam"); fields a form only re-submitted are not mentioned."""
    fields = [name for name in changed if name != "status"]
    if not fields:
        return contact
    added = contact.pk is None
    before = profile_changes.stored_values(contact, fields)
    contact.save()
    if added:
        fields, sentences = sorted(fields), ["Contact added"]
    else:
        # Owner and grade changes are events of their own kind, which rules and reports react to.
        record_many(profile_changes.field_events(contact, fields, before, author))
        profile = [name for name in fields if name not in profile_changes.EVENT_KINDS]
        fields, sentences = profile_changes.describe(contact, profile, before)
    if fields:
        record(contact, Kind.PROFILE, details={"fields": fields, "changes": sentences}, created_by=author)
    return contact


def record_tag_change(contact: Contact, before: Iterable[str], author) -> None:
    """Note in the history how an edit changed the contact's tags (nothing if it did not)."""
    after = sorted(contact.tags.names())
    if sorted(before) != after:
        record(contact, Kind.TAGS, details=profile_changes.tags_details(sorted(before), after), created_by=author)


# --- Re-validation -------------------------------------------------------------------------------------


@transaction.atomic
def clean_contacts(contact_ids: Iterable[int], reason: str) -> int:
    """Take undeliverable addresses out of the sending pool: status ``cleaned``, history kept."""
    now = timezone.now()
    ids = list(
        Contact.objects.filter(pk__in=list(contact_ids))
        .exclude(status=Contact.Status.CLEANED)
        .values_list("pk", flat=True)
    )
    Contact.objects.filter(pk__in=ids).update(
        status=Contact.Status.CLEANED,
        status_changed_at=now,
        verification=Contact.Verification.INVALID,
        verification_reason=reason,
        verified_at=now,
    )
    record_many(
        Activity(contact_id=pk, kind=Kind.STATUS, occurred_at=now, details={"status": "cleaned", "reason": reason})
        for pk in ids
    )
    return len(ids)


def revalidate_list(list_id: int) -> dict[str, int]:
    """Re-check the domains of a list's members: one verdict per domain, applied in bulk.

    Returns how many contacts ended up verified, unverified and cleaned.
    """
    members = Contact.objects.filter(subscriptions__mailing_list_id=list_id).exclude(status=Contact.Status.CLEANED)
    checker, now = DomainChecker(), timezone.now()
    counts = {"verified": 0, "unverified": 0, "cleaned": 0}
    for domain in members.values_list("email_domain", flat=True).distinct().order_by().iterator():
        verdict = validate_address(f"postmaster@{domain}", check_dns=True, checker=checker)
        in_domain = members.filter(email_domain=domain)
        if not verdict.valid:
            counts["cleaned"] += clean_contacts(in_domain.values_list("pk", flat=True), str(verdict.reason))
        elif verdict.domain_status == DomainStatus.UNVERIFIED:
            counts["unverified"] += in_domain.update(verification=Contact.Verification.UNVERIFIED, verified_at=now)
        else:
            counts["verified"] += in_domain.update(verification=Contact.Verification.VERIFIED, verified_at=now)
    return counts


# --- Import jobs: draft -> queued -> running -> done | failed (each step a conditional UPDATE) ---
