"""A journey's step campaigns send on their own: out of the campaign list and pickers, their
reports reached from the journey instead."""

from __future__ import annotations

import pytest
from django.urls import reverse

from automations.services import enrol_one, status
from campaigns.directory import CampaignDirectory
from campaigns.models import Message
from contacts import services as contact_services
from contacts.models import Activity
from tests.automations.conftest import email, live_journey, run
from tests.factories import CampaignFactory, ContactFactory
from tests.reports.conftest import catch_up

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


def test_the_flow_page_shows_each_emails_sent_count_and_links_its_report(marketer_client):
    journey = live_journey([email("hello")], name="Welcome")
    contact = ContactFactory()
    enrol_one(journey, contact)
    run()
    [step] = status(journey)["emails"]
    message = Message.objects.get(campaign_id=step["campaign"], contact=contact)
    contact_services.record(contact, Activity.Kind.SENT, campaign_id=step["campaign"], message_id=message.pk)
    catch_up()

    page = marketer_client.get(reverse("journeys:flow", args=[journey.pk])).content.decode()

    row = page.split(f'data-campaign="{step["campaign"]}"')[1].split("</tr>")[0]
    assert '<td class="result-sent">1</td>' in row
    assert reverse("reports:campaign", args=[step["campaign"]]) in row


def test_the_sending_page_leaves_journey_emails_out_like_the_campaign_list(marketer_client):
    journey = live_journey([email("hello")], name="Welcome")
    enrol_one(journey, ContactFactory())
    run()
    CampaignFactory(name="Spring news")
    [step] = status(journey)["emails"]

    page = marketer_client.get(reverse("sending:index")).content.decode()

    assert "Spring news" in page
    assert step["name"] not in page


def test_the_sending_page_without_campaigns_says_where_journey_emails_are(marketer_client):
    journey = live_journey([email("hello")], name="Welcome")
    enrol_one(journey, ContactFactory())
    run()

    page = marketer_client.get(reverse("sending:index")).content.decode()

    assert "The emails journeys send are listed on each journey's flow page." in page
