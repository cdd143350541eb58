"""A dead worker's claim: accepted messages become sent, the one on the wire unknown, the rest go again."""

from __future__ import annotations

from datetime import timedelta

import pytest
import redis
from django.utils import timezone

from campaigns import claims, dispatch
from campaigns.models import Campaign, Message
from campaigns.throttle import Limit, Throttle
from contacts.models import Activity
from tests.conftest import wait_until
from tests.factories import CampaignFactory, MessageFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def dead_claim(settings):
    """Three rows claimed by a worker that died: one accepted, one on the wire, one not tried."""
    settings.SEND_RATE_PER_SECOND = 1_000_000
    campaign = CampaignFactory(status=Campaign.Status.SENDING)
    rows = [MessageFactory(campaign=campaign) for _ in range(3)]
    claim = claims.claim_batch(campaign.pk, 0)
    journal, throttle = claims.Journal(claim), Throttle()
    throttle.take("example.com", journal.before_send(rows[0].pk))
    journal.sent(rows[0].pk)
    throttle.take("example.com", journal.before_send(rows[1].pk))
    Message.objects.filter(claim=claim).update(lease_until=timezone.now() - timedelta(seconds=1))
    return rows


def status(message: Message) -> str:
    message.refresh_from_db()
    return message.status


def test_a_live_lease_is_left_alone(dead_claim):
    Message.objects.update(lease_until=timezone.now() + timedelta(minutes=5))

    assert claims.reclaim_expired_leases() == 0
    assert {status(message) for message in dead_claim} == {Message.Status.SENDING}


def test_expired_claim_is_settled_from_its_journal(dead_claim, django_capture_on_commit_callbacks):
    accepted, on_wire, untried = dead_claim

    with django_capture_on_commit_callbacks():
        claims.reclaim_expired_leases()

    assert status(accepted) == Message.Status.SENT
    assert status(on_wire) == Message.Status.UNKNOWN
    assert status(untried) == Message.Status.QUEUED
    assert Activity.objects.filter(kind=Activity.Kind.SENT, message_id=accepted.pk).count() == 1


def test_unknown_message_is_never_claimed_again(dead_claim, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks():
        claims.reclaim_expired_leases()

    claim = claims.claim_batch(dead_claim[0].campaign_id, 0)

    assert list(Message.objects.filter(claim=claim).values_list("pk", flat=True)) == [dead_claim[2].pk]


def test_queued_rows_nobody_works_on_are_dispatched_again(settings, django_capture_on_commit_callbacks):
    campaign = CampaignFactory(status=Campaign.Status.SENDING)
    MessageFactory(campaign=campaign)
    redis.Redis.from_url(settings.REDIS_URL).delete(f"{dispatch.HEARTBEAT_PREFIX}:{campaign.pk}")

    with django_capture_on_commit_callbacks() as enqueued:
        assert claims.redispatch_stalled() == [campaign.pk]

    assert len(enqueued) == 1


def test_a_campaign_with_recent_progress_is_not_dispatched_again(settings):
    campaign = CampaignFactory(status=Campaign.Status.SENDING)
    MessageFactory(campaign=campaign)
    redis.Redis.from_url(settings.REDIS_URL).set(f"{dispatch.HEARTBEAT_PREFIX}:{campaign.pk}", 1, ex=60)

    assert claims.redispatch_stalled() == []


def test_a_worker_that_outlived_its_lease_cannot_send_again(dead_claim, django_capture_on_commit_callbacks):
    claim = Message.objects.get(pk=dead_claim[0].pk).claim
    with django_capture_on_commit_callbacks():
        claims.reclaim_expired_leases()

    journal = claims.Journal(claim)
    decision = Throttle().take("example.com", journal.before_send(dead_claim[2].pk))

    assert decision.blocked_by is Limit.REVOKED
    assert journal.mark_wire(dead_claim[2].pk) is False


def test_a_claim_whose_heartbeat_is_gone_is_reclaimed_before_its_lease_runs_out(
    settings, django_capture_on_commit_callbacks
):
    campaign = CampaignFactory(status=Campaign.Status.SENDING)
    rows = [MessageFactory(campaign=campaign) for _ in range(2)]
    claim = claims.claim_batch(campaign.pk, 0)
    redis.Redis.from_url(settings.REDIS_URL).delete(f"{claims.ALIVE_PREFIX}:{claim}")

    with django_capture_on_commit_callbacks() as enqueued:
        assert claims.reclaim_expired_leases() == 2

    assert {status(message) for message in rows} == {Message.Status.QUEUED}
    assert len(enqueued) == 1, "the campaign's batch is dispatched again"


def test_a_claim_whose_worker_beats_keeps_its_lease(settings):
    settings.SEND_HEARTBEAT_SECONDS = 1
    campaign = CampaignFactory(status=Campaign.Status.SENDING)
    row = MessageFactory(campaign=campaign)
    claim = claims.claim_batch(campaign.pk, 0)

    with claims.Heartbeat(claim):
        redis.Redis.from_url(settings.REDIS_URL).expire(f"{claims.ALIVE_PREFIX}:{claim}", 1)
        wait_until(
            lambda: redis.Redis.from_url(settings.REDIS_URL).ttl(f"{claims.ALIVE_PREFIX}:{claim}") > 1,
            timeout=30,
            message="the heartbeat thread refreshed the key",
        )
        assert claims.reclaim_expired_leases() == 0

    assert status(row) == Message.Status.SENDING
