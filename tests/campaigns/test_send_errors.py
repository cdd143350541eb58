"""Errors the pipeline does not expect never leave a campaign sending for ever: the message fails with
the reason, and a campaign that cannot go on pauses with the reason (real worker, Redis and SMTP sink)."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from campaigns import services
from campaigns.models import Campaign, Message, SenderIdentity
from tests.campaigns.conftest import campaign_for
from tests.campaigns.test_worker_delivery import emails, finished, received, worker_env
from tests.conftest import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("real_broker")]

# A domain label of 64 characters cannot be IDNA-encoded: a UnicodeError nobody in the pipeline expects.
UNENCODABLE = "ann@" + "é" * 64 + ".example.com"


def paused(campaign: Campaign) -> bool:
    campaign.refresh_from_db()
    return campaign.status == Campaign.Status.PAUSED


def test_a_sender_name_saved_with_a_line_break_pauses_the_campaign_with_the_reason(smtp_sink, start_worker):
    campaign = campaign_for(emails(5))
    # Saved before names were validated on save.
    SenderIdentity.objects.filter(pk=campaign.sender_id).update(name="News\r\nBcc: victim@example.com")
    start_worker(worker_env(smtp_sink))

    services.send_now(campaign)

    wait_until(lambda: paused(campaign), timeout=60, message="campaign paused")
    assert "line break" in campaign.status_reason
    assert set(Message.objects.filter(campaign=campaign).values_list("status", flat=True)) == {Message.Status.QUEUED}
    assert smtp_sink.handler.messages == []
    with pytest.raises(CommandError, match="line break"):
        call_command("send_campaign", campaign.pk, "--wait")


def test_an_unexpected_error_fails_only_that_message_with_the_reason(smtp_sink, start_worker):
    good = emails(20)
    campaign = campaign_for([*good, UNENCODABLE])
    start_worker(worker_env(smtp_sink))

    services.send_now(campaign)

    wait_until(lambda: finished(campaign), timeout=60, message="campaign sent")
    failed = Message.objects.get(campaign=campaign, email=UNENCODABLE)
    assert failed.status == Message.Status.FAILED
    assert failed.error.startswith("unexpected error: UnicodeError")
    assert set(received(smtp_sink)) == set(good)


def test_unexpected_errors_past_the_threshold_pause_the_campaign_with_the_reason(smtp_sink, start_worker):
    bad = [UNENCODABLE.replace("ann", f"ann{number}") for number in range(8)]
    campaign = campaign_for([*bad, *emails(2)])
    start_worker(worker_env(smtp_sink, SEND_ERROR_RATE_MIN_SAMPLE="5"))

    services.send_now(campaign)

    wait_until(lambda: paused(campaign), timeout=60, message="campaign paused")
    assert "unexpected error: UnicodeError" in campaign.status_reason
    assert Message.objects.filter(campaign=campaign, status=Message.Status.FAILED).count() == 8


def test_an_error_that_stops_every_batch_pauses_the_campaign_with_the_reason(start_worker):
    campaign = campaign_for(emails(5))
    # An ESP chosen without its API key: the transport cannot even be opened, so no batch ever could.
    start_worker({"EMAIL_URL": "mailgun://"})

    services.send_now(campaign)

    wait_until(lambda: paused(campaign), timeout=60, message="campaign paused")
    assert "AnymailConfigurationError" in campaign.status_reason
    assert set(Message.objects.filter(campaign=campaign).values_list("status", flat=True)) == {Message.Status.QUEUED}
