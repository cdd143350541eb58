"""The journey engine on PostgreSQL: enrol a whole segment at once, advance a 4-step
non-email path, measure step-run storage, then how late waits fire.

    .venv/bin/python bench/journeys.py [--contacts 1000000] [--batch 10000] [--lateness 100000]

Starts a throwaway PostgreSQL cluster and Redis unless DATABASE_URL / REDIS_URL are set.
Prints seconds and rates for: enrolling every contact of a list segment (one INSERT ... SELECT),
advancing all of them through tag -> wait 0 -> condition -> add to list with ``--workers``
Celery workers claiming batches side by side as beat's tick has them (0: in this process),
and bytes per StepRun row (table plus primary-key index). ``--advance-seconds`` bounds the second phase.

The lateness phase puts ``--lateness`` contacts of another journey in a wait that ends, for each,
at a moment spread evenly over one minute, then ticks as beat does (every JOURNEY_TICK_SECONDS)
with the same real Celery workers, and prints p50 / p99 / max of (step after the wait
ran) - (wait's due time) over every enrolment.
"""

import argparse
import os
import time
from datetime import timedelta

from pipeline_env import Workers, seed_contacts, start_services, stop_services


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=10000)
    parser.add_argument("--advance-seconds", type=float, default=0, help="Stop advancing after this long (0: all).")
    parser.add_argument("--workers", type=int, default=2, help="Celery workers advancing (0: in this process).")
    parser.add_argument("--lateness", type=int, default=100_000, help="Waits due in one minute (0: skip).")
    args = parser.parse_args()
    os.environ["JOURNEY_BATCH_SIZE"] = str(args.batch)
    start_services()
    # Started first: they are ready by the time the enrolment phase is over.
    workers = Workers(max(args.workers, 1), {})
    try:
        list_id = run(args.contacts, args.advance_seconds, args.workers)
        if args.lateness:
            lateness(list_id, min(args.lateness, args.contacts), max(args.workers, 1))
    finally:
        workers.stop()
        stop_services()


def run(count: int, advance_seconds: float, workers: int) -> int:
    from django.db import connection

    from automations import engine, services, tasks, triggers
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
    inside = Enrolment.objects.filter(state__in=[Enrolment.State.WAITING, Enrolment.State.RUNNING])
    while time.monotonic() - started < budget and inside.exists():
        if workers:
            # What beat's tick enqueues (its triggers left out: they would enter the million again).
            done += sum(result.get(timeout=600) for result in [tasks.advance.delay() for _ in range(workers)])
        else:
            done += engine.advance(max_seconds=budget - (time.monotonic() - started))
    elapsed = time.monotonic() - started
    print(
        f"advanced {done:,} contact-steps (of {4 * count:,}) in {elapsed:.1f} s ({done / elapsed:,.0f} contact-steps/s)"
        f" with {workers or 'no'} Celery workers{'' if workers else ' (in this process)'}",
        flush=True,
    )

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE automations_steprun")
        cursor.execute("SELECT pg_total_relation_size('automations_steprun')")
        size = cursor.fetchone()[0]
    rows = StepRun.objects.count()
    print(f"step runs: {rows:,} rows, {size / rows:.0f} bytes/row (table + primary key)", flush=True)
    return list_id


def lateness(list_id: int, count: int, workers: int) -> None:
    """``count`` enrolments waiting at the step after a wait, due over one minute from 20 s on."""
    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    from automations import services, tasks
    from automations.models import Enrolment, Journey, StepRun

    # The throughput phase's journey would enter its million contacts again on every tick.
    Journey.objects.filter(status=Journey.Status.LIVE).update(status=Journey.Status.PAUSED)
    steps = [{"key": "pause", "type": "wait", "minutes": 1}, {"key": "after", "type": "tag", "tag": "woken"}]
    journey = Journey.objects.create(name="Bench waits", definition={"triggers": [], "steps": steps})
    services.activate(journey)
    start = timezone.now() + timedelta(seconds=20)
    with connection.cursor() as cursor:
        # The state a wait step leaves: at the next step, waiting until the wait's end.
        cursor.execute(
            "INSERT INTO automations_enrolment (journey_id, version_id, contact_id, occurrence, step, due_at, "
            "state, entered_at) SELECT %s, %s, s.contact_id, '', 'after', "
            "%s + (row_number() OVER (ORDER BY s.contact_id)) * interval '60 seconds' / %s, 'waiting', %s "
            "FROM contacts_subscription s WHERE s.mailing_list_id = %s ORDER BY s.contact_id LIMIT %s",
            [journey.pk, journey.current_version_id, start, count, timezone.now(), list_id, count],
        )
        cursor.execute(
            "CREATE TEMP TABLE bench_due AS SELECT id, due_at FROM automations_enrolment WHERE journey_id = %s",
            [journey.pk],
        )
        cursor.execute("ANALYZE")
    tick = settings.JOURNEY_TICK_SECONDS
    print(f"{count:,} waits due between +20 s and +80 s; beat tick {tick} s, {workers} workers", flush=True)
    waiting = Enrolment.objects.filter(journey=journey, state__in=["waiting", "running"])
    deadline = time.monotonic() + 600
    while waiting.exists() and time.monotonic() < deadline:
        tasks.tick.delay()
        time.sleep(tick)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT percentile_cont(ARRAY[0.5, 0.99]) WITHIN GROUP (ORDER BY extract(epoch FROM r.at - d.due_at)), "
            "max(extract(epoch FROM r.at - d.due_at)), count(*) FROM automations_steprun r "
            "JOIN bench_due d ON d.id = r.enrolment_id WHERE r.step = 'after'",
        )
        (p50, p99), worst, fired = cursor.fetchone()
    print(f"waits fired: {fired:,} of {count:,}; lateness p50 {p50:.1f} s, p99 {p99:.1f} s, max {worst:.1f} s")
    print(f"step runs 'after' outcomes: {StepRun.objects.filter(step='after').count():,}")


if __name__ == "__main__":
    main()
