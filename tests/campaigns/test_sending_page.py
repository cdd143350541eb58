"""The sending page as a marketer meets it: Send now asks first, messages say what really
happened, only the actions legal now are offered, and rate and ETA measure the send."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns import freeze, progress
from campaigns.models import Campaign, Message
from tests.campaigns.conftest import campaign_for
from tests.factories import CampaignFactory, SenderIdentityFactory

pytestmark = pytest.mark.django_db
State = Campaign.Status


def action_url(campaign, action: str) -> str:
    return reverse("sending:action", args=[campaign.pk, action])


def offered(page: str) -> set[str]:
    """The actions the page shows (elements with data-action and no hidden attribute)."""
    return {name for name, rest in re.findall(r'data-action="(\w+)"([^>]*)>', page) if " hidden" not in rest}


# --- Send now asks first -------------------------------------------------------------------------


def test_send_now_without_confirmation_sends_nothing_and_asks(client, marketer):
    campaign = campaign_for(["ann@example.com"])

    response = client.post(action_url(campaign, "send_now"))

    assert response.url == reverse("sending:confirm", args=[campaign.pk])
    campaign.refresh_from_db()
    assert campaign.status == State.DRAFT


def test_the_confirmation_shows_recipients_sender_and_subject(client, marketer):
    sender = SenderIdentityFactory(name="Rapport News", email="news@example.com")
    campaign = campaign_for(["ann@example.com", "bob@example.com"], sender=sender, subject="Winter is here")

    page = client.get(reverse("sending:confirm", args=[campaign.pk])).content.decode()

    assert '<dd id="confirm-recipients">2</dd>' in page
    assert "Rapport News &lt;news@example.com&gt;" in page
    assert '<dd id="confirm-subject">Winter is here</dd>' in page
    assert "Send to 2 recipients now" in page


def test_the_confirmation_of_a_campaign_with_no_audience_offers_no_send(client, marketer):
    campaign = CampaignFactory()

    page = client.get(reverse("sending:confirm", args=[campaign.pk])).content.decode()

    assert "No one is in this campaign" in page
    assert 'name="confirmed"' not in page


def test_a_confirmed_send_now_says_queued_not_done(client, marketer, mailoutbox):
    campaign = campaign_for(["ann@example.com"])

    response = client.post(action_url(campaign, "send_now"), {"confirmed": "yes"}, follow=True)

    page = response.content.decode()
    assert "is queued: it goes out at the configured rate" in page
    assert "done." not in page


# --- only the actions legal now --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (State.DRAFT, {"send_now", "schedule"}),
        (State.SENDING, {"pause", "cancel"}),
        (State.PAUSED, {"resume", "cancel"}),
        (State.SENT, set()),
        (State.CANCELLED, set()),
        (State.FAILED, set()),
    ],
)
def test_the_page_offers_only_the_actions_legal_now(client, marketer, status, expected):
    campaign = CampaignFactory(status=status)

    page = client.get(reverse("sending:detail", args=[campaign.pk])).content.decode()
    progress = client.get(reverse("sending:progress", args=[campaign.pk])).json()

    assert offered(page) == expected
    assert set(progress["actions"]) == expected


def test_a_campaign_scheduled_for_later_can_be_sent_now_unscheduled_or_cancelled(client, marketer):
    campaign = CampaignFactory(status=State.SCHEDULED, scheduled_at=timezone.now() + timedelta(days=1))

    page = client.get(reverse("sending:detail", args=[campaign.pk])).content.decode()

    assert offered(page) == {"send_now", "schedule", "unschedule", "cancel"}


def test_a_campaign_whose_time_has_come_is_starting_and_can_only_be_cancelled(client, marketer):
    campaign = CampaignFactory(status=State.SCHEDULED, scheduled_at=timezone.now() - timedelta(seconds=1))

    progress = client.get(reverse("sending:progress", args=[campaign.pk])).json()

    assert (progress["state"], progress["actions"], progress["final"]) == ("starting", ["cancel"], False)


def test_progress_says_when_the_campaign_is_final(client, marketer):
    campaign = CampaignFactory(status=State.SENT)

    assert client.get(reverse("sending:progress", args=[campaign.pk])).json()["final"] is True


# --- rate and ETA ------------------------------------------------------------------------------------


def test_the_rate_of_a_send_that_started_seconds_ago_is_not_averaged_over_a_minute():
    campaign = campaign_for([f"r{n}@example.com" for n in range(100)])
    Campaign.objects.filter(pk=campaign.pk).update(
        status=State.SENDING, started_at=timezone.now() - timedelta(seconds=4)
    )
    campaign.refresh_from_db()
    freeze.freeze_audience(campaign, 1, 0)
    half = list(campaign.messages.values_list("pk", flat=True)[:50])
    campaign.messages.filter(pk__in=half).update(status=Message.Status.SENT, sent_at=timezone.now())

    report = progress.progress(campaign)

    # 50 sent in the 4 s since the start: about 12.5/s, so the 50 left take about 4 s.
    assert 11 <= report["rate_per_second"] <= 12.5
    assert 4 <= report["eta_seconds"] <= 5


def test_a_finished_send_reports_its_average_rate_and_no_eta():
    now = timezone.now()
    campaign = campaign_for([f"r{n}@example.com" for n in range(30)])
    Campaign.objects.filter(pk=campaign.pk).update(status=State.SENDING, started_at=now - timedelta(seconds=10))
    campaign.refresh_from_db()
    freeze.freeze_audience(campaign, 1, 0)
    campaign.messages.update(status=Message.Status.SENT, sent_at=now)
    Campaign.objects.filter(pk=campaign.pk).update(status=State.SENT, finished_at=now)
    campaign.refresh_from_db()

    report = progress.progress(campaign)

    assert (report["rate_per_second"], report["eta_seconds"]) == (3.0, None)
