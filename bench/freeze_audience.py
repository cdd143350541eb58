"""Freeze a campaign audience into Message rows on PostgreSQL (one INSERT ... SELECT).

    .venv/bin/python bench/freeze_audience.py [--contacts 1000000]

Starts a throwaway PostgreSQL cluster unless DATABASE_URL is set. Prints the seconds spent
and rows per second for resolving the audience (suppressions, unsubscribes, frequency,
sunset, list membership) and inserting one Message row per recipient.
"""

import argparse
import time

from pipeline_env import newsletter_campaign, seed_contacts, start_services, stop_services


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=1_000_000)
    args = parser.parse_args()
    start_services()
    try:
        from django.db import transaction

        from campaigns import freeze
        from campaigns.models import Message

        started = time.monotonic()
        list_id = seed_contacts(args.contacts, ["example.com", "example.net", "example.org"])
        print(f"seeded {args.contacts:,} contacts in {time.monotonic() - started:.1f} s")
        campaign = newsletter_campaign(list_id)
        started = time.monotonic()
        with transaction.atomic():
            rows = freeze.freeze_audience(campaign)
        elapsed = time.monotonic() - started
        assert Message.objects.filter(campaign=campaign).count() == rows == args.contacts
        print(f"froze {rows:,} Message rows in {elapsed:.1f} s ({rows / elapsed:,.0f} rows/s)")
    finally:
        stop_services()


if __name__ == "__main__":
    main()
