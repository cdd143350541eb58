"""The journey engine on PostgreSQL: enrol a whole segment at once, advance a 4-step
non-email path, and measure step-run storage.

    .venv/bin/python bench/journeys.py [--contacts 1000000] [--batch 5000]

Starts a throwaway PostgreSQL cluster and Redis unless DATABASE_URL / REDIS_URL are set.
Prints seconds and rates for: enrolling every contact of a list segment (one INSERT ... SELECT),
advancing all of them through tag -> wait 0 -> condition -> add to list in one process
(claims, step runs, effects and moves, batch by batch), and bytes per StepRun row
(table plus primary-key index). ``--advance-seconds`` bounds the second phase.
"""

import argparse
import os
import time

from pipeline_env import seed_contacts, start_services, stop_services


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--advance-seconds", type=float, default=0, help="Stop advancing after this long (0: all).")
    args = parser.parse_args()
    os.environ["JOURNEY_BATCH_SIZE"] = str(args.batch)
    start_services()
    try:
        run(args.contacts, args.advance_seconds)
    finally:
        stop_services()


def run(count: int, advance_seconds: float) -> None:
    from django.db import connection

    from automations import engine, services, triggers
    from automations.models import Enrolment, Journey, StepRun
    from contacts.models import MailingList

    started = time.monotonic()
    print(f"contacts {count:,}, batch {os.environ['JOURNEY_BATCH_SIZE']}", flush=True)
    list_id = seed_contacts(count, ["example.com", "example.net", "example.org"])
    slug = MailingList.objects.get(pk=list_id).slug
    target = MailingList.objects.create(name="Journey bench target", slug=f"target-{time.time_ns()}")
    print(f"seeded {count:,} contacts in {time.monotonic() - started:.1f} s", flush=True)
    steps = [
        {"key": "tag", "type": "tag", "tag": "bench"},
        {"key": "pause", "type": "wait", "minutes": 0},
        {
            "key": "grade-a",
            "type": "condition",
            "segment": {"field": "grade", "op": "equals", "value": "A"},
            "yes": [],
            "no": [],
        },
        {"key": "join", "type": "add_to_list", "list": target.slug},
    ]
    trigger = {"type": "segment", "rules": {"field": "list", "op": "in", "value": [slug]}}
    journey = Journey.objects.create(name="Bench", definition={"triggers": [trigger], "steps": steps})
    services.activate(journey)

    started = time.monotonic()
    entered = triggers.evaluate_all()
    elapsed = time.monotonic() - started
    print(
        f"enrolled {entered:,} contacts (segment trigger) in {elapsed:.1f} s ({entered / elapsed:,.0f}/s)", flush=True
    )

    started = time.monotonic()
    done = 0
    budget = advance_seconds or 3600 * 24
    while time.monotonic() - started < budget and Enrolment.objects.filter(state=Enrolment.State.WAITING).exists():
        done += engine.advance(max_seconds=budget - (time.monotonic() - started))
    elapsed = time.monotonic() - started
    print(
        f"advanced {done:,} contact-steps (of {4 * count:,}) in {elapsed:.1f} s ({done / elapsed:,.0f} contact-steps/s)"
    )

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE automations_steprun")
        cursor.execute("SELECT pg_total_relation_size('automations_steprun')")
        size = cursor.fetchone()[0]
    rows = StepRun.objects.count()
    print(f"step runs: {rows:,} rows, {size / rows:.0f} bytes/row (table + primary key)")


if __name__ == "__main__":
    main()
