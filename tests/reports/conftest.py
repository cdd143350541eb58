"""A hand-worked campaign: three recipients at two domains, whose every event is counted by hand."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.models import Campaign, Message
from config.redis import client as redis_client
from contacts import services as contact_services
from contacts.models import Activity
from reports import feeds
from tests.factories import CampaignFactory, CampaignLinkFactory, ContactFactory, MessageFactory
from tracking import buffer, services
from tracking.events import TrackedEvent

BROWSER = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E1"
APPLE_PROXY = "Mozilla/5.0"
SCANNER = "Mozilla/5.0 (compatible; Barracuda Sentinel)"


@pytest.fixture(autouse=True)
def _empty_buffer():
    services.clear_link_cache()
    redis_client().delete(buffer.STREAM, buffer.DRAIN_STATUS)


def catch_up() -> int:
    """The history feed's pass, as the beat runs it."""
    return feeds.catch_up()


@dataclass
class Story:
    campaign: Campaign
    ann: Message
    bob: Message
    cat: Message
    start: float

    def event(self, message: Message, kind: str, *, minutes: float, link: int | None = None, ua: str = BROWSER):
        return TrackedEvent.from_wire(
            {
                "k": kind,
                "c": message.contact_id,
                "m": message.pk,
                "g": message.campaign_id,
                "l": link,
                "t": self.start + minutes * 60,
                "u": ua,
                "h": "",
                "r": {APPLE_PROXY: "proxy", SCANNER: "scanner_agent"}.get(ua, ""),
                "url": f"https://shop.example.com/item/{link}" if link is not None else "",
            }
        )


@pytest.fixture
def story() -> Story:
    """Sent two hours ago to ann and cat at mail.example.org and bob at inbox.example.net."""
    sent_at = timezone.now() - timedelta(hours=2)
    campaign = CampaignFactory(status=Campaign.Status.SENT, started_at=sent_at)
    for index in range(2):
        CampaignLinkFactory(campaign=campaign, index=index, url=f"https://shop.example.com/item/{index}")
    messages = {}
    for name, domain in (("ann", "mail.example.org"), ("bob", "inbox.example.net"), ("cat", "mail.example.org")):
        contact = ContactFactory(email=f"{name}@{domain}")
        messages[name] = MessageFactory(campaign=campaign, contact=contact, status="sent", sent_at=sent_at)
        contact_services.record(
            contact, Activity.Kind.SENT, campaign_id=campaign.pk, message_id=messages[name].pk, occurred_at=sent_at
        )
    return Story(campaign, messages["ann"], messages["bob"], messages["cat"], time.time() - 100 * 60)


def play(story: Story) -> list[tuple[str, TrackedEvent]]:
    """Ann opens twice and her proxy once, clicks link 0 twice; bob's proxy opens and his
    scanner clicks link 0; cat opens, clicks link 1, then bounces; bob complains, ann unsubscribes."""
    s = story
    entries = [
        ("e1", s.event(s.ann, "o", minutes=0, ua=APPLE_PROXY)),
        ("e2", s.event(s.ann, "o", minutes=1)),
        ("e3", s.event(s.bob, "o", minutes=2, ua=APPLE_PROXY)),
        ("e4", s.event(s.ann, "c", minutes=3, link=0)),
        ("e5", s.event(s.bob, "c", minutes=4, link=0, ua=SCANNER)),
        ("e6", s.event(s.cat, "o", minutes=5)),
        ("e7", s.event(s.cat, "c", minutes=6, link=1)),
        ("e8", s.event(s.ann, "o", minutes=70)),
        ("e9", s.event(s.ann, "c", minutes=71, link=0)),
    ]
    services.ingest(entries[:5])
    services.ingest(entries[5:])
    contact_services.mark_bounced(s.cat.contact, campaign_id=s.campaign.pk, message_id=s.cat.pk, source="test")
    contact_services.mark_complained(s.bob.contact, campaign_id=s.campaign.pk, message_id=s.bob.pk, source="test")
    contact_services.unsubscribe(s.ann.contact, campaign_id=s.campaign.pk, message_id=s.ann.pk, source="test")
    catch_up()
    return entries
