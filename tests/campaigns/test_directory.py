"""Campaign names and link texts handed to the contact's timeline (campaigns/directory.py)."""

import pytest

from campaigns.directory import CampaignDirectory, link_texts
from contacts.timeline import link_key
from tests.factories import CampaignFactory

pytestmark = pytest.mark.django_db


def test_rich_text_links_without_an_address_are_skipped():
    assert list(link_texts('<p><a linktype="page" id="3">Our shop</a></p>')) == []


def test_link_texts_come_from_buttons_cards_and_rich_text():
    body = [
        {"type": "button", "value": {"label": "See the winter collection", "url": "https://shop.example.com/winter"}},
        {"type": "card", "value": {"title": "Boots", "button_label": "Buy boots", "url": "https://shop.example.com/b"}},
        {"type": "text", "value": {"text": '<p>Read <a href="https://blog.example.com/x">our story</a>.</p>'}},
    ]
    assert dict(link_texts(body)) == {
        "https://shop.example.com/winter": "See the winter collection",
        "https://shop.example.com/b": "Buy boots",
        "https://blog.example.com/x": "our story",
    }


def test_a_sent_link_with_utm_parameters_finds_its_text():
    body = [("button", {"label": "Shop now", "url": "https://shop.example.com/?ref=mail"})]
    campaign = CampaignFactory(name="Spring", body=body)
    label = CampaignDirectory().labels([campaign.pk])[campaign.pk]
    assert label.name == "Spring"
    assert label.links[link_key("https://shop.example.com/?ref=mail&utm_source=rapport&utm_medium=email")] == "Shop now"
