"""Benchmark: the nightly lost-customer and grade jobs over 1M contacts and 5M orders, on PostgreSQL.

    .venv/bin/python -m bench.sales_nightly [--contacts 1000000] [--orders 5000000]

Starts a throwaway PostgreSQL cluster unless DATABASE_URL is set. Data is generated inside
the database (INSERT ... SELECT generate_series): 50 owners; standing 75% active, 15% at
risk, 10% inactive; 80% of contacts are customers ordering at a regular gap of their own
(20-79 days), one in seven of whom stopped ordering months ago. Timed: the first night
(every customer enrolled, a baseline taken, the first flags, alerts and tasks), the grade
preview and apply (ABC by revenue over 12 months, everyone graded the first time), and a
second night a day later, when little changes. Statements of the first night that take 1 s
or more are printed as they finish (the commit's deferred foreign-key checks show in the
gap between their sum and the total).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")

from bench.segment_count import insert_select  # noqa: E402
from devtools.services import PostgresCluster  # noqa: E402


def generate(contacts: int, orders: int) -> None:
    from django.contrib.auth import get_user_model
    from django.db import connection

    from contacts.models import Contact
    from sales.models import Deal

    owners = [get_user_model().objects.create(username=f"owner{n}").pk for n in range(50)]
    customers = int(contacts * 0.8)
    standing = "(ARRAY['active','active','active','active','engaged','engaged','engaged','engaged','engaged','engaged'"
    standing += (
        ",'engaged','engaged','engaged','engaged','engaged','at_risk','at_risk','at_risk','inactive','inactive'])"
    )
    contact_sql = insert_select(
        Contact,
        {
            "email": "'c' || n || '@d' || (n % 2000) || '.example.net'",
            "email_domain": "'d' || (n % 2000) || '.example.net'",
            "owner_id": f"{owners[0]} + n % 50",
            "standing": f"{standing}[1 + (n * 7) % 20]",
            "engagement_score": "(n * 13) % 20",
            "region": "'Region ' || n % 30",
            "industry": "'Industry ' || n % 10",
        },
        f"generate_series(1, {int(contacts)}) AS n",
    )
    # Order k of customer c (n = k * customers + c) falls k gaps before the customer's last order;
    # the gap is 20-79 days, and one customer in seven stopped 200 days ago.
    gap = "(20 + (c.id % 60))"
    last = "(CURRENT_DATE - (CASE WHEN c.id % 7 = 0 THEN 200 ELSE c.id % 30 END)::int)"
    source = f"generate_series(0, {int(orders) - 1}) AS s(n) JOIN contacts_contact c"
    source += f" ON c.id = (SELECT min(id) FROM contacts_contact) + s.n % {customers}"  # noqa: S608
    deal_sql = insert_select(
        Deal,
        {
            "contact_id": "c.id",
            "date": f"{last} - ((s.n / {customers}) * {gap})::int",
            "amount": "10 + (s.n * 37) % 1000",
            "status": "CASE WHEN s.n % 20 = 0 THEN 'cancelled' ELSE 'won' END",
        },
        source,
    )
    with connection.cursor() as cursor:
        for label, sql in (("contacts", contact_sql), ("orders", deal_sql)):
            started = time.perf_counter()
            cursor.execute(sql)
            print(f"generated {label}: {cursor.rowcount:,} rows in {time.perf_counter() - started:.1f} s", flush=True)
        cursor.execute("ANALYZE")


def backend_cpu() -> float:
    """CPU seconds the database backend serving us has used (same machine): on a shared,
    busy machine this says more about the job's cost than the wall time does."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(label: str, function, *args):
    started, cpu = time.perf_counter(), backend_cpu()
    result = function(*args)
    elapsed, used = time.perf_counter() - started, backend_cpu() - cpu
    print(f"{label}: {elapsed:.1f} s wall, {used:.1f} s database CPU -> {result}", flush=True)
    return result, elapsed


def slow_statements(execute, sql, params, many, context):
    """An execute wrapper printing every statement of 1 s or more: what dominates a night."""
    started = time.perf_counter()
    try:
        return execute(sql, params, many, context)
    finally:
        elapsed = time.perf_counter() - started
        if elapsed >= 1:
            print(f"    {elapsed:6.1f} s  {' '.join(sql.split())[:110]}", flush=True)


def measure() -> None:
    from django.db import connection
    from django.utils import timezone

    from sales import grades
    from sales.lost import detect_lost_customers
    from sales.models import GradePolicy

    now = timezone.now()
    with connection.execute_wrapper(slow_statements):
        _, first = timed("night 1: lost customers", detect_lost_customers, now)
        timed("night 1: grade preview", grades.preview, GradePolicy(), now)
        _, apply = timed("night 1: grade apply", grades.apply, GradePolicy(), now)
    later = now + timedelta(days=1)
    _, second = timed("night 2: lost customers", detect_lost_customers, later)
    _, second_grades = timed("night 2: grade apply", grades.apply, GradePolicy(), later)
    print(
        f"nightly job (lost + grade apply): first night {first + apply:.1f} s, next {second + second_grades:.1f} s wall"
    )
    print(f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--orders", type=int, default=5_000_000)
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
        generate(args.contacts, args.orders)
        measure()
    finally:
        if cluster:
            cluster.stop()


if __name__ == "__main__":
    main()
