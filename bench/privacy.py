"""Benchmark: export and erase one contact with 100,000 history rows, on SQLite and PostgreSQL.

    .venv/bin/python -m bench.privacy [--history 100000] [--others 5000] [--database sqlite|postgresql|both]

Each database is fresh: a temporary SQLite file, or a throwaway PostgreSQL cluster
(devtools.services.PostgresCluster). Besides the person, ``--others`` contacts with 20
history rows each make the tables the erasure sweeps non-trivial. Prints the time of
``export_contact`` (the whole zip written to a file) and of ``erase_contact``.
Targets (issue 14): export under 10 s, erase under 5 s.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

EMAIL = "bench.person@example.com"


def generate(history: int, others: int) -> int:
    from django.utils import timezone

    from campaigns.models import Campaign, Message
    from contacts.models import Activity, Contact, MailingList, Subscription

    now = timezone.now()
    campaigns = Campaign.objects.bulk_create([Campaign(name=f"Campaign {n}") for n in range(50)])
    person = Contact.objects.create(email=EMAIL, first_name="Bench", last_name="Person", notes="A long customer")
    people = Contact.objects.bulk_create(
        [Contact(email=f"other{n}@example.net", email_domain="example.net", first_name=f"O{n}") for n in range(others)],
        batch_size=5000,
    )
    newsletter = MailingList.objects.create(name="Newsletter", slug="newsletter")
    Subscription.objects.create(contact=person, mailing_list=newsletter)
    Message.objects.bulk_create(
        [
            Message(campaign=campaign, contact=person, email=EMAIL, domain="example.com", status="sent")
            for campaign in campaigns
        ]
    )
    kinds = ["sent", "delivered", "opened", "opened", "clicked"]

    def rows(contact_id: int, count: int):
        for n in range(count):
            kind = kinds[n % len(kinds)]
            yield Activity(
                contact_id=contact_id,
                kind=kind,
                occurred_at=now,
                campaign_id=campaigns[n % 50].pk,
                link_url=f"https://shop.example.com/p/{n % 7}?ref=mail" if kind == "clicked" else "",
                # As the drain writes them: opens and clicks carry the user agent and the hashed IP.
                details={"ua": "Mozilla/5.0 (iPhone)", "ip": "4f2a9c", **({"link": n % 7} if kind == "clicked" else {})}
                if kind in ("opened", "clicked")
                else {},
            )

    Activity.objects.bulk_create(rows(person.pk, history), batch_size=5000)
    Activity.objects.bulk_create((row for other in people for row in rows(other.pk, 20)), batch_size=5000)
    return person.pk


def run_one(history: int, others: int) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    generate(history, others)
    print(f"  generated {history:,} history rows + {others:,} other contacts in {time.perf_counter() - started:.1f} s")
    with tempfile.TemporaryDirectory() as directory:
        out = Path(directory) / "person.zip"
        started = time.perf_counter()
        call_command("export_contact", EMAIL, "--out", str(out), stdout=open(os.devnull, "w"))  # noqa: SIM115
        exported = time.perf_counter() - started
        size = out.stat().st_size
    started = time.perf_counter()
    call_command("erase_contact", EMAIL, "--yes", stdout=open(os.devnull, "w"))  # noqa: SIM115
    erased = time.perf_counter() - started
    print(f"  {connection.vendor}: export {exported:.2f} s ({size / 1e6:.1f} MB zip), erase {erased:.2f} s")


def child(database: str, history: int, others: int) -> None:
    """Run the measurement in a fresh process whose settings point at a fresh database."""
    cluster = None
    with tempfile.TemporaryDirectory(prefix="rapport-bench-privacy-") as var:
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "RAPPORT_VAR_DIR": var}
        env.setdefault("SECURE_SSL_REDIRECT", "0")
        if database == "postgresql":
            from devtools.services import PostgresCluster

            cluster = PostgresCluster().start()
            env["DATABASE_URL"] = cluster.url
        else:
            env["DATABASE_URL"] = f"sqlite:///{var}/bench.sqlite3"
        print(f"{database}:", flush=True)
        try:
            command = [
                sys.executable,
                "-m",
                "bench.privacy",
                "--run",
                "--history",
                str(history),
                "--others",
                str(others),
            ]
            subprocess.run(command, env=env, cwd=ROOT, check=True)
        finally:
            if cluster:
                cluster.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--history", type=int, default=100_000)
    parser.add_argument("--others", type=int, default=5_000)
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--run", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        run_one(args.history, args.others)
        return
    for database in ("sqlite", "postgresql") if args.database == "both" else (args.database,):
        child(database, args.history, args.others)


if __name__ == "__main__":
    main()
