"""The confirmation email takes its own lane: real workers (one for campaign batches, one for
the transactional queue, as `make run` starts them), the test Redis and an aiosmtpd sink."""

from __future__ import annotations

import pytest
from django.urls import reverse

from campaigns import services
from campaigns.models import Campaign
from tests.campaigns.conftest import campaign_for
from tests.conftest import wait_until
from tests.factories import SignupFormFactory
from tests.signups.conftest import form_data

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("real_broker")]


def recipients(sink) -> list[str]:
    return [recipient for recipients, _ in sink.handler.messages for recipient in recipients]


def test_the_confirmation_leaves_before_the_running_campaigns_batches(client, smtp_sink, start_worker):
    campaign = campaign_for([f"r{n}@example.com" for n in range(400)])
    form = SignupFormFactory()
    # A slow campaign: its batches hold the campaign worker for many seconds.
    env = {"EMAIL_URL": smtp_sink.url, "SEND_RATE_PER_SECOND": "20", "SEND_BATCH_SIZE": "100"}
    start_worker(env, queues="celery")
    start_worker(env, queues="transactional")
    services.send_now(campaign)
    wait_until(lambda: len(recipients(smtp_sink)) >= 5, message="the campaign is sending")

    client.post(reverse("signups_form", args=[form.slug]), form_data("ann@example.com"), REMOTE_ADDR="203.0.113.9")

    wait_until(lambda: "ann@example.com" in recipients(smtp_sink), message="confirmation delivered")
    campaign_mail_before = recipients(smtp_sink).index("ann@example.com")
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SENDING
    assert campaign_mail_before < 400
    services.cancel(campaign)
