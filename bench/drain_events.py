"""Drain N buffered open/click events from the Redis stream into Activity and print the rate.

    .venv/bin/python -m bench.drain_events [--events 1000000] [--contacts 100000] [--batch 10000]

Uses DATABASE_URL when set (it must be PostgreSQL for the issue's figure); otherwise it
starts a throwaway PostgreSQL cluster and a private Redis, and removes them afterwards.
"""

import argparse
import json
import os
import sys
import time

from devtools.services import benchmark_services


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=10_000)
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
    with benchmark_services():
        run(args)


def run(args) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from campaigns.models import Campaign, Message
    from config.redis import request_client
    from contacts.models import Activity, Contact
    from reports import rollup
    from tests.factories import CampaignFactory
    from tracking import buffer, services
    from tracking.events import TrackedEvent

    call_command("migrate", verbosity=0)
    print(f"database: {connection.vendor}", file=sys.stderr)
    setup = time.perf_counter()
    Contact.objects.bulk_create(
        (Contact(email=f"bench{i}@example.com", email_domain="example.com") for i in range(args.contacts)),
        batch_size=10_000,
    )
    contact_ids = list(Contact.objects.values_list("pk", flat=True))
    campaign = CampaignFactory(status=Campaign.Status.SENT)
    sent_at = django.utils.timezone.now() - django.utils.timezone.timedelta(hours=2)
    Message.objects.bulk_create(
        (
            Message(campaign=campaign, contact_id=cid, email="x", domain="example.com", status="sent", sent_at=sent_at)
            for cid in contact_ids
        ),
        batch_size=10_000,
    )
    message_of = dict(Message.objects.values_list("contact_id", "pk"))
    redis = request_client()
    ua = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"
    now = time.time()
    pipe = redis.pipeline(transaction=False)
    for n in range(args.events):
        contact_id = contact_ids[n % len(contact_ids)]
        kind = "c" if n % 4 == 0 else "o"
        event = TrackedEvent(
            kind=kind,
            contact_id=contact_id,
            message_id=message_of[contact_id],
            campaign_id=campaign.pk,
            link_index=0 if kind == "c" else None,
            at=now + n / 1000,
            user_agent=ua,
            ip_hash="5d41402abc4b2a76b971",
        )
        pipe.xadd(buffer.STREAM, {"e": json.dumps(event.to_wire(), separators=(",", ":"))})
        if n % 10_000 == 9_999:
            pipe.execute()
    pipe.execute()
    print(
        f"setup: {args.contacts} contacts, {args.events} events buffered in {time.perf_counter() - setup:.1f}s",
        file=sys.stderr,
    )

    spent = {"insert": 0.0, "credit": 0.0, "rollup": 0.0}

    def timed(name, function):
        def wrapper(*a, **kw):
            began = time.perf_counter()
            try:
                return function(*a, **kw)
            finally:
                spent[name] += time.perf_counter() - began

        return wrapper

    # Time the two SQL statements apart from the Python around them.
    services.ingest_sql.insert_events = timed("insert", services.ingest_sql.insert_events)
    services.engagement.apply_human_events = timed("credit", services.engagement.apply_human_events)
    # The report roll-ups the drain's signal runs in each batch's transaction (reports.feeds).
    rollup.roll_up = timed("rollup", rollup.roll_up)
    cpu_start = time.process_time()
    start = time.perf_counter()
    drained = services.drain_events(batch_size=args.batch)
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    in_activity = Activity.objects.count()
    print(f"drained events:        {drained}")
    print(f"Activity rows:         {in_activity}")
    print(f"left in buffer:        {buffer.backlog()}")
    print(f"drain time:            {elapsed:.1f} s")
    print(f"drain rate:            {drained / elapsed:,.0f} events/s")
    print(f"  in Activity INSERTs: {spent['insert']:.1f} s (wall, incl. JSON encoding)")
    print(f"  in contact UPDATEs:  {spent['credit']:.1f} s (wall)")
    share = 100 * spent["rollup"] / (elapsed - spent["rollup"])
    print(f"  in report roll-ups:  {spent['rollup']:.1f} s (wall), adding {share:.1f}% to the drain without them")
    print(f"  drain process CPU:   {cpu:.1f} s (Python, Redis client, JSON)")
    print(f"database:              {connection.vendor}")


if __name__ == "__main__":
    main()
