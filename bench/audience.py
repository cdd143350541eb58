# ruff: noqa: S608 - table names, constants and integers generated here; no outside input
"""Audience report at scale: list growth over 2 years x 50 lists, and contacts by grade x region x
industry x owner, on PostgreSQL; prints the times of the queries the Audience page runs. List
growth is timed from the subscriptions alone, then from the hourly roll-up (after the catch-up
that rolls it up), and the two must agree.

    .venv/bin/python -m bench.audience [--contacts 1000000] [--lists 50] [--runs 5]

Starts a throwaway PostgreSQL cluster and a private Redis (devtools.services.benchmark_services)
unless DATABASE_URL is set. Contacts, subscriptions and history rows are generated inside the
database (INSERT ... SELECT generate_series), spread over the last two years.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from bench.reports import clone, log
from devtools.services import benchmark_services

GRADES = "(ARRAY['A','B','C',''])"
REGIONS = "(ARRAY['Guangdong','Zhejiang','Jiangsu','Beijing','Shanghai','Sichuan','Hubei','Fujian','Shandong',''])"
INDUSTRIES = "(ARRAY['Retail','Manufacturing','Software','Logistics','Education','Health','Finance','Food',''])"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--lists", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
    with benchmark_services():
        run(args)


def generate(contacts: int, lists: int) -> None:
    from django.db import connection

    from contacts.models import Activity, Contact, MailingList, Subscription
    from tests.factories import ContactFactory, UserFactory

    owners = [UserFactory(username=f"owner{n}").pk for n in range(20)]
    template = ContactFactory(email="template@example.com")
    list_ids = [MailingList.objects.create(name=f"List {n}", slug=f"list-{n}").pk for n in range(lists)]
    two_years = "interval '730 days'"
    began = time.perf_counter()
    with connection.cursor() as cursor:
        clone(
            cursor,
            Contact._meta.db_table,
            template.pk,
            contacts,
            {
                "email": "'c' || g || '@example.com'",
                "email_domain": "'example.com'",
                "grade": f"{GRADES}[1 + g % 4]",
                "region": f"{REGIONS}[1 + g % 10]",
                "industry": f"{INDUSTRIES}[1 + g % 9]",
                "owner_id": f"(ARRAY{owners})[1 + g % {len(owners)}]",
                "created_at": f"now() - {two_years} * random()",
            },
        )
        log(f"{contacts} contacts in {time.perf_counter() - began:.0f}s")
        # One list per contact, joined at creation; 70% confirmed, 5% unsubscribed later.
        cursor.execute(
            f"INSERT INTO {Subscription._meta.db_table} (contact_id, mailing_list_id, status, created_at,"
            " confirmed_at, unsubscribed_at)"
            f" SELECT c.id, (ARRAY{list_ids})[1 + c.id % {lists}],"
            " CASE WHEN c.id % 20 = 0 THEN 'unsubscribed' ELSE 'subscribed' END, c.created_at,"
            " CASE WHEN c.id % 10 < 7 THEN c.created_at + interval '5 minutes' END,"
            " CASE WHEN c.id % 20 = 0 THEN c.created_at + interval '3 days' END"
            f" FROM {Contact._meta.db_table} c WHERE c.id <> {template.pk}"
        )
        log(f"subscriptions in {time.perf_counter() - began:.0f}s")
        # History: a send to everyone each month is what makes Activity large; bounces 1%, complaints 0.1%.
        cursor.execute(
            f"INSERT INTO {Activity._meta.db_table} (contact_id, kind, occurred_at, link_url, is_machine, details)"
            " SELECT c.id, CASE WHEN c.id % 1000 = 0 THEN 'complained' ELSE 'bounced_hard' END,"
            f" c.created_at + interval '20 days', '', false, '{{}}'::jsonb FROM {Contact._meta.db_table} c"
            " WHERE c.id % 100 = 0 OR c.id % 1000 = 0"
        )
        cursor.execute(
            f"INSERT INTO {Activity._meta.db_table} (contact_id, kind, occurred_at, link_url, is_machine, details)"
            f" SELECT c.id, 'sent', now() - (g * interval '30 days'), '', false, '{{}}'::jsonb"
            f" FROM {Contact._meta.db_table} c, generate_series(0, 5) g"
        )
        log(f"history in {time.perf_counter() - began:.0f}s")
        cursor.execute("ANALYZE")


def timed(function, runs: int) -> tuple[float, float]:
    """(median, max) milliseconds over ``runs`` calls after one warm-up call."""
    function()
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        function()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times), max(times)


def run(args) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db.models import Count
    from django.utils import timezone

    from contacts.models import Contact, Subscription
    from reports import audience, growth_rollup

    call_command("migrate", verbosity=0)
    generate(args.contacts, args.lists)
    print(f"{Contact.objects.count():,} contacts, {Subscription.objects.count():,} subscriptions on {args.lists} lists")
    now = timezone.now()
    from_subscriptions = {}
    for period in audience.PERIODS:
        from_subscriptions[period] = audience.growth(period, now=now)
        median, worst = timed(lambda period=period: audience.growth(period, now=now), args.runs)
        print(f"list growth per {period} from the subscriptions: median {median:.0f} ms, max {worst:.0f} ms")
    began = time.perf_counter()
    hours = growth_rollup.catch_up()
    print(f"roll-up catch-up over {hours:,} hours: {time.perf_counter() - began:.1f} s")
    for period in audience.PERIODS:
        assert audience.growth(period, now=now) == from_subscriptions[period], f"{period}: roll-up differs"
        median, worst = timed(lambda period=period: audience.growth(period, now=now), args.runs)
        print(f"list growth per {period} from the roll-up: median {median:.0f} ms, max {worst:.0f} ms")
    pairs = [("grade", "region"), ("grade", "industry"), ("region", "owner")]
    for rows, columns in pairs:
        median, worst = timed(lambda r=rows, c=columns: audience.classification(r, c), args.runs)
        print(f"contacts by {rows} x {columns}: median {median:.0f} ms, max {worst:.0f} ms")

    def every_dimension() -> int:
        fields = [audience._field(name) for name in audience.DIMENSIONS]
        return len(list(Contact.objects.values(*fields).annotate(n=Count("pk")).order_by()))

    median, worst = timed(every_dimension, args.runs)
    print(f"contacts by grade x region x industry x owner (one query): median {median:.0f} ms, max {worst:.0f} ms")


if __name__ == "__main__":
    main()
