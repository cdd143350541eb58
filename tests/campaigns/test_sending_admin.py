"""The admin sending page: permission per view, POST-only actions through the services, progress JSON."""

from __future__ import annotations

import pytest
from django.urls import reverse

from campaigns.models import Campaign, Message
from tests.factories import CampaignFactory, MessageFactory

pytestmark = pytest.mark.django_db


def test_without_send_permission_the_page_and_actions_are_forbidden(client, salesperson):
    campaign = CampaignFactory(status=Campaign.Status.SENDING)

    page = client.get(reverse("sending:detail", args=[campaign.pk]))
    pause = client.post(reverse("sending:action", args=[campaign.pk, "pause"]))

    # Wagtail turns PermissionDenied in admin views into a redirect home with an error message.
    assert {page.url, pause.url} == {reverse("wagtailadmin_home")}
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SENDING


def test_actions_refuse_get(client, marketer):
    campaign = CampaignFactory(status=Campaign.Status.SENDING)

    response = client.get(reverse("sending:action", args=[campaign.pk, "pause"]))

    assert response.status_code == 405


def test_an_action_from_a_stale_page_is_refused_in_words(client, marketer):
    campaign = CampaignFactory(name="Autumn news")

    response = client.post(reverse("sending:action", args=[campaign.pk, "resume"]), follow=True)

    assert "Nothing done: “Autumn news” is draft now." in response.content.decode()


def test_pause_from_the_admin_pauses(client, marketer):
    campaign = CampaignFactory(status=Campaign.Status.SENDING)

    client.post(reverse("sending:action", args=[campaign.pk, "pause"]))

    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.PAUSED


def test_progress_json_counts_messages_by_status(client, marketer):
    campaign = CampaignFactory(status=Campaign.Status.SENDING)
    MessageFactory(campaign=campaign, status=Message.Status.SENT)
    MessageFactory(campaign=campaign, status=Message.Status.QUEUED)
    MessageFactory(campaign=campaign, status=Message.Status.UNKNOWN)

    data = client.get(reverse("sending:progress", args=[campaign.pk])).json()

    assert (data["total"], data["sent"], data["queued"], data["unknown"]) == (3, 1, 1, 1)


def test_sending_page_shows_progress_and_actions(client, marketer):
    campaign = CampaignFactory()

    response = client.get(reverse("sending:detail", args=[campaign.pk]))

    assert response.status_code == 200
    assert b"sending-progress" in response.content and b"Send test" in response.content


def test_sending_index_links_each_campaign_to_its_sending_page(client, marketer):
    campaign = CampaignFactory(name="Autumn news")

    response = client.get(reverse("sending:index"))

    assert reverse("sending:detail", args=[campaign.pk]) in response.content.decode()


def test_scheduling_from_the_admin_with_a_local_delivery_time(client, marketer):
    campaign = CampaignFactory()

    client.post(
        reverse("sending:action", args=[campaign.pk, "schedule"]),
        {"when": "2099-01-01T08:00", "local_time": "09:00"},
    )

    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SCHEDULED
    assert campaign.send_at_local_time.hour == 9
