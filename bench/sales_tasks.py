"""Benchmark: My day over 100,000 open tasks, and 10,000 reminders due in the same minute.

    .venv/bin/python bench/sales_tasks.py [--tasks 100000] [--owners 50] [--reminders 10000] [--workers 2]

``--reminders 0`` measures My day only.

PostgreSQL and Redis are throwaway servers (unless DATABASE_URL / REDIS_URL are set).
1. ``--tasks`` open tasks across ``--owners`` owners, due from 30 days ago to 60 days ahead,
   generated inside PostgreSQL; prints the median and slowest time of one owner's My day
   (the four counts and the rows of the listed buckets, as the page reads them) and of the page
   itself through Django's test client.
2. ``--reminders`` tasks due now; ``--workers`` worker processes (queues celery and
   transactional) send them to Postfix's smtp-sink while this script does beat's job
   (``sales.tasks.tick`` every 10 s); prints the seconds until every reminder is sent and
   how many were sent, unknown or failed (each exactly once: one state per task).
"""

import argparse
import os
import statistics
import subprocess
import sys
import time

from pipeline_env import ROOT, postfix_sink, start_services, stop_services


def seed_tasks(count: int, owners: int, prefix: str, due_sql: str) -> list[int]:
    """``count`` contacts and one open task each, spread over ``owners`` new users; returns their ids."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.utils import timezone

    users = get_user_model().objects.bulk_create(
        get_user_model()(username=f"{prefix}{n}", email=f"{prefix}{n}@staff.example.com", first_name=f"Owner {n}")
        for n in range(owners)
    )
    ids = [user.pk for user in users]
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM contacts_contact")
        start = cursor.fetchone()[0] + 1
        cursor.execute(
            """
            INSERT INTO contacts_contact (email, email_domain, first_name, last_name, company, job_title, phone,
                industry, region, city, country, language, time_zone, customer_type, grade, source, custom_fields,
                notes, status, verification, verification_reason, engagement_score, standing, frequency,
                created_at, updated_at, consent_method, consent_form)
            SELECT %s || n || '@example.com', 'example.com', 'Name' || n, 'Last', '', '', '', '', '', '', '', '',
                '', '', '', 'import', '{}', '', 'subscribed', 'unchecked', '', 0, 'active', 'every', %s, %s, '', ''
            FROM generate_series(%s, %s) AS n
            """,
            [prefix, now, now, start, start + count - 1],
        )
        cursor.execute(
            f"""
            INSERT INTO sales_task (contact_id, owner_id, kind, title, note, due_at, priority, origin, rule_key,
                reminder, reminder_claim, created_at)
            SELECT c.id, (%s::bigint[])[1 + c.id %% %s], 'call', 'Call ' || c.first_name, '', {due_sql}, 1,
                'person', '', %s, '', %s
            FROM contacts_contact c WHERE c.id >= %s
            """,  # noqa: S608 - bench-only SQL with our own constants
            [ids, owners, "none" if prefix == "day" else "pending", now, start],
        )
        cursor.execute("ANALYZE")
    return ids


def bench_my_day(tasks: int, owners: int) -> None:
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client, override_settings

    from sales import my_day
    from sales.models import Task

    ids = seed_tasks(tasks, owners, "day", "now() + ((random() * 90 - 30) * interval '1 day')")
    owner = get_user_model().objects.get(pk=ids[7])
    owner.is_superuser = True
    owner.save()
    print(
        f"my day: {Task.objects.open().count()} open tasks, {owners} owners, one owner has "
        f"{Task.objects.open().filter(owner=owner).count()}"
    )

    def services() -> None:
        tasks_of_owner = Task.objects.open().filter(owner=owner)
        edges = my_day.bounds(my_day.owner_zone(owner))
        my_day.counts(tasks_of_owner, edges)
        my_day.buckets(tasks_of_owner, edges, names=my_day.LISTED, with_owner=False)

    # No collectstatic in a bench run: static URLs without the manifest.
    plain = {**settings.STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    override_settings(STORAGES=plain).enable()
    client = Client(SERVER_NAME="localhost")
    client.force_login(owner)

    def page() -> None:
        response = client.get("/admin/my-day/")
        assert response.status_code == 200, response.status_code

    for label, call in (("queries (counts + rows)", services), ("whole page (GET /admin/my-day/)", page)):
        call()
        times = []
        for _ in range(20):
            started = time.perf_counter()
            call()
            times.append((time.perf_counter() - started) * 1000)
        print(f"my day {label}: median {statistics.median(times):.0f} ms, slowest {max(times):.0f} ms")


def start_workers(count: int, env: dict[str, str]) -> list[subprocess.Popen]:
    command = [sys.executable, "-m", "celery", "-A", "config", "worker", "-l", "warning", "-c", "1"]
    command += ["-Q", "celery,transactional", "--without-heartbeat", "--without-mingle", "--without-gossip"]
    return [
        subprocess.Popen(
            [*command, "-n", f"reminders{n}@%h"], cwd=ROOT, env={**os.environ, **env}, start_new_session=True
        )
        for n in range(count)
    ]


def bench_reminders(count: int, worker_count: int) -> None:
    from django.db.models import Count

    from sales.models import Task
    from sales.tasks import tick

    Task.objects.update(reminder="none")
    seed_tasks(count, 50, "due", "date_trunc('minute', now())")
    with postfix_sink() as url:
        workers = start_workers(worker_count, {"EMAIL_URL": url})
        try:
            time.sleep(8)  # let the workers connect before the clock starts
            started, last_tick = time.monotonic(), 0.0
            while Task.objects.filter(reminder__in=["pending", "sending", "wire"]).exists():
                if time.monotonic() - last_tick >= 10:
                    tick.delay()
                    last_tick = time.monotonic()
                if time.monotonic() - started > 900:
                    raise SystemExit("reminders not out after 900 s")
                time.sleep(0.2)
            elapsed = time.monotonic() - started
        finally:
            for worker in workers:
                worker.terminate()
            for worker in workers:
                worker.wait(30)
    states = dict(Task.objects.exclude(reminder="none").values_list("reminder").annotate(n=Count("pk")))
    print(
        f"reminders: {count} due in the same minute, {worker_count} workers: all out in {elapsed:.1f} s "
        f"({count / elapsed:.0f}/s); states {states}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--owners", type=int, default=50)
    parser.add_argument("--reminders", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    os.environ.setdefault("ALLOWED_HOSTS", "localhost")
    start_services()
    try:
        bench_my_day(args.tasks, args.owners)
        if args.reminders:
            bench_reminders(args.reminders, args.workers)
    finally:
        stop_services()


if __name__ == "__main__":
    main()
