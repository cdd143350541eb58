"""Crash recovery in seconds: a killed worker's batch is taken back once its heartbeat is gone, without
waiting for its lease, while a slow but live worker keeps its claim (real workers, Redis and SMTP sink)."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from django.utils import timezone

from campaigns import claims, services
from campaigns.models import Message
from tests.campaigns.conftest import campaign_for
from tests.campaigns.test_worker_delivery import emails, finished, received, sink_with, tick_until_sent, worker_env
from tests.conftest import SinkHandler, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("real_broker")]

# Leases far longer than any wait below: whatever is taken back here was taken back by its heartbeat.
LONG_LEASE = "3600"


class SlowHandler(SinkHandler):
    """A relay that takes ``delay`` seconds to accept each message."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd API
        await asyncio.sleep(self.delay)
        return await super().handle_DATA(server, session, envelope)


def test_a_killed_workers_batch_is_reclaimed_without_waiting_for_its_lease(smtp_sink, start_worker):
    addresses = emails(3000)
    campaign = campaign_for(addresses)
    env = worker_env(smtp_sink, SEND_RATE_PER_SECOND="150", SEND_LEASE_SECONDS=LONG_LEASE)
    first = start_worker(env, concurrency=2)
    services.send_now(campaign)
    wait_until(
        lambda: (
            len(smtp_sink.handler.messages) >= 1200
            and Message.objects.filter(campaign=campaign, status=Message.Status.SENDING).exists()
        ),
        timeout=120,
        message="40% delivered and a batch in flight",
    )

    first.kill()
    leases = Message.objects.filter(campaign=campaign, status=Message.Status.SENDING).values_list("lease_until")
    first_expiry = min(lease for (lease,) in leases)
    start_worker(env, concurrency=2)
    assert tick_until_sent(campaign) > 0, "the killed worker's claims were taken back"
    assert timezone.now() < first_expiry, "taken back while their leases still ran"
    unknown = set(
        Message.objects.filter(campaign=campaign, status=Message.Status.UNKNOWN).values_list("email", flat=True)
    )
    counts = received(smtp_sink)
    assert len(unknown) <= 2, "at most one message on the wire per killed connection"
    assert set(addresses) - set(counts) <= unknown
    assert [address for address, count in counts.items() if count > 1] == []


def test_a_slow_but_live_worker_keeps_its_claim(start_worker):
    addresses = emails(3)
    campaign = campaign_for(addresses)
    reclaimed = []

    def done() -> bool:
        reclaimed.append(claims.reclaim_expired_leases())
        return finished(campaign)

    with sink_with(SlowHandler(delay=4)) as sink:
        # Each message takes longer than the heartbeat's time to live (3 x 1 s).
        start_worker(worker_env(sink, SEND_HEARTBEAT_SECONDS="1", SEND_LEASE_SECONDS=LONG_LEASE))
        services.send_now(campaign)

        wait_until(done, interval=0.5, message="campaign sent")

    assert sum(reclaimed) == 0
    assert received(sink) == Counter(addresses)
    assert not Message.objects.filter(campaign=campaign, status=Message.Status.UNKNOWN).exists()
