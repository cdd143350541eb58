"""Compare, Audience and Deliverability: figures, thresholds, and the warnings on the dashboard and the sending page."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Campaign
from contacts import services as contact_services
from contacts.models import Activity, Contact
from contacts.roles import MARKETERS, SALES, ensure_groups
from reports import audience, deliverability
from tests.factories import CampaignFactory, ContactFactory, MessageFactory, SubscriptionFactory, UserFactory
from tests.reports.conftest import catch_up, play

pytestmark = pytest.mark.django_db


@pytest.fixture
def marketer(client):
    ensure_groups()
    client.force_login(UserFactory(username="marketer", groups=[MARKETERS]))
    return client


def send(count: int, complaints: int = 0, hard: int = 0, domain: str = "mail.example.org") -> Campaign:
    """A campaign sent a day ago to ``count`` contacts; the first ones complain or bounce."""
    sent_at = timezone.now() - timedelta(days=1)
    campaign = CampaignFactory(status=Campaign.Status.SENT, started_at=sent_at)
    for number in range(count):
        contact = ContactFactory(email=f"c{campaign.pk}-{number}@{domain}")
        message = MessageFactory(campaign=campaign, contact=contact, status="sent", sent_at=sent_at)
        contact_services.record(
            contact, Activity.Kind.SENT, campaign_id=campaign.pk, message_id=message.pk, occurred_at=sent_at
        )
        if number < complaints:
            contact_services.mark_complained(contact, campaign_id=campaign.pk, message_id=message.pk)
        elif number < complaints + hard:
            contact_services.mark_bounced(contact, campaign_id=campaign.pk, message_id=message.pk)
    catch_up()
    return campaign


def test_below_the_minimum_volume_no_rate_raises_an_alert():
    send(20, complaints=1)
    assert deliverability.alerts() == []


def test_complaints_at_three_per_thousand_are_critical():
    send(deliverability.MIN_SENT * 10, complaints=3)
    assert [alert.level for alert in deliverability.alerts()] == ["critical", "critical"]  # overall and the domain


def test_hard_bounces_above_two_percent_warn():
    send(deliverability.MIN_SENT, hard=3)
    alerts = deliverability.alerts()
    assert alerts and alerts[0].level == "warning" and "3.0% hard bounces" in alerts[0].message


def test_the_sending_page_and_the_dashboard_show_the_alerts(marketer):
    campaign = send(deliverability.MIN_SENT, complaints=1)
    draft = CampaignFactory()
    assert "spam complaints" in marketer.get(reverse("sending:detail", args=[draft.pk])).content.decode()
    assert "spam complaints" in marketer.get(reverse("wagtailadmin_home")).content.decode()
    assert campaign.pk


def test_compare_lists_the_last_campaigns_oldest_first(marketer, story):
    play(story)
    later = send(3)
    Campaign.objects.filter(pk=later.pk).update(started_at=timezone.now())
    page = marketer.get(reverse("reports:compare")).content.decode()
    assert page.index(story.campaign.name) < page.index(later.name)
    assert "100.0%" in page  # story: 2 of 2 delivered opened


def test_list_growth_counts_new_unsubscribed_and_net_per_period():
    SubscriptionFactory.create_batch(3)
    gone = SubscriptionFactory(status="unsubscribed", unsubscribed_at=timezone.now())
    assert gone
    [today] = audience.growth("day")
    assert (today["new"], today["unsubscribed"], today["net"]) == (4, 1, 3)


def test_contacts_are_counted_by_grade_and_region():
    ContactFactory.create_batch(2, grade="A", region="North")
    ContactFactory(grade="B", region="North")
    ContactFactory(grade="", region="")
    columns, rows = audience.classification("grade", "region")
    assert columns == ["(none)", "North"]
    assert rows == [("(none)", [1, 0], 1), ("A", [0, 2], 2), ("B", [0, 1], 1)]


@pytest.mark.parametrize("name", ["reports:compare", "reports:audience", "reports:deliverability"])
def test_sales_read_the_overview_reports(client, name):
    ensure_groups()
    client.force_login(UserFactory(username="seller", groups=[SALES]))
    assert client.get(reverse(name)).status_code == 200


def test_audience_tables_export_as_csv(marketer):
    ContactFactory(grade="A", region="=cmd")
    response = marketer.get(
        reverse("reports:audience"), {"rows": "grade", "columns": "region", "export": "csv", "table": "classification"}
    )
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    assert "'=cmd" in text
    assert Contact.objects.count() == 1


@pytest.mark.parametrize(
    ("name", "title"),
    [
        ("reports:compare", "Compare campaigns"),
        ("reports:audience", "Audience"),
        ("reports:deliverability", "Deliverability"),
    ],
)
def test_each_report_header_names_the_page(marketer, name, title):
    page = marketer.get(reverse(name)).content.decode()
    # The (visually hidden) h1 and the last crumb, which the slim header shows; and the window's title.
    assert len(re.findall(rf">\s*{title}\s*<", page)) >= 2
    assert f"<title>{title}" in page
