"""Deliver at a set hour in each contact's own time zone."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from django.utils import timezone

from campaigns import claims, freeze
from campaigns.models import Campaign, Message
from tests.factories import CampaignFactory, ContactFactory, MessageFactory

pytestmark = pytest.mark.django_db


def test_each_message_waits_for_nine_in_its_contacts_time_zone(settings):
    settings.TIME_ZONE = "UTC"
    campaign = CampaignFactory(status=Campaign.Status.SENDING, started_at=datetime(2026, 6, 1, 12, 0, tzinfo=UTC))
    zones = {"Asia/Shanghai": "shanghai", "America/New_York": "newyork", "": "none", "Mars/Olympus": "bogus"}
    for zone, name in zones.items():
        MessageFactory(campaign=campaign, contact=ContactFactory(email=f"{name}@example.com", time_zone=zone))

    freeze.spread_by_time_zone(campaign, time(9, 0))

    due = dict(Message.objects.values_list("email", "not_before"))
    assert due["shanghai@example.com"] == datetime(2026, 6, 2, 1, 0, tzinfo=UTC)
    assert due["newyork@example.com"] == datetime(2026, 6, 1, 13, 0, tzinfo=UTC)
    assert due["none@example.com"] == due["bogus@example.com"] == datetime(2026, 6, 2, 9, 0, tzinfo=UTC)


def test_a_message_held_for_later_is_not_claimed():
    campaign = CampaignFactory(status=Campaign.Status.SENDING)
    MessageFactory(campaign=campaign, not_before=timezone.now() + timedelta(hours=3))

    assert claims.claim_batch(campaign.pk, 0) is None


def test_a_message_whose_hour_has_come_is_claimed():
    campaign = CampaignFactory(status=Campaign.Status.SENDING)
    MessageFactory(campaign=campaign, not_before=timezone.now() - timedelta(seconds=1))

    assert claims.claim_batch(campaign.pk, 0) is not None
