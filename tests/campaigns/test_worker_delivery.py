"""The send pipeline end to end: real Celery worker processes, the test Redis and an aiosmtpd sink."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from aiosmtpd.controller import Controller

from campaigns import claims, services, tasks
from campaigns.models import Campaign, Message
from contacts import services as contact_services
from contacts.models import Activity, Contact
from devtools.services import free_port
from tests.campaigns.conftest import campaign_for
from tests.conftest import SinkHandler, SmtpSink, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("real_broker")]

FAST = {
    "SEND_RATE_PER_SECOND": "100000",
    "SEND_RETRY_BASE_SECONDS": "0.2",
    "SEND_RETRY_MAX_DELAY_SECONDS": "1",
    "SEND_DOMAIN_BACKOFF_BASE_SECONDS": "0.2",
    "SEND_DOMAIN_BACKOFF_MAX_SECONDS": "1",
}


def worker_env(sink: SmtpSink, **extra: str) -> dict[str, str]:
    return {"EMAIL_URL": sink.url, **FAST, **extra}


def received(sink: SmtpSink) -> Counter:
    return Counter(recipient for recipients, _ in sink.handler.messages for recipient in recipients)


def finished(campaign: Campaign) -> bool:
    campaign.refresh_from_db()
    return campaign.status == Campaign.Status.SENT


def tick_until_sent(campaign: Campaign) -> int:
    """Do what beat's tick does (settle dead claims, re-dispatch batches whose task died with the
    worker) until the campaign is sent; returns how many claims were taken back."""
    reclaimed = []

    def settled() -> bool:
        reclaimed.append(claims.reclaim_expired_leases())
        claims.redispatch_stalled()
        return finished(campaign)

    wait_until(settled, interval=1, message="campaign finished after the crash")
    return sum(reclaimed)


def emails(count: int, domain: str = "example.com", prefix: str = "r") -> list[str]:
    return [f"{prefix}{number}@{domain}" for number in range(count)]


@contextmanager
def sink_with(handler: SinkHandler) -> Iterator[SmtpSink]:
    """An aiosmtpd sink on loopback answering through ``handler``."""
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield SmtpSink("127.0.0.1", controller.port, handler)
    finally:
        controller.stop()


class DroppingHandler(SinkHandler):
    """A relay that drops the connection, without answering, on every ``every``-th message."""

    def __init__(self, every: int) -> None:
        super().__init__()
        self.every, self.seen = every, 0

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd API
        self.seen += 1
        if self.seen % self.every == 0:
            server.transport.close()
            return "421 closing"
        return await super().handle_DATA(server, session, envelope)


class GreylistingHandler(SinkHandler):
    """Answers 451 while ``greylisting`` is on, noting who was refused."""

    def __init__(self) -> None:
        super().__init__()
        self.greylisting, self.refused = True, set()

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd API
        if self.greylisting:
            self.refused.update(envelope.rcpt_tos)
            return "451 4.7.1 greylisted, try again later"
        return await super().handle_DATA(server, session, envelope)


def test_every_recipient_gets_exactly_one_message(smtp_sink, start_worker):
    addresses = emails(300)
    campaign = campaign_for(addresses)
    start_worker(worker_env(smtp_sink), concurrency=2)

    services.send_now(campaign)

    wait_until(lambda: finished(campaign), message="campaign sent")
    assert received(smtp_sink) == Counter(addresses)
    assert Activity.objects.filter(campaign_id=campaign.pk, kind=Activity.Kind.SENT).count() == 300


def test_every_message_a_worker_sends_carries_two_valid_dkim_signatures(smtp_sink, start_worker, dkim_dns, dkim_keys):
    campaign = campaign_for(emails(40))
    signing_env = {
        "DKIM_SELECTOR": "s1",
        "DKIM_DOMAIN": "example.com",
        "DKIM_PRIVATE_KEY_PATH": dkim_keys.rsa_path,
        "DKIM_ED25519_SELECTOR": "ed1",
        "DKIM_ED25519_PRIVATE_KEY_PATH": dkim_keys.ed25519_path,
    }
    start_worker(worker_env(smtp_sink, **signing_env))

    services.send_now(campaign)

    wait_until(lambda: finished(campaign), timeout=120, message="campaign sent")
    verdicts = [dkim_dns.results(raw) for _, raw in smtp_sink.handler.messages]
    assert verdicts == [[True, True]] * 40


def test_killed_worker_loses_nothing_and_resends_only_unknown(smtp_sink, start_worker, settings):
    settings.SEND_STALL_SECONDS = 2
    addresses = emails(20_000)
    campaign = campaign_for(addresses)
    env = worker_env(smtp_sink, SEND_LEASE_SECONDS="6", SEND_STALL_SECONDS="2")
    first = start_worker(env, concurrency=2)
    services.send_now(campaign)
    wait_until(
        lambda: (
            len(smtp_sink.handler.messages) >= 3000
            and Message.objects.filter(campaign=campaign, status=Message.Status.SENDING).exists()
        ),
        message="3,000 messages delivered and a batch in flight",
    )

    first.kill()
    start_worker(env, concurrency=2)

    assert tick_until_sent(campaign) > 0, "the killed worker's claims were taken back"
    unknown = set(
        Message.objects.filter(campaign=campaign, status=Message.Status.UNKNOWN).values_list("email", flat=True)
    )
    counts = received(smtp_sink)
    assert len(unknown) <= 2, "at most one message on the wire per killed connection"
    assert set(addresses) - set(counts) <= unknown
    assert [address for address, count in counts.items() if count > 1] == []


def test_pausing_and_resuming_ten_times_loses_and_repeats_nothing(smtp_sink, start_worker):
    addresses = emails(1000)
    campaign = campaign_for(addresses)
    # The throttle makes the send last at least 50 s however fast the machine, so ten pauses fit.
    start_worker(worker_env(smtp_sink, SEND_RATE_PER_SECOND="20", SEND_BATCH_SIZE="50"), concurrency=2)
    services.send_now(campaign)

    pauses = 0
    for _ in range(10):
        before = len(smtp_sink.handler.messages)
        wait_until(
            lambda before=before: len(smtp_sink.handler.messages) > before or finished(campaign), message="progress"
        )
        if campaign.status == Campaign.Status.SENT:
            break
        campaign.refresh_from_db()
        services.pause(campaign)
        pauses += 1
        wait_until(
            lambda: not Message.objects.filter(campaign=campaign, status=Message.Status.SENDING).exists(),
            message="workers handed their batches back",
        )
        services.resume(campaign)

    wait_until(lambda: finished(campaign), message="campaign sent")
    assert pauses == 10
    assert received(smtp_sink) == Counter(addresses)


def test_temporary_refusals_are_delivered_later(start_worker):
    addresses = emails(40)
    campaign = campaign_for(addresses)
    with sink_with(GreylistingHandler()) as sink:
        start_worker(worker_env(sink))
        services.send_now(campaign)
        wait_until(lambda: sink.handler.refused == set(addresses), message="every recipient refused once")

        sink.handler.greylisting = False

        wait_until(lambda: finished(campaign), message="campaign sent")
        assert received(sink) == Counter(addresses)


def test_permanent_refusals_fail_and_bounce_the_contact(smtp_sink, start_worker):
    campaign = campaign_for(emails(5))
    smtp_sink.handler.reply = "550 5.1.1 no such user"
    start_worker(worker_env(smtp_sink))

    services.send_now(campaign)

    wait_until(lambda: finished(campaign), message="campaign finished")
    assert set(Message.objects.filter(campaign=campaign).values_list("status", flat=True)) == {Message.Status.FAILED}
    assert set(Contact.objects.values_list("status", flat=True)) == {Contact.Status.BOUNCED}
    assert Activity.objects.filter(kind=Activity.Kind.BOUNCED_HARD, campaign_id=campaign.pk).count() == 5


def test_relay_dropping_the_connection_every_2500_messages_loses_nothing(start_worker):
    addresses = emails(5200)
    campaign = campaign_for(addresses)
    with sink_with(DroppingHandler(every=2500)) as sink:
        start_worker(worker_env(sink, SEND_BATCH_SIZE="5200"))

        services.send_now(campaign)

        wait_until(lambda: finished(campaign), message="campaign sent")
        assert sink.handler.seen >= 5202, "the relay dropped at least two connections"
        assert received(sink) == Counter(addresses)


def test_unsubscribe_during_the_campaign_is_honoured(smtp_sink, start_worker):
    addresses = emails(400)
    campaign = campaign_for(addresses)
    start_worker(worker_env(smtp_sink, SEND_RATE_PER_SECOND="100", SEND_BATCH_SIZE="50"))
    services.send_now(campaign)
    wait_until(lambda: len(smtp_sink.handler.messages) >= 10, message="sending started")

    leaving = Contact.objects.filter(email__in=addresses[-20:])
    assert not Message.objects.filter(contact__in=leaving).exclude(status=Message.Status.QUEUED).exists()
    for contact in leaving:
        contact_services.unsubscribe(contact)

    wait_until(lambda: finished(campaign), message="campaign sent")
    assert set(received(smtp_sink)) == set(addresses[:-20])
    assert Message.objects.filter(campaign=campaign, status=Message.Status.SKIPPED).count() == 20


def test_per_domain_throttle_defers_only_that_domain(smtp_sink, start_worker):
    fast, slow = emails(200, "fast.example.com"), emails(20, "slow.example.com", prefix="s")
    campaign = campaign_for([address for pair in zip(fast[:20], slow, strict=True) for address in pair] + fast[20:])
    start_worker(worker_env(smtp_sink, DOMAIN_RATE_LIMITS="slow.example.com=5"))

    services.send_now(campaign)

    wait_until(lambda: finished(campaign), message="campaign sent")
    assert received(smtp_sink) == Counter(fast + slow)
    deferred = Message.objects.filter(campaign=campaign, not_before__isnull=False)
    assert set(deferred.values_list("domain", flat=True)) == {"slow.example.com"}
    order = [recipients[0] for recipients, _ in smtp_sink.handler.messages]
    assert max(order.index(address) for address in fast) < max(order.index(address) for address in slow)


def test_beat_firing_twice_starts_a_due_campaign_once(smtp_sink, start_worker):
    addresses = emails(30)
    campaign = campaign_for(addresses)
    services.schedule(campaign, campaign.created_at)
    start_worker(worker_env(smtp_sink), concurrency=2)

    tasks.tick.delay()
    tasks.tick.delay()

    wait_until(lambda: finished(campaign), message="campaign sent")
    assert Message.objects.filter(campaign=campaign).count() == 30
    assert received(smtp_sink) == Counter(addresses)
