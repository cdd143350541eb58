# ruff: noqa: S608 - table names, constants and integers generated here; no outside input
"""Campaign report at scale: page p95, equality with raw SQL counts, and what roll-ups add to the drain.

    .venv/bin/python -m bench.reports [--recipients 1000000] [--events 5000000] [--drain 200000]

Starts a throwaway PostgreSQL cluster and a private Redis (devtools.services.benchmark_services)
unless DATABASE_URL is set. Contacts, messages and history rows are generated inside the
database (INSERT ... SELECT generate_series, cloning one ORM-made row for the other columns);
the roll-ups are then computed by ``rebuild_reports`` (the same code the drain runs) and the
report is compared, number by number, with COUNTs over Activity and Message.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

from devtools.services import benchmark_services

DOMAINS = ["gmail.com", "outlook.com", "qq.com", "163.com", "yahoo.com", "icloud.com", "web.de", "example.org"]
AGENTS = [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17328; Pro)",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36",
    "Mozilla/5.0",
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--recipients", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=5_000_000, help="history rows in all, sends included")
    parser.add_argument("--drain", type=int, default=200_000, help="events drained with and without roll-ups")
    parser.add_argument("--rounds", type=int, default=4, help="alternations of the drain with and without roll-ups")
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost")
    with benchmark_services():
        run(args)


def log(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def clone(cursor, table: str, template_id: int, count: int, overrides: dict[str, str]) -> None:
    """``count`` copies of one row, columns in ``overrides`` computed from g (1..count)."""
    cursor.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = %s AND column_name <> 'id'", [table]
    )
    columns = [row[0] for row in cursor.fetchall()]
    values = [overrides.get(column, f"t.{column}") for column in columns]
    cursor.execute(
        f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(values)} "
        f"FROM {table} t, generate_series(1, {count}) g WHERE t.id = {template_id}"
    )


def generate(args):
    from django.db import connection
    from django.utils import timezone

    from campaigns.models import Campaign
    from contacts.models import Activity, Contact
    from tests.factories import ActivityFactory, CampaignFactory, ContactFactory, MessageFactory

    n, events = args.recipients, args.events
    started_at = timezone.now() - timedelta_days(10)
    campaign = CampaignFactory(status=Campaign.Status.SENT, started_at=started_at)
    for index in range(4):
        campaign.links.create(index=index, url=f"https://shop.example.com/item/{index}")
    template = ContactFactory(email="template@example.com")
    message = MessageFactory(campaign=campaign, contact=template, status="sent", sent_at=started_at)
    activity = ActivityFactory(contact=template, kind="sent", campaign_id=campaign.pk, message_id=message.pk)
    domains = "(ARRAY[" + ",".join(f"'{d}'" for d in DOMAINS) + "])"
    agents = "(ARRAY[" + ",".join("'" + a.replace("'", "''") + "'" for a in AGENTS) + "])"
    since = f"'{started_at.isoformat()}'"
    began = time.perf_counter()
    with connection.cursor() as cursor:
        clone(
            cursor,
            Contact._meta.db_table,
            template.pk,
            n,
            {"email": "'r' || g || '@' || " + domains + "[1 + g % 8]", "email_domain": domains + "[1 + g % 8]"},
        )
        log(f"{n} contacts in {time.perf_counter() - began:.0f}s")
        cursor.execute(f"SELECT min(id) FROM {Contact._meta.db_table} WHERE id > %s", [template.pk])
        first_contact = cursor.fetchone()[0]
        table = message._meta.db_table
        clone(
            cursor,
            table,
            message.pk,
            n,
            {
                "contact_id": f"{first_contact} + g - 1",
                "email": "'r' || g || '@' || " + domains + "[1 + g % 8]",
                "domain": domains + "[1 + g % 8]",
                "variant": "g % 2",
            },
        )
        cursor.execute(f"SELECT min(id) FROM {table} WHERE id > %s", [message.pk])
        first_message = cursor.fetchone()[0]
        log(f"{n} messages in {time.perf_counter() - began:.0f}s")
        history = Activity._meta.db_table
        cursor.execute(f"DELETE FROM {history} WHERE id = %s", [activity.pk])
        # Sends, and a hard bounce an hour later for 1 in 100.
        cursor.execute(
            f"INSERT INTO {history} (contact_id, kind, occurred_at, campaign_id, message_id, link_url, is_machine,"
            f" details) SELECT {first_contact} + g, 'sent', {since}::timestamptz, {campaign.pk}, {first_message} + g,"
            f" '', false, '{{}}'::jsonb FROM generate_series(0, {n - 1}) g",
        )
        cursor.execute(
            f"INSERT INTO {history} (contact_id, kind, occurred_at, campaign_id, message_id, link_url, is_machine,"
            f" details) SELECT {first_contact} + g, 'bounced_hard', {since}::timestamptz + interval '1 hour',"
            f" {campaign.pk}, {first_message} + g, '', false, '{{}}'::jsonb"
            f" FROM generate_series(0, {n - 1}, 100) g",
        )
        log(f"sends and bounces in {time.perf_counter() - began:.0f}s")
        engagement = max(events - n - n // 100, 0)
        # Opens (4 in 5) on half the messages, clicks on a fifth; 1 in 7 by a machine; spread over 240 hours.
        cursor.execute(
            f"INSERT INTO {history} (contact_id, kind, occurred_at, campaign_id, message_id, link_url, is_machine,"
            " details, event_id)"
            f" SELECT {first_contact} + m, CASE WHEN g % 5 = 0 THEN 'clicked' ELSE 'opened' END,"
            f" {since}::timestamptz + (g % 240) * interval '1 hour' + interval '10 minutes', {campaign.pk},"
            f" {first_message} + m,"
            " CASE WHEN g % 5 = 0 THEN 'https://shop.example.com/item/' || (g % 4) ELSE '' END, g % 7 = 0,"
            f" CASE WHEN g % 5 = 0 THEN jsonb_build_object('ua', {agents}[1 + g % 3], 'link', g % 4)"
            f" ELSE jsonb_build_object('ua', {agents}[1 + g % 4]) END, 'bench:' || g"
            f" FROM (SELECT g, CASE WHEN g % 5 = 0 THEN g % {max(n // 5, 1)} ELSE g % {max(n // 2, 1)} END AS m"
            f" FROM generate_series(1, {engagement}) g) s",
        )
        log(f"{engagement} opens and clicks in {time.perf_counter() - began:.0f}s")
        cursor.execute("ANALYZE")
    return campaign


def timedelta_days(days: int):
    from datetime import timedelta

    return timedelta(days=days)


def raw_counts(campaign_id: int) -> dict:
    """The report's numbers counted straight from Activity and Message."""
    from django.db import connection

    sql = """
        SELECT
          count(DISTINCT message_id) FILTER (WHERE kind = 'sent'),
          count(DISTINCT message_id) FILTER (WHERE kind IN ('bounced_hard', 'bounced_soft')),
          count(DISTINCT message_id) FILTER (WHERE kind = 'bounced_hard'),
          count(DISTINCT message_id) FILTER (WHERE kind = 'opened'),
          count(*) FILTER (WHERE kind = 'opened'),
          count(DISTINCT message_id) FILTER (WHERE kind = 'opened' AND NOT is_machine),
          count(*) FILTER (WHERE kind = 'opened' AND NOT is_machine),
          count(DISTINCT message_id) FILTER (WHERE kind = 'clicked'),
          count(*) FILTER (WHERE kind = 'clicked'),
          count(DISTINCT message_id) FILTER (WHERE kind = 'clicked' AND NOT is_machine),
          count(*) FILTER (WHERE kind = 'clicked' AND NOT is_machine)
        FROM contacts_activity WHERE campaign_id = %s
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [campaign_id])
        row = cursor.fetchone()
        cursor.execute(
            "SELECT m.domain, count(DISTINCT a.message_id) FROM contacts_activity a"
            " JOIN campaigns_message m ON m.id = a.message_id WHERE a.campaign_id = %s AND a.kind = 'sent'"
            " GROUP BY m.domain",
            [campaign_id],
        )
        domains = dict(cursor.fetchall())
        cursor.execute(
            "SELECT (details->>'link')::int, count(DISTINCT message_id) FILTER (WHERE NOT is_machine), count(*)"
            " FROM contacts_activity WHERE campaign_id = %s AND kind = 'clicked' GROUP BY 1",
            [campaign_id],
        )
        links = {index: (human, total) for index, human, total in cursor.fetchall()}
    engagement = ("unique", "total", "unique_human", "total_human")
    return {
        "sent": row[0],
        "delivered": row[0] - row[1],
        "hard": row[2],
        "opens": dict(zip(engagement, row[3:7], strict=True)),
        "clicks": dict(zip(engagement, row[7:11], strict=True)),
        "domains": domains,
        "links": links,
    }


def compare(report: dict, raw: dict, campaign_id: int) -> list[str]:
    from reports.models import CampaignLinkCount

    links = {
        row.link_index: (row.first_human, row.total)
        for row in CampaignLinkCount.objects.filter(campaign_id=campaign_id)
    }
    pairs = [
        ("sent", report["sent"], raw["sent"]),
        ("delivered", report["delivered"], raw["delivered"]),
        ("bounced.hard", report["bounced"]["hard"], raw["hard"]),
        ("opens", report["opens"], raw["opens"]),
        ("clicks", report["clicks"], raw["clicks"]),
        ("domains.sent", {d["domain"]: d["sent"] for d in report["domains"]}, raw["domains"]),
        ("links", links, raw["links"]),
    ]
    return [f"{name}: report {ours} != SQL {theirs}" for name, ours, theirs in pairs if ours != theirs]


def page_p95(campaign_id: int, requests: int) -> tuple[float, float]:
    from django.test import Client
    from django.urls import reverse

    from contacts.roles import MARKETERS, ensure_groups
    from tests.factories import UserFactory

    ensure_groups()
    client = Client()
    client.force_login(UserFactory(username="bench-marketer", groups=[MARKETERS]))
    url = reverse("reports:campaign", args=[campaign_id])
    assert client.get(url).status_code == 200  # warm caches
    times = []
    for _ in range(requests):
        began = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - began)
        assert response.status_code == 200
    return statistics.quantiles(times, n=20)[-1] * 1000, statistics.median(times) * 1000


def drain_time(campaign, count: int, contact_of: dict[int, int], offset: int, repeats: int = 1) -> float:
    """Seconds to drain ``count`` buffered opens/clicks of existing messages, ``repeats`` per
    message, the repeats spread over the whole drain (as a person reopens days later)."""
    from config.redis import client as redis_client
    from tracking import buffer, services

    redis = redis_client()
    now = time.time()
    pipe = redis.pipeline(transaction=False)
    messages = sorted(contact_of)
    for n in range(count):
        kind = "c" if n % 5 == 0 else "o"
        message_id = messages[(offset + n % (count // repeats)) % len(messages)]
        event = {
            "k": kind,
            "c": contact_of[message_id],
            "m": message_id,
            "g": campaign.pk,
            "l": n % 4 if kind == "c" else None,
            "t": now - 3600 + n / 1000,
            "u": AGENTS[n % 3],
            "h": "",
            "r": "",
            "url": "",
        }
        pipe.xadd(buffer.STREAM, {"e": json.dumps(event, separators=(",", ":"))})
        if n % 10_000 == 9_999:
            pipe.execute()
    pipe.execute()
    began = time.perf_counter()
    services.drain_events(batch_size=5000)
    return time.perf_counter() - began


def run(args) -> None:
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.db.models import Max
    from django.test.utils import override_settings

    # Pages render without collectstatic's manifest, as under DEBUG, but with DEBUG's query log off.
    static = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    override_settings(STORAGES={**settings.STORAGES, "staticfiles": static}).enable()

    from campaigns.models import Message
    from contacts.models import Activity
    from reports import feeds, services
    from reports.models import Watermark
    from tracking.signals import events_recorded

    call_command("migrate", verbosity=0)
    log(f"database: {connection.vendor} {connection.pg_version if connection.vendor == 'postgresql' else ''}")
    campaign = generate(args)
    Watermark.objects.update_or_create(
        name=feeds.HISTORY, defaults={"last_id": Activity.objects.aggregate(top=Max("pk"))["top"]}
    )
    began = time.perf_counter()
    read = feeds.rebuild(campaign.pk)
    log(f"rebuild_reports read {read} events in {time.perf_counter() - began:.0f}s")
    report = services.campaign_report(campaign.pk)
    mismatches = compare(report, raw_counts(campaign.pk), campaign.pk)
    p95, median = page_p95(campaign.pk, args.requests)
    print(f"campaign: {args.recipients:,} recipients, {Activity.objects.count():,} history rows")
    print(f"report page (all sections): p95 {p95:.0f} ms, median {median:.0f} ms over {args.requests} requests")
    print(f"numbers equal to raw SQL counts: {'yes' if not mismatches else 'NO'}")
    for line in mismatches:
        print(f"  {line}")

    # Drain overhead: the same number of events with and without the roll-up receiver, in
    # alternating rounds so that load from outside drifts into both sides alike. Twice: every
    # event the first of its kind for its message (each needs a claim written: the worst case),
    # then as in the generated history, where each opened message is opened about 8 times.
    sample = Message.objects.filter(campaign=campaign).order_by("pk")[: 2 * args.drain]
    contact_of = dict(sample.values_list("pk", "contact_id"))
    chunk = args.drain // args.rounds
    per_million = 1_000_000 / (chunk * args.rounds)
    for label, repeats, with_base, without_base in (
        ("every event a first", 1, args.drain, 0),
        ("each message opened 8 times", 8, 0, args.drain),
    ):
        without_time = with_time = 0.0
        for round_ in range(args.rounds):
            events_recorded.disconnect(dispatch_uid="reports-rollup")
            try:
                without_time += drain_time(campaign, chunk, contact_of, without_base + round_ * chunk, repeats)
            finally:
                events_recorded.connect(feeds.on_events_recorded, dispatch_uid="reports-rollup")
            with_time += drain_time(campaign, chunk, contact_of, with_base + round_ * chunk, repeats)
        print(
            f"drain of {chunk * args.rounds:,} events ({label}) in {args.rounds} alternating rounds:"
            f" {without_time:.1f} s without roll-ups, {with_time:.1f} s with"
            f" (+{100 * (with_time - without_time) / without_time:.0f}%; per 1M events"
            f" {without_time * per_million:.0f} s vs {with_time * per_million:.0f} s)"
        )
    sys.exit(1 if mismatches else 0)


if __name__ == "__main__":
    main()
