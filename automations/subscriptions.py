"""Adding a group to a list in one INSERT ... SELECT: the unique (contact, list) index stands
in for the anti-join on existing subscriptions, which PostgreSQL plans as a rescan of every
subscription of the list per batch (seconds each at a few hundred thousand members)."""

from __future__ import annotations

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import F
from django.utils import timezone

from automations import history
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
    try:
        sql, params = eligible.query.sql_with_params()
    except EmptyResultSet:
        return []
    pending = mailing_list.double_opt_in
    now = timezone.now()
    status = Subscription.Status.PENDING if pending else Subscription.Status.SUBSCRIBED
    table = connection.ops.quote_name(Subscription._meta.db_table)
    # Only our own fragments and the ORM's compiled query are interpolated; values are parameters.
    insert = (
        f"INSERT INTO {table} (contact_id, mailing_list_id, status, created_at, confirmed_at) "  # noqa: S608
        f"SELECT a.r_id, %s, %s, %s, %s FROM ({sql}) a WHERE 1 = 1 "
        f"ON CONFLICT (contact_id, mailing_list_id) DO NOTHING RETURNING contact_id"
    )
    with connection.cursor() as cursor:
        cursor.execute(insert, [mailing_list.pk, status, now, None if pending else now, *params])
        added = [row[0] for row in cursor.fetchall()]
    summary = f"Added to the list {mailing_list.name} by a journey"
    history.record(added, Activity.Kind.SUBSCRIBED, summary, list=mailing_list.slug, pending=pending)
    return added
