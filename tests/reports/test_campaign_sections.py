"""The campaign report's A/B verdict and its results per list of the audience."""

from __future__ import annotations

import pytest
from django.urls import reverse

from campaigns.models import Campaign
from contacts.roles import MARKETERS, ensure_groups
from reports import campaign_sections
from tests.factories import MailingListFactory, SubscriptionFactory, UserFactory
from tests.reports.conftest import play

pytestmark = pytest.mark.django_db


def arm(variant: int, delivered: int, opened: int, clicked: int) -> dict:
    return {
        "variant": variant,
        "label": "AB"[variant],
        "delivered": delivered,
        "open_rate": round(100.0 * opened / delivered, 2),
        "click_rate": round(100.0 * clicked / delivered, 2),
    }


def test_small_arms_have_no_winner_yet():
    campaign = Campaign(ab_metric="clicks")
    winner, why = campaign_sections.ab_verdict(campaign, [arm(0, 1200, 300, 35), arm(1, 40, 10, 4)])
    assert winner is None
    assert why.startswith("No winner yet: an arm has 40 delivered")


def test_arms_without_any_human_click_have_no_winner_yet():
    campaign = Campaign(ab_metric="clicks")
    winner, why = campaign_sections.ab_verdict(campaign, [arm(0, 500, 100, 0), arm(1, 500, 90, 0)])
    assert (winner, why) == (None, "No winner yet: no arm has a human click rate above zero.")


def test_equal_rates_are_a_tie_not_a_win():
    campaign = Campaign(ab_metric="opens")
    winner, why = campaign_sections.ab_verdict(campaign, [arm(0, 500, 100, 1), arm(1, 500, 100, 9)])
    assert (winner, why) == (None, "No winner: A and B tie on human open rate, 20.0%.")


def test_the_winner_is_named_with_the_campaigns_metric_and_the_figures():
    campaign = Campaign(ab_metric="clicks")
    winner, why = campaign_sections.ab_verdict(campaign, [arm(0, 1200, 400, 35), arm(1, 1200, 200, 49)])
    assert winner == "B"
    assert why == "B won on human click rate, 4.1% vs 2.9%, over 1,200 delivered each."


def test_results_per_list_count_people_and_bounces_per_included_list(story):
    both, cats, empty = (
        MailingListFactory(name="Both"),
        MailingListFactory(name="Cats"),
        MailingListFactory(name="Empty"),
    )
    for message in (story.ann, story.bob):
        SubscriptionFactory(contact=message.contact, mailing_list=both)
    SubscriptionFactory(contact=story.cat.contact, mailing_list=cats)
    SubscriptionFactory(contact=story.cat.contact, mailing_list=MailingListFactory(name="Not included"))
    story.campaign.include_lists.set([both, cats, empty])
    play(story)
    rows = campaign_sections.per_list(story.campaign)
    figures = [(r["list"], r["sent"], r["delivered"], r["opened"], r["clicked"], r["open_rate"]) for r in rows]
    # bob's open was his mail proxy and his click a scanner: not people; cat bounced after opening.
    assert figures == [("Both", 2, 2, 1, 1, 50.0), ("Cats", 1, 0, 1, 1, None), ("Empty", 0, 0, 0, 0, None)]


def test_the_report_page_shows_the_verdict_and_the_lists_table(client, story):
    ensure_groups()
    client.force_login(UserFactory(username="marketer", groups=[MARKETERS]))
    Campaign.objects.filter(pk=story.campaign.pk).update(ab_test_share=20, ab_metric="opens")
    story.campaign.include_lists.set([MailingListFactory(name="Customers")])
    play(story)
    page = client.get(reverse("reports:campaign", args=[story.campaign.pk])).content.decode()
    assert "No winner yet" in page
    assert 'id="table-lists"' in page
    assert "Customers" in page
