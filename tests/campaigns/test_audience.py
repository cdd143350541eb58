"""Audience resolution in SQL and its freezing into Message rows."""

from __future__ import annotations

import pytest

from campaigns import freeze
from campaigns.audience import audience
from campaigns.models import Message
from contacts import services as contact_services
from contacts.models import Contact
from tests.campaigns.conftest import campaign_for
from tests.factories import MailingListFactory, SubscriptionFactory, SuppressionFactory

pytestmark = pytest.mark.django_db


def emails_of(campaign) -> set[str]:
    return set(audience(campaign).values_list("email", flat=True))


def test_unsubscribed_bounced_and_suppressed_contacts_are_left_out():
    campaign = campaign_for(["keep@example.com", "gone@example.com", "bad@example.com", "x@blocked.example"])
    contact_services.unsubscribe(Contact.objects.get(email="gone@example.com"))
    contact_services.mark_bounced(Contact.objects.get(email="bad@example.com"))
    SuppressionFactory(email="", domain="blocked.example")

    assert emails_of(campaign) == {"keep@example.com"}


def test_excluded_list_wins_over_included_list():
    campaign = campaign_for(["a@example.com", "b@example.com"])
    excluded = MailingListFactory()
    SubscriptionFactory(contact=Contact.objects.get(email="b@example.com"), mailing_list=excluded)
    campaign.exclude_lists.add(excluded)

    assert emails_of(campaign) == {"a@example.com"}


def test_a_contact_on_two_included_lists_gets_one_message():
    campaign = campaign_for(["a@example.com"])
    other = MailingListFactory()
    SubscriptionFactory(contact=Contact.objects.get(email="a@example.com"), mailing_list=other)
    campaign.include_lists.add(other)

    assert freeze.freeze_audience(campaign) == 1
    assert Message.objects.filter(campaign=campaign).count() == 1


def test_freezing_twice_adds_no_duplicates():
    campaign = campaign_for(["a@example.com", "b@example.com"])

    freeze.freeze_audience(campaign)
    freeze.freeze_audience(campaign)

    assert Message.objects.filter(campaign=campaign).count() == 2


def test_frozen_rows_are_numbered_into_batches(settings):
    settings.SEND_BATCH_SIZE = 2
    campaign = campaign_for([f"r{n}@example.com" for n in range(5)])

    freeze.freeze_audience(campaign)

    assert sorted(Message.objects.values_list("batch", flat=True)) == [0, 0, 1, 1, 2]
    assert set(Message.objects.values_list("status", flat=True)) == {Message.Status.QUEUED}


def test_ab_test_holds_the_remainder_and_spreads_the_test_share_over_variants():
    campaign = campaign_for([f"r{n}@example.com" for n in range(400)])

    freeze.freeze_audience(campaign, variants=2, test_share=20)

    queued = Message.objects.filter(campaign=campaign, status=Message.Status.QUEUED)
    assert 40 <= queued.count() <= 120
    assert set(queued.values_list("variant", flat=True)) == {0, 1}
    assert Message.objects.filter(campaign=campaign, status=Message.Status.HELD).count() == 400 - queued.count()
