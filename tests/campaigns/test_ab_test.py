"""A/B test: the winner by human opens or clicks goes to the held remainder."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns import services
from campaigns.models import Campaign, Message
from contacts.models import Activity
from tests.factories import ActivityFactory, CampaignFactory, MessageFactory

pytestmark = pytest.mark.django_db


def arm(campaign: Campaign, variant: int, sent: int, engaged: int, *, machine: bool = False) -> None:
    for number in range(sent):
        message = MessageFactory(campaign=campaign, variant=variant, status=Message.Status.SENT)
        if number < engaged:
            ActivityFactory(
                contact=message.contact,
                kind=Activity.Kind.OPENED,
                message_id=message.pk,
                campaign_id=campaign.pk,
                is_machine=machine,
            )


@pytest.fixture
def ab_campaign() -> Campaign:
    return CampaignFactory(
        status=Campaign.Status.SENDING,
        ab_test_share=20,
        subject_b="Another subject",
        ab_wait=timedelta(hours=2),
        started_at=timezone.now() - timedelta(hours=3),
    )


def test_machine_opens_do_not_decide_the_winner(ab_campaign):
    arm(ab_campaign, 0, sent=10, engaged=2)
    arm(ab_campaign, 1, sent=10, engaged=9, machine=True)

    assert services.decide_ab_test(ab_campaign) == 0


def test_winner_by_open_rate_is_sent_to_the_held_remainder(ab_campaign, django_capture_on_commit_callbacks):
    arm(ab_campaign, 0, sent=10, engaged=2)
    arm(ab_campaign, 1, sent=10, engaged=5)
    held = [MessageFactory(campaign=ab_campaign, status=Message.Status.HELD) for _ in range(3)]

    with django_capture_on_commit_callbacks():
        assert services.decide_due_ab_tests() == [ab_campaign.pk]

    ab_campaign.refresh_from_db()
    assert ab_campaign.ab_winner == 1
    assert set(Message.objects.filter(pk__in=[m.pk for m in held]).values_list("status", "variant")) == {
        (Message.Status.QUEUED, 1)
    }


def test_a_test_is_decided_once(ab_campaign):
    arm(ab_campaign, 0, sent=2, engaged=1)

    assert services.decide_ab_test(ab_campaign) == 0
    assert services.decide_ab_test(ab_campaign) is None


def test_a_test_still_running_is_not_decided(ab_campaign):
    Campaign.objects.filter(pk=ab_campaign.pk).update(started_at=timezone.now())

    assert services.decide_due_ab_tests() == []
