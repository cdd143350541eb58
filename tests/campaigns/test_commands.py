"""send_campaign: queue a campaign, --wait reports progress until it is finished."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from campaigns.models import Campaign
from tests.campaigns.conftest import campaign_for
from tests.factories import CampaignFactory


@pytest.mark.django_db
def test_send_campaign_refuses_an_unknown_campaign():
    with pytest.raises(CommandError, match="no campaign 999"):
        call_command("send_campaign", 999)


@pytest.mark.django_db
def test_send_campaign_refuses_a_finished_campaign():
    campaign = CampaignFactory(status=Campaign.Status.SENT)

    with pytest.raises(CommandError, match="is sent"):
        call_command("send_campaign", campaign.pk)


@pytest.mark.django_db(transaction=True)
def test_send_campaign_wait_returns_when_the_campaign_is_sent(mailoutbox):
    campaign = campaign_for(["a@example.com", "b@example.com"])
    out = StringIO()

    call_command("send_campaign", campaign.pk, "--wait", "--interval", "0.05", stdout=out)

    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SENT
    assert "sent 2/2" in out.getvalue()
    assert len(mailoutbox) == 2


@pytest.mark.django_db(transaction=True)
def test_send_campaign_wait_ends_with_the_average_rate_of_the_whole_send(mailoutbox):
    """Not the sends of the last minute divided by 60 (which showed 0.0/s for a quick send)."""
    campaign = campaign_for(["a@example.com", "b@example.com"])
    out = StringIO()

    call_command("send_campaign", campaign.pk, "--wait", "--interval", "0.05", stdout=out)

    campaign.refresh_from_db()
    elapsed = max((campaign.finished_at - campaign.started_at).total_seconds(), 1.0)
    last_line = out.getvalue().strip().splitlines()[-1]
    assert last_line.startswith("sent: sent 2/2")
    assert f", {round(2 / elapsed, 1)}/s, eta -" in last_line
