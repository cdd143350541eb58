"""Crash recovery: kill -9 one of two workers at 40% of a send and time how long its batch waits.

    .venv/bin/python bench/crash_recovery.py [--recipients 3000] [--rate 100]

Two `celery worker -c 1` processes send to Postfix's smtp-sink at ``--rate`` messages per
second; once 40% are sent, the first worker is killed with SIGKILL. Beat's tick (reclaim
dead claims, re-dispatch stalled campaigns) runs every 10 s as in production. Prints the
seconds from the kill until the dead worker's claim is taken back and until the campaign is
sent, and the messages left unknown (on the wire at the kill, never resent).
"""

import argparse
import os
import signal
import time

from pipeline_env import Workers, newsletter_campaign, postfix_sink, seed_contacts, start_services, stop_services

TICK_SECONDS = 10


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--recipients", type=int, default=3000)
    parser.add_argument("--rate", type=int, default=100)
    args = parser.parse_args()
    start_services()
    try:
        from django.conf import settings
        from django.db.models import Count

        from campaigns import claims, services
        from campaigns.models import Campaign, Message

        campaign = newsletter_campaign(seed_contacts(args.recipients, ["example.com", "example.net"]))
        rows = Message.objects.filter(campaign=campaign)
        with postfix_sink() as url:
            workers = Workers(2, {"EMAIL_URL": url, "SEND_RATE_PER_SECOND": str(args.rate)})
            try:
                time.sleep(5)  # let the workers connect
                services.send_now(campaign)
                while rows.filter(status=Message.Status.SENT).count() < args.recipients * 0.4:
                    time.sleep(0.2)
                os.killpg(workers.processes[0].pid, signal.SIGKILL)
                killed_at = time.monotonic()
                reclaimed_after = None
                next_tick = killed_at
                while Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.SENDING:
                    if time.monotonic() >= next_tick:
                        if claims.reclaim_expired_leases() and reclaimed_after is None:
                            reclaimed_after = time.monotonic() - killed_at
                        claims.redispatch_stalled()
                        next_tick += TICK_SECONDS
                    time.sleep(0.2)
                finished_after = time.monotonic() - killed_at
            finally:
                workers.stop()
        counts = dict(rows.values_list("status").annotate(n=Count("pk")))
        print(
            f"{args.recipients:,} recipients at {args.rate}/s, worker killed at 40%; heartbeat every "
            f"{settings.SEND_HEARTBEAT_SECONDS} s (gone after {3 * settings.SEND_HEARTBEAT_SECONDS} s), "
            f"tick every {TICK_SECONDS} s, lease {settings.SEND_LEASE_SECONDS} s"
        )
        print(f"dead worker's claim taken back {reclaimed_after:.1f} s after the kill")
        print(f"campaign sent {finished_after:.1f} s after the kill; statuses {counts}")
    finally:
        stop_services()


if __name__ == "__main__":
    main()
