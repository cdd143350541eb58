"""Freezing a campaign's audience into Message rows, inside the database.

Each Message row's status is the only record of progress (saved when work is done, never
when it is fetched); the rows made here are what campaigns.dispatch hands out in batches.
"""

from __future__ import annotations

from datetime import time as time_of_day
from datetime import timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import F

from campaigns.audience import audience
from campaigns.models import Campaign, Message

# Contact ids are mostly consecutive; multiplying by a prime before taking the remainder
# scatters neighbours over all 100 buckets, so the A/B test share is not "the oldest
# contacts" and does not follow import batches. 7919 is the 1000th prime: any prime that
# shares no factor with 100 would do, a large one spreads short runs of ids further.
TEST_SHARE_SPREAD = 7919


def freeze_audience(campaign: Campaign, variants: int = 1, test_share: int = 0) -> int:
    """Insert one queued Message per audience contact in a single INSERT ... SELECT.

    Rows are numbered into batches of SEND_BATCH_SIZE in SQL. With ``variants`` > 1 a
    ``test_share`` percent of contacts (spread by id) get variants 0..n-1 round robin and
    the rest are held for the winner (variant set once the A/B test is decided).
    """
    # Aliased columns, so the outer SELECT can name them on SQLite too.
    contacts = (
        audience(campaign)
        .order_by()
        .annotate(r_id=F("pk"), r_email=F("email"), r_domain=F("email_domain"))
        .values_list("r_id", "r_email", "r_domain")
    )
    try:
        sql, params = contacts.query.sql_with_params()
    except EmptyResultSet:  # nothing included: no list and no segment
        return 0
    in_test = f"((a.r_id * {TEST_SHARE_SPREAD}) %% 100) < %s"
    if variants > 1:
        variant = f"CASE WHEN {in_test} THEN a.r_id %% %s ELSE 0 END"
        status = f"CASE WHEN {in_test} THEN 'queued' ELSE 'held' END"
        select_params = [test_share, variants, test_share]
    else:
        variant, status, select_params = "0", "'queued'", []
    table = connection.ops.quote_name(Message._meta.db_table)
    # Only our own fragments and the ORM's compiled query are interpolated; values are parameters.
    insert = (
        f"INSERT INTO {table} (campaign_id, contact_id, email, domain, variant, status, batch, attempts, error, claim) "  # noqa: S608
        f"SELECT %s, a.r_id, a.r_email, a.r_domain, {variant}, {status}, "
        f"(ROW_NUMBER() OVER (ORDER BY a.r_id) - 1) / %s, 0, '', '' "
        f"FROM ({sql}) a WHERE 1 = 1 ON CONFLICT (campaign_id, contact_id) DO NOTHING"
    )
    with connection.cursor() as cursor:
        cursor.execute(insert, [campaign.pk, *select_params, settings.SEND_BATCH_SIZE, *params])
        return cursor.rowcount


def spread_by_time_zone(campaign: Campaign, local_time: time_of_day) -> None:
    """Hold each message until ``local_time`` in its contact's time zone (the next such moment
    after the start): one UPDATE per distinct zone, contacts without a valid zone use TIME_ZONE."""
    default = ZoneInfo(settings.TIME_ZONE)
    rows = Message.objects.filter(campaign=campaign)
    for name in rows.values_list("contact__time_zone", flat=True).distinct():
        try:
            zone = ZoneInfo(name) if name else default
        except (ZoneInfoNotFoundError, ValueError):
            zone = default
        local = campaign.started_at.astimezone(zone)
        target = local.replace(hour=local_time.hour, minute=local_time.minute, second=0, microsecond=0)
        if target < local:
            target += timedelta(days=1)
        rows.filter(contact__time_zone=name).update(not_before=target)
