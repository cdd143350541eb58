"""Benchmark: count a three-rule segment over 1M contacts and 5M activities on PostgreSQL.

    .venv/bin/python -m bench.segment_count [--contacts 1000000] [--activities 5000000]

Starts a throwaway PostgreSQL cluster unless DATABASE_URL is set. Data is generated inside
the database (INSERT ... SELECT generate_series): 10% of contacts in retail, half of them
on the newsletter list, activities spread over 180 days (10% clicks). The segment is
industry = Retail AND on the newsletter AND clicked in the last 30 days.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")

from devtools.services import PostgresCluster  # noqa: E402

RULES = {
    "match": "all",
    "rules": [
        {"field": "industry", "op": "equals", "value": "Retail"},
        {"field": "list", "op": "in", "value": ["newsletter"]},
        {"event": "clicked", "within_days": 30},
    ],
}


def sql_literal(value) -> str:
    """A SQL literal for a model field's Python default (bench-only, our own values)."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, (dict, list)):
        return "'" + json.dumps(value).replace("'", "''") + "'::jsonb"
    return "'" + str(value).replace("'", "''") + "'"


def insert_select(model, overrides: dict[str, str], source: str) -> str:
    """INSERT INTO <model> (every column) SELECT <override or the field's default> FROM <source>.

    Built from the model's fields so columns added by other apps get their defaults."""
    from django.db import models

    columns, values = [], []
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        if field.column in overrides:
            value = overrides[field.column]
        elif field.null:
            value = "NULL"
        elif isinstance(field, models.DateTimeField):
            value = "now()"
        elif field.has_default():
            value = sql_literal(field.get_default())
        elif isinstance(field, (models.CharField, models.TextField)):
            value = "''"
        else:
            raise RuntimeError(f"no bench value for {model.__name__}.{field.name}")
        columns.append(f'"{field.column}"')
        values.append(value)
    return f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) SELECT {', '.join(values)} FROM {source}"  # noqa: S608


def generate(contacts: int, activities: int) -> None:
    from django.db import connection

    from contacts.models import Activity, Contact, MailingList, Subscription

    newsletter = MailingList.objects.create(name="Newsletter", slug="newsletter")
    industries = "(ARRAY['Retail','Finance','Health','Education','Energy','Media','Travel','Food','Auto','Tech'])"
    contact_sql = insert_select(
        Contact,
        {
            "email": "'c' || n || '@d' || (n % 2000) || '.example.net'",
            "email_domain": "'d' || (n % 2000) || '.example.net'",
            "first_name": "'First' || n",
            "industry": f"{industries}[1 + n % 10]",
            "grade": "(ARRAY['A','B','C'])[1 + n % 3]",
            "created_at": "now() - (n % 365) * interval '1 day'",
        },
        f"generate_series(1, {int(contacts)}) AS n",
    )
    subscription_sql = insert_select(
        Subscription,
        {"contact_id": "id", "mailing_list_id": str(newsletter.pk), "status": "'subscribed'"},
        "contacts_contact WHERE id % 2 = 0",
    )
    kinds = "(ARRAY['sent','sent','sent','sent','opened','opened','opened','clicked','delivered','delivered'])"
    activity_sql = insert_select(
        Activity,
        {
            # Random (seeded) so events are spread over contacts independently of their industry.
            "contact_id": f"1 + floor(random() * {int(contacts)})::int",
            "kind": f"{kinds}[1 + n % 10]",
            "occurred_at": "now() - ((n * 31) % (180 * 24 * 60)) * interval '1 minute'",
            "campaign_id": "1 + n % 50",
        },
        f"generate_series(1, {int(activities)}) AS n",
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT setseed(0.42)")
        for label, sql in (
            ("contacts", contact_sql),
            ("subscriptions", subscription_sql),
            ("activities", activity_sql),
        ):
            started = time.perf_counter()
            cursor.execute(sql)
            print(f"generated {label}: {cursor.rowcount:,} rows in {time.perf_counter() - started:.1f} s", flush=True)
        cursor.execute("ANALYZE")


def measure() -> None:
    from django.db import connection

    from contacts.models import Contact
    from contacts.segments import compile_rules

    segment = Contact.objects.filter(compile_rules(RULES))
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        count = segment.count()
        timings.append(time.perf_counter() - started)
    print(f"three-rule segment count = {count:,}")
    print(
        f"count time: first {timings[0] * 1000:.0f} ms, median {statistics.median(timings) * 1000:.0f} ms, "
        f"max {max(timings) * 1000:.0f} ms over {len(timings)} runs"
    )
    started = time.perf_counter()
    sendable = Contact.objects.sendable().filter(compile_rules(RULES)).count()
    elapsed_ms = (time.perf_counter() - started) * 1000
    print(f"as a campaign audience (sendable AND segment) = {sendable:,} in {elapsed_ms:.0f} ms")
    sql, params = segment.order_by().values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS OFF) SELECT count(*) FROM ({sql}) AS segment", params)  # noqa: S608
        plan = [row[0] for row in cursor.fetchall()]
    print("plan:\n  " + "\n  ".join(plan))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--activities", type=int, default=5_000_000)
    args = parser.parse_args()
    cluster = None
    if not os.environ.get("DATABASE_URL"):
        cluster = PostgresCluster().start()
        os.environ["DATABASE_URL"] = cluster.url
    try:
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        generate(args.contacts, args.activities)
        measure()
    finally:
        if cluster:
            cluster.stop()


if __name__ == "__main__":
    main()
