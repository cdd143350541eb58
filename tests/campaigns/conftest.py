"""Fixtures for the send pipeline: a campaign with an audience, and Celery switched to a real broker."""

from __future__ import annotations

import pytest
from celery import current_app

from campaigns.models import Campaign
from contacts.models import Contact, Subscription
from tests.factories import CampaignFactory, MailingListFactory


def campaign_for(emails: list[str], **fields) -> Campaign:
    """A draft campaign whose audience is exactly ``emails`` (one list, created in bulk)."""
    mailing_list = MailingListFactory()
    contacts = Contact.objects.bulk_create(
        Contact(email=email, email_domain=email.rpartition("@")[2], first_name=f"N{number}")
        for number, email in enumerate(emails)
    )
    Subscription.objects.bulk_create(Subscription(contact=contact, mailing_list=mailing_list) for contact in contacts)
    campaign = CampaignFactory(**fields)
    campaign.include_lists.add(mailing_list)
    return campaign


@pytest.fixture
def real_broker():
    """Tasks enqueued by this test process go to Redis for a worker process, not run inline."""
    current_app.conf.task_always_eager = False
    yield
    current_app.conf.task_always_eager = True
