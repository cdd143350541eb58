"""Adding a group to a list in one INSERT ... SELECT: the unique (contact, list) index stands
in for the anti-join on existing subscriptions, which PostgreSQL plans as a rescan of every
subscription of the list per batch (seconds each at a few hundred thousand members)."""

from __future__ import annotations

from django.db.models import F
from django.utils import timezone

from automations import history
from automations.insert_select import insert_select
from contacts.models import Activity, Contact, MailingList, Subscription


def add(contact_ids: list[int], mailing_list: MailingList) -> list[int]:
    """Subscribe the subscribed, unsuppressed contacts among ``contact_ids`` who have no row for
    the list yet (never re-adding one who left it), each with a history row; returns their ids."""
    eligible = (
        Contact.objects.filter(pk__in=contact_ids, status=Contact.Status.SUBSCRIBED)
        .exclude(Contact.objects.suppressed_q())
        .order_by()
        .annotate(r_id=F("pk"))
        .values_list("r_id")
    )
    pending = mailing_list.double_opt_in
    now = timezone.now()
    status = Subscription.Status.PENDING if pending else Subscription.Status.SUBSCRIBED
    added = insert_select(
        Subscription,
        "contact_id, mailing_list_id, status, created_at, confirmed_at",
        "a.r_id, %s, %s, %s, %s",
        eligible,
        [mailing_list.pk, status, now, None if pending else now],
        tail="WHERE 1 = 1 ON CONFLICT (contact_id, mailing_list_id) DO NOTHING",
        returning="contact_id",
    )
    summary = f"Added to the list {mailing_list.name} by a journey"
    history.record(added, Activity.Kind.SUBSCRIBED, summary, list=mailing_list.slug, pending=pending)
    return added
