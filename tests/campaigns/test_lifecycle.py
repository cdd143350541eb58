"""Campaign lifecycle: legal and illegal transitions, starting once, finishing only when done."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from campaigns import claims, dispatch, services
from campaigns.models import Campaign, Message
from tests.campaigns.conftest import campaign_for
from tests.factories import CampaignFactory, MessageFactory

pytestmark = pytest.mark.django_db
State = Campaign.Status


@pytest.mark.parametrize(
    ("status", "action"),
    [
        (State.DRAFT, services.pause),
        (State.DRAFT, services.resume),
        (State.DRAFT, services.cancel),
        (State.SENDING, services.resume),
        (State.PAUSED, services.pause),
        (State.SENT, services.cancel),
        (State.CANCELLED, services.resume),
        (State.SENT, services.send_now),
    ],
)
def test_illegal_transition_is_refused_naming_the_state(status, action):
    campaign = CampaignFactory(status=status)

    with pytest.raises(services.TransitionError, match=f"that is {status}"):
        action(campaign)

    campaign.refresh_from_db()
    assert campaign.status == status


def test_schedule_refuses_a_time_without_time_zone():
    with pytest.raises(services.TransitionError, match="time zone"):
        services.schedule(CampaignFactory(), datetime(2030, 1, 1, 9, 0))


def test_schedule_refuses_an_ab_test_without_a_duration():
    campaign = CampaignFactory(ab_test_share=20, subject_b="Other subject")
    with pytest.raises(services.TransitionError, match="duration"):
        services.schedule(campaign, timezone.now())


def test_a_scheduled_campaign_does_not_start_before_its_time():
    campaign = campaign_for(["a@example.com"])
    services.schedule(campaign, timezone.now() + timedelta(hours=1))

    assert services.start_due() == []
    assert not Message.objects.exists()


def test_starting_twice_freezes_the_audience_once(django_capture_on_commit_callbacks):
    campaign = campaign_for([f"r{n}@example.com" for n in range(5)])
    services.schedule(campaign, timezone.now())

    with django_capture_on_commit_callbacks(execute=True):
        first = services.start(campaign.pk)
    second = services.start(campaign.pk)

    assert (first, second) == (True, False)
    assert Message.objects.filter(campaign=campaign).count() == 5


def test_send_now_delivers_every_message_and_marks_the_campaign_sent(django_capture_on_commit_callbacks, mailoutbox):
    campaign = campaign_for([f"r{n}@example.com" for n in range(7)])

    with django_capture_on_commit_callbacks(execute=True):
        services.send_now(campaign)

    campaign.refresh_from_db()
    assert campaign.status == State.SENT
    assert sorted(message.to[0] for message in mailoutbox) == sorted(f"r{n}@example.com" for n in range(7))


def test_an_empty_audience_finishes_at_once(django_capture_on_commit_callbacks):
    campaign = CampaignFactory()

    with django_capture_on_commit_callbacks(execute=True):
        services.send_now(campaign)

    campaign.refresh_from_db()
    assert campaign.status == State.SENT


def test_campaign_is_not_sent_while_a_message_is_deferred():
    campaign = CampaignFactory(status=State.SENDING)
    MessageFactory(campaign=campaign, status=Message.Status.SENT)
    MessageFactory(campaign=campaign, status=Message.Status.DEFERRED)

    assert dispatch.finish_if_done(campaign.pk) is False
    campaign.refresh_from_db()
    assert campaign.status == State.SENDING


def test_cancel_cancels_unsent_messages_and_keeps_sent_ones():
    campaign = CampaignFactory(status=State.PAUSED)
    sent = MessageFactory(campaign=campaign, status=Message.Status.SENT)
    queued = MessageFactory(campaign=campaign, status=Message.Status.QUEUED)

    services.cancel(campaign)

    sent.refresh_from_db()
    queued.refresh_from_db()
    assert (sent.status, queued.status) == (Message.Status.SENT, Message.Status.CANCELLED)


def test_paused_campaign_claims_nothing():
    campaign = CampaignFactory(status=State.PAUSED)
    MessageFactory(campaign=campaign)

    assert claims.claim_batch(campaign.pk, 0) is None


def test_a_batch_is_claimed_once():
    campaign = CampaignFactory(status=State.SENDING)
    MessageFactory(campaign=campaign)

    assert claims.claim_batch(campaign.pk, 0) is not None
    assert claims.claim_batch(campaign.pk, 0) is None


def test_error_rate_over_the_threshold_pauses_with_a_reason(settings, smtp_sink, django_capture_on_commit_callbacks):
    settings.EMAIL_BACKEND, settings.EMAIL_HOST, settings.EMAIL_PORT = (
        "django.core.mail.backends.smtp.EmailBackend",
        "127.0.0.1",
        smtp_sink.port,
    )
    settings.SEND_ERROR_RATE_MIN_SAMPLE, settings.SEND_FLUSH_EVERY = 5, 5
    smtp_sink.handler.reply = "550 5.7.1 blocked for spam"
    campaign = campaign_for([f"r{n}@example.com" for n in range(20)])

    with django_capture_on_commit_callbacks(execute=True):
        services.send_now(campaign)

    campaign.refresh_from_db()
    assert campaign.status == State.PAUSED
    assert "refused" in campaign.status_reason
    assert Message.objects.filter(campaign=campaign, status=Message.Status.QUEUED).count() == 15


def test_schedule_refuses_a_campaign_with_blocking_lint_issues():
    campaign = CampaignFactory(subject="")

    with pytest.raises(services.TransitionError, match="fix these first"):
        services.schedule(campaign, timezone.now())


def test_a_campaign_that_no_longer_renders_fails_with_the_reason(django_capture_on_commit_callbacks):
    campaign = campaign_for(["a@example.com"])
    services.schedule(campaign, timezone.now())
    Campaign.objects.filter(pk=campaign.pk).update(subject="Hello {{ contact.no_such_field }}")

    with django_capture_on_commit_callbacks(execute=True):
        services.start(campaign.pk)

    campaign.refresh_from_db()
    assert campaign.status == State.FAILED
    assert campaign.status_reason.startswith("cannot render")
    assert Message.objects.get().status == Message.Status.QUEUED
