"""The reputation guard: complaints and hard bounces pause a campaign; a deferring domain rests alone."""

from __future__ import annotations

from collections import Counter

import pytest

from campaigns import claims, freeze, reputation, services
from campaigns.models import Campaign, Message
from campaigns.throttle import client as redis_client
from contacts.models import Activity
from tests.campaigns.conftest import campaign_for
from tests.campaigns.test_worker_delivery import FAST, emails, finished, received, sink_with
from tests.conftest import SinkHandler, wait_until

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_backoff_left():
    """Back-offs live in Redis, which outlives a test: every test starts with none."""
    keys = list(redis_client().scan_iter(f"{reputation.BACKOFF_PREFIX}:*"))
    if keys:
        redis_client().delete(*keys)
    redis_client().delete(reputation.GUARD_LOCK)


def sending_campaign(delivered: int, failed: int = 0) -> Campaign:
    """A campaign in the middle of its send, with ``delivered`` sent and ``failed`` refused messages."""
    campaign = campaign_for(emails(delivered + failed))
    freeze.freeze_audience(campaign)
    rows = Message.objects.filter(campaign=campaign).order_by("pk")
    refused = list(rows.values_list("pk", flat=True)[:failed])
    rows.filter(pk__in=refused).update(status=Message.Status.FAILED)
    rows.exclude(pk__in=refused).update(status=Message.Status.SENT)
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.SENDING)
    return campaign


def record(campaign: Campaign, kind: str, count: int) -> None:
    messages = Message.objects.filter(campaign=campaign).order_by("pk")[:count]
    Activity.objects.bulk_create(
        Activity(contact_id=message.contact_id, kind=kind, campaign_id=campaign.pk, message_id=message.pk)
        for message in messages
    )


def status_after_guard(campaign: Campaign) -> Campaign:
    reputation.guard_sending_campaigns(force=True)
    campaign.refresh_from_db()
    return campaign


def test_complaints_above_the_limit_pause_the_campaign_with_the_reason():
    campaign = sending_campaign(delivered=600)
    record(campaign, Activity.Kind.COMPLAINED, 2)  # 0.33% > 0.3%

    campaign = status_after_guard(campaign)

    assert campaign.status == Campaign.Status.PAUSED
    assert "spam complaint" in campaign.status_reason and "0.33%" in campaign.status_reason


def test_complaints_within_the_limit_let_the_campaign_go_on():
    campaign = sending_campaign(delivered=600)
    record(campaign, Activity.Kind.COMPLAINED, 1)  # 0.17%

    assert status_after_guard(campaign).status == Campaign.Status.SENDING


def test_a_sample_below_the_minimum_is_not_judged(settings):
    settings.SEND_GUARD_MIN_DELIVERED = 500
    campaign = sending_campaign(delivered=400)
    record(campaign, Activity.Kind.COMPLAINED, 40)

    assert status_after_guard(campaign).status == Campaign.Status.SENDING


def test_hard_bounces_above_the_limit_pause_the_campaign():
    campaign = sending_campaign(delivered=540, failed=60)
    record(campaign, Activity.Kind.BOUNCED_HARD, 40)  # 40 of 600 handed over: 6.7% > 5%

    campaign = status_after_guard(campaign)

    assert campaign.status == Campaign.Status.PAUSED
    assert "bounced hard" in campaign.status_reason


def test_the_guard_runs_once_per_interval_across_workers():
    campaign = sending_campaign(delivered=600)
    record(campaign, Activity.Kind.COMPLAINED, 5)
    redis_client().set(reputation.GUARD_LOCK, 1, ex=60)  # another worker's tick just ran it

    assert reputation.guard_sending_campaigns() == []
    assert reputation.guard_sending_campaigns(force=True) == [campaign.pk]


def test_a_paused_campaign_is_not_paused_again_over_its_reason():
    campaign = sending_campaign(delivered=600)
    record(campaign, Activity.Kind.COMPLAINED, 5)
    services.pause(campaign)

    assert reputation.guard_sending_campaigns(force=True) == []


def test_each_deferral_in_a_row_doubles_the_domain_back_off(settings):
    settings.SEND_DOMAIN_BACKOFF_BASE_SECONDS, settings.SEND_DOMAIN_BACKOFF_MAX_SECONDS = 10, 25
    waits = []
    for _ in range(3):
        before = claims.timezone.now()
        waits.append(round((reputation.note_deferral("storm.example.com") - before).total_seconds()))

    assert waits == [10, 20, 25]
    assert set(reputation.resting_domains({"storm.example.com", "calm.example.com"})) == {"storm.example.com"}


def test_an_accepted_message_ends_the_storm(settings):
    settings.SEND_DOMAIN_BACKOFF_BASE_SECONDS = 10
    reputation.note_deferral("storm.example.com")
    reputation.note_deferral("storm.example.com")
    reputation.note_delivery("storm.example.com")

    before = claims.timezone.now()
    assert round((reputation.note_deferral("storm.example.com") - before).total_seconds()) == 10


class StormHandler(SinkHandler):
    """A relay whose provider answers 421 for one domain while ``storming``; counts every try."""

    def __init__(self, domain: str) -> None:
        super().__init__()
        self.domain, self.storming, self.tries = domain, True, Counter()

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd API
        recipient = envelope.rcpt_tos[0]
        self.tries[recipient.rpartition("@")[2]] += 1
        if self.storming and recipient.endswith("@" + self.domain):
            return "421 4.7.0 Try again later, closing connection"
        return await super().handle_DATA(server, session, envelope)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("real_broker")
def test_a_deferral_storm_slows_that_domain_only(start_worker):
    calm, stormy = emails(200, "calm.example.com"), emails(200, "storm.example.com")
    campaign = campaign_for(calm + stormy)
    with sink_with(StormHandler("storm.example.com")) as sink:
        backoff = {"SEND_DOMAIN_BACKOFF_BASE_SECONDS": "0.5", "SEND_DOMAIN_BACKOFF_MAX_SECONDS": "2"}
        start_worker({"EMAIL_URL": sink.url, **FAST, **backoff}, concurrency=2)
        services.send_now(campaign)

        wait_until(lambda: set(calm) <= set(received(sink)), message="every calm-domain message delivered")
        assert sink.handler.tries["storm.example.com"] < len(stormy) / 2, "the storming domain was not hammered"
        assert not set(stormy) & set(received(sink))

        sink.handler.storming = False
        wait_until(lambda: finished(campaign), message="campaign sent once the storm is over")
        assert received(sink) == Counter(calm + stormy)


def test_a_421_is_a_storm_at_once_and_other_deferrals_only_in_a_run(settings):
    settings.SEND_DOMAIN_STORM_DEFERRALS = 5

    assert reputation.is_storm(421, 1)
    assert not reputation.is_storm(451, 4)
    assert reputation.is_storm(451, 5)
