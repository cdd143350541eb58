"""`seed_demo`: demo lists, contacts on reserved domains and the oldest campaign, twice without harm."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from campaigns.audience import audience_count
from campaigns.lint import lint
from campaigns.models import Campaign
from contacts.models import Contact, MailingList
from tests.factories import CampaignFactory

pytestmark = pytest.mark.django_db


def seed(*args: str) -> dict:
    out = StringIO()
    call_command("seed_demo", *args, "--json", stdout=out)
    return json.loads(out.getvalue())


def test_a_negative_count_is_refused():
    with pytest.raises(CommandError, match="--contacts"):
        call_command("seed_demo", "--contacts", "-1")


def test_seeds_the_requested_contacts_on_reserved_domains():
    summary = seed("--contacts", "30")
    assert summary["contacts"] == 30
    domains = set(Contact.objects.values_list("email_domain", flat=True))
    assert domains <= {"example.com", "example.org", "example.net"}


def test_the_demo_campaign_is_the_oldest_and_targets_the_demo_lists():
    CampaignFactory()
    summary = seed("--contacts", "30")
    oldest = Campaign.objects.order_by("created_at").first()
    assert oldest.pk == summary["campaign"]
    assert set(oldest.include_lists.values_list("slug", flat=True)) == set(summary["lists"])
    assert audience_count(oldest) == 30


def test_the_demo_campaign_is_ready_to_schedule():
    campaign = Campaign.objects.get(pk=seed("--contacts", "5")["campaign"])
    assert [issue for issue in lint(campaign) if issue.blocking] == []


def test_running_twice_creates_nothing_new():
    first = seed("--contacts", "20")
    second = seed("--contacts", "20")
    assert first == second
    assert (Contact.objects.count(), MailingList.objects.count(), Campaign.objects.count()) == (20, 2, 1)
