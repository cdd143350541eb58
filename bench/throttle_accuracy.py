"""Throttle accuracy: SEND_RATE_PER_SECOND=100 with 4 worker processes, measured at the receiving server.

    .venv/bin/python bench/throttle_accuracy.py [--rate 100] [--seconds 60] [--workers 4]

Sends to an aiosmtpd sink (fine at this rate) that stamps each message on arrival, over
PostgreSQL and Redis (throwaway servers unless DATABASE_URL / REDIS_URL are set). Prints
the busiest sliding one-second window and the total over the measured period against
rate x seconds.
"""

import argparse
import time

from aiosmtpd.controller import Controller
from pipeline_env import Workers, newsletter_campaign, seed_contacts, start_services, stop_services

from devtools.services import free_port


class StampingHandler:
    def __init__(self) -> None:
        self.arrivals: list[float] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd API
        self.arrivals.append(time.monotonic())
        return "250 OK"


def busiest_window(stamps: list[float], width: float = 1.0) -> int:
    """Most arrivals in any window [t, t + width) starting at an arrival."""
    best, start = 0, 0
    for end, stamp in enumerate(stamps):
        while stamp - stamps[start] >= width:
            start += 1
        best = max(best, end - start + 1)
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=int, default=100)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    start_services()
    handler = StampingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        from campaigns import services

        campaign = newsletter_campaign(seed_contacts(args.rate * (args.seconds + 30), ["example.com"]), size_kb=10)
        env = {
            "EMAIL_URL": f"smtp://127.0.0.1:{controller.port}",
            "SEND_RATE_PER_SECOND": str(args.rate),
            "SEND_BATCH_SIZE": "100",
        }
        workers = Workers(args.workers, env)
        try:
            time.sleep(5)
            services.send_now(campaign)
            while not handler.arrivals:
                time.sleep(0.05)
            time.sleep(args.seconds + 2)
            campaign.refresh_from_db()
            services.cancel(campaign)
        finally:
            workers.stop()
        first = handler.arrivals[0]
        measured = [stamp for stamp in handler.arrivals if stamp - first < args.seconds]
        target = args.rate * args.seconds
        print(f"{args.workers} workers at {args.rate}/s over {args.seconds} s:")
        print(f"  busiest 1-s window: {busiest_window(measured)} (limit {args.rate * 1.05:.0f})")
        print(f"  total: {len(measured)} of {target} ({(len(measured) - target) / target:+.1%})")
    finally:
        controller.stop()
        stop_services()


if __name__ == "__main__":
    main()
