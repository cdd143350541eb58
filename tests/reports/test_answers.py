"""The campaign report's satisfaction section: people per score, from the answers' history rows."""

import pytest
from django.urls import reverse

from contacts.models import Activity
from contacts.roles import MARKETERS, ensure_groups
from reports import services
from tests.factories import CampaignFactory, ContactFactory, UserFactory

pytestmark = pytest.mark.django_db


def answered(campaign, score: int, comment: str | None = None) -> None:
    details = {"summary": "", "score": score, "scale": 5, "campaign": campaign.pk}
    if comment is not None:
        details["comment"] = comment
    Activity.objects.create(
        contact=ContactFactory(), kind=Activity.Kind.ANSWERED, campaign_id=campaign.pk, details=details
    )


def test_a_campaign_without_answers_has_no_satisfaction_section(client):
    ensure_groups()
    client.force_login(UserFactory(groups=[MARKETERS]))
    page = client.get(reverse("reports:campaign", args=[CampaignFactory().pk])).content.decode()
    assert 'id="table-answers"' not in page


def test_answers_are_counted_per_score_with_their_comments():
    campaign = CampaignFactory()
    answered(campaign, 5, "Great")
    answered(campaign, 5)
    answered(campaign, 2, "")
    answered(CampaignFactory(), 1)
    assert services.answers(campaign.pk) == [
        {"scale": 5, "score": 2, "people": 1, "comments": 0},
        {"scale": 5, "score": 5, "people": 2, "comments": 1},
    ]


def test_the_report_shows_the_satisfaction_section(client):
    ensure_groups()
    client.force_login(UserFactory(groups=[MARKETERS]))
    campaign = CampaignFactory()
    answered(campaign, 4)
    page = client.get(reverse("reports:campaign", args=[campaign.pk])).content.decode()
    assert 'id="table-answers"' in page and "4 of 5" in page
