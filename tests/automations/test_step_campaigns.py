"""A journey's step campaigns send on their own: out of the campaign list and pickers, their
reports reached from the journey instead."""

from __future__ import annotations

import pytest
from django.urls import reverse

from automations.services import enrol_one, status
from campaigns.directory import CampaignDirectory
from tests.automations.conftest import email, live_journey, run
from tests.factories import CampaignFactory, ContactFactory

pytestmark = pytest.mark.django_db


def test_a_journeys_campaigns_stay_out_of_the_campaign_list_and_pickers(marketer_client):
    journey = live_journey([email("hello")], name="Welcome")
    enrol_one(journey, ContactFactory())
    run()
    own = CampaignFactory(name="Spring news")
    [step] = status(journey)["emails"]

    page = marketer_client.get(reverse("campaigns:index")).content.decode()

    assert "Spring news" in page
    assert step["name"] not in page
    assert CampaignDirectory().choices() == [(own.pk, "Spring news")]
    assert marketer_client.get(reverse("reports:campaign", args=[step["campaign"]])).status_code == 200
