"""How long a campaign report's figures lag the events, with Celery beat and workers as in production.

    .venv/bin/python bench/report_lag.py [--samples 20] [--workers 2]

Starts a throwaway PostgreSQL and Redis (bench.pipeline_env), Celery workers and Celery beat
with the shipped schedule: the drain every TRACKING_DRAIN_SECONDS (opens and clicks), the
history feed every REPORTS_CATCH_UP_SECONDS (sends, bounces, complaints, unsubscribes). Each
sample waits a random part of the interval, then records an open the way the pixel does (into
the Redis buffer) and a hard bounce the way the bounce processor does (into the history), and
times how long each takes to show in reports.services.campaign_report, which the report page
reads. Target: the drain interval + 5 s.
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta

from pipeline_env import ROOT, Workers, start_services, stop_services

BROWSER = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    start_services()
    workers = beat = None
    try:
        campaign, messages = seed(args.samples)
        workers = Workers(args.workers, {})
        schedule = tempfile.mkdtemp(prefix="rapport-beat-")
        beat = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "beat", "-l", "warning", "-s", f"{schedule}/schedule"],
            cwd=ROOT,
            start_new_session=True,
        )
        measure(campaign, messages, args.samples)
    finally:
        if beat is not None:
            beat.terminate()
            beat.wait(30)
        if workers is not None:
            workers.stop()
        stop_services()


def seed(samples: int):
    """A campaign sent an hour ago to two recipients per sample (one opens, one bounces)."""
    from django.utils import timezone

    from campaigns.models import Campaign
    from contacts import services as contact_services
    from contacts.models import Activity
    from tests.factories import CampaignFactory, ContactFactory, MessageFactory

    sent_at = timezone.now() - timedelta(hours=1)
    campaign = CampaignFactory(status=Campaign.Status.SENT, started_at=sent_at)
    messages = []
    for n in range(2 * samples):
        contact = ContactFactory(email=f"lag{n}@example.org")
        message = MessageFactory(campaign=campaign, contact=contact, status="sent", sent_at=sent_at)
        contact_services.record(
            contact, Activity.Kind.SENT, campaign_id=campaign.pk, message_id=message.pk, occurred_at=sent_at
        )
        messages.append(message)
    return campaign, messages


def figures(campaign_id: int) -> tuple[int, int]:
    from reports.services import campaign_report

    report = campaign_report(campaign_id)
    return report["opens"]["total"], report["bounced"]["hard"]


def measure(campaign, messages, samples: int) -> None:
    from django.conf import settings

    from contacts import services as contact_services
    from contacts.tokens import Purpose, TokenData, make_token
    from tracking.services import Visitor, track_open

    interval = max(settings.TRACKING_DRAIN_SECONDS, settings.REPORTS_CATCH_UP_SECONDS)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and _sent(campaign.pk) < len(messages):
        time.sleep(0.2)  # beat has rolled up the sends: the feeds are running
    open_lags: list[float] = []
    bounce_lags: list[float] = []
    for n in range(samples):
        time.sleep(random.uniform(0, interval))
        opener, bouncer = messages[2 * n], messages[2 * n + 1]
        opens, bounces = figures(campaign.pk)
        began = time.monotonic()
        token = make_token(TokenData(Purpose.OPEN, opener.contact_id, opener.pk, campaign.pk))
        track_open(token, Visitor(BROWSER, "203.0.113.9"))
        contact_services.mark_bounced(bouncer.contact, campaign_id=campaign.pk, message_id=bouncer.pk, source="bench")
        open_lag = bounce_lag = None
        while (open_lag is None or bounce_lag is None) and time.monotonic() - began < 60:
            now_opens, now_bounces = figures(campaign.pk)
            elapsed = time.monotonic() - began
            if open_lag is None and now_opens > opens:
                open_lag = elapsed
            if bounce_lag is None and now_bounces > bounces:
                bounce_lag = elapsed
            time.sleep(0.05)
        open_lags.append(open_lag if open_lag is not None else float("inf"))
        bounce_lags.append(bounce_lag if bounce_lag is not None else float("inf"))
        print(f"sample {n + 1}: open {open_lags[-1]:.1f} s, bounce {bounce_lags[-1]:.1f} s", file=sys.stderr)
    target = settings.TRACKING_DRAIN_SECONDS + 5
    for label, lags in (("open (drain)", open_lags), ("hard bounce (history feed)", bounce_lags)):
        print(
            f"{label} -> campaign report: median {statistics.median(lags):.1f} s, slowest {max(lags):.1f} s"
            f" over {samples} samples (target {target:.0f} s: drain interval + 5 s)"
        )


def _sent(campaign_id: int) -> int:
    from reports.services import campaign_report

    return campaign_report(campaign_id)["sent"]


if __name__ == "__main__":
    main()
