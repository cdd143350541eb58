"""The engine on a real Celery worker killed with -9 mid-batch, under a duplicated beat."""

from __future__ import annotations

from collections import Counter

import pytest

from automations import tasks
from automations.models import Enrolment, StepRun
from automations.services import enrol_contacts
from campaigns import claims
from campaigns.models import Message
from contacts.models import Contact
from tests.automations.conftest import email, live_journey
from tests.conftest import SmtpSink, wait_until
from tests.factories import LayoutFactory

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("real_broker")]
COUNT = 150


def env(sink: SmtpSink) -> dict[str, str]:
    return {
        "EMAIL_URL": sink.url,
        "SEND_RATE_PER_SECOND": "100000",
        "SEND_STALL_SECONDS": "2",
        "JOURNEY_BATCH_SIZE": "10",
        "JOURNEY_LEASE_SECONDS": "3",
    }


def test_a_worker_killed_mid_batch_under_a_duplicated_beat_sends_each_email_once(smtp_sink, start_worker, settings):
    settings.JOURNEY_BATCH_SIZE = 10
    LayoutFactory()
    Contact.objects.bulk_create(Contact(email=f"j{n}@example.com", email_domain="example.com") for n in range(COUNT))
    journey = live_journey([{"key": "mark", "type": "tag", "tag": "entered"}, email("hello")])
    enrol_contacts(journey, Contact.objects.all())
    first = start_worker(env(smtp_sink))
    tasks.tick.delay()
    wait_until(
        lambda: Enrolment.objects.filter(state=Enrolment.State.RUNNING).exists(),
        interval=0.005,
        message="a batch claimed",
    )

    first.kill()
    stuck = Enrolment.objects.filter(state=Enrolment.State.RUNNING).count()
    start_worker(env(smtp_sink))

    def settled() -> bool:
        for _ in range(2):  # the beat, duplicated
            tasks.tick.delay()
        claims.reclaim_expired_leases()
        claims.redispatch_stalled()
        return (
            not Enrolment.objects.exclude(state=Enrolment.State.DONE).exists()
            and not Message.objects.filter(status__in=Message.Status.unfinished()).exists()
        )

    wait_until(settled, interval=1, message="every enrolment done and every message final")
    counts = Counter(recipient for recipients, _ in smtp_sink.handler.messages for recipient in recipients)
    unknown = set(Message.objects.filter(status=Message.Status.UNKNOWN).values_list("email", flat=True))
    assert stuck > 0
    assert StepRun.objects.count() == 2 * COUNT
    assert [address for address, count in counts.items() if count > 1] == []
    assert len(counts) + len(unknown) == COUNT
