"""Worker memory on a 1,000,000-recipient campaign: resident set of one worker while it sends.

    .venv/bin/python bench/worker_memory.py [--recipients 1000000] [--seconds 90]

Freezes the whole audience (so every query the worker makes runs against a campaign of
that size), lets one worker process send to Postfix's smtp-sink for --seconds, samples the
resident set of the worker's main process and its pool child every half second, then
cancels the campaign. Sending all of it would take the better part of an hour on this
machine; what could grow with the campaign (claims, dispatch, progress, rendering caches)
is exercised from the first batch.
"""

import argparse
import time

from pipeline_env import (
    Workers,
    newsletter_campaign,
    postfix_sink,
    seed_contacts,
    start_services,
    stop_services,
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--recipients", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=int, default=90)
    args = parser.parse_args()
    start_services()
    try:
        from campaigns import services
        from campaigns.models import Message

        campaign = newsletter_campaign(seed_contacts(args.recipients, ["example.com", "example.net"]))
        with postfix_sink() as url:
            workers = Workers(1, {"EMAIL_URL": url, "SEND_RATE_PER_SECOND": "1000000"})
            try:
                time.sleep(5)
                idle_main, idle_child = workers.rss_mb()[0]
                services.send_now(campaign)
                samples = []
                deadline = time.monotonic() + args.seconds
                while time.monotonic() < deadline:
                    samples.append(workers.rss_mb()[0])
                    time.sleep(0.5)
                campaign.refresh_from_db()
                services.cancel(campaign)
            finally:
                workers.stop()
        sent = Message.objects.filter(campaign=campaign, status=Message.Status.SENT).count()
        total = Message.objects.filter(campaign=campaign).count()
        children = [child for _, child in samples]
        third = max(len(children) // 3, 1)
        print(f"campaign of {total:,} recipients, {sent:,} sent in {args.seconds} s by one worker")
        print(f"idle: main {idle_main:.0f} MB, pool child {idle_child:.0f} MB")
        print(f"sending: main peak {max(main for main, _ in samples):.0f} MB, pool child peak {max(children):.0f} MB")
        print(
            f"pool child peak in the first third {max(children[:third]):.0f} MB, "
            f"last third {max(children[-third:]):.0f} MB"
        )
    finally:
        stop_services()


if __name__ == "__main__":
    main()
