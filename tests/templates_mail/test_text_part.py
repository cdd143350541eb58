"""The plain-text part: readable structure, numbered link references, marketer's override."""

import pytest
from django.conf import settings

from campaigns.version import prepare
from templates_mail.recipient import Recipient
from tests.factories import CampaignFactory
from tests.templates_mail.helpers import block, text

pytestmark = pytest.mark.django_db
RECIPIENT = Recipient(contact_id=1, email="ann@example.com", first_name="Ann")


def text_part(**campaign_fields) -> str:
    return prepare(CampaignFactory(**campaign_fields)).render(RECIPIENT).text


def test_headings_are_underlined():
    assert "Big news\n========" in text_part(body=[block("heading", text="Big news", level="h1")])


def test_lists_get_bullets_and_numbers():
    body = [text("<ul><li>one</li><li>two</li></ul><ol><li>first</li><li>second</li></ol>")]
    part = text_part(body=body)
    assert "- one\n- two" in part
    assert "1. first\n2. second" in part


def test_links_become_numbered_references_to_tracked_urls():
    part = text_part(body=[text('<p>See <a href="https://example.com/x">the offer</a>.</p>')])
    assert "See the offer [1]." in part
    assert f"[1] {settings.SITE_URL}/t/c/" in part


def test_the_footer_links_are_references_too():
    part = text_part(body=[text("<p>x</p>")])
    assert "Unsubscribe [1]" in part
    assert f"[1] {settings.SITE_URL}/u/" in part


def test_merge_fields_are_filled_without_html_escaping():
    assert "Hi Ann & co" in text_part(body=[text("<p>Hi {{ contact.first_name }} &amp; co</p>")])


def test_the_marketers_text_is_used_when_written():
    part = text_part(
        body=[text("<p>html</p>")], text_body="Hello {{ contact.first_name }}\nUnsub: {{ unsubscribe_url }}"
    )
    assert part.startswith("Hello Ann\nUnsub: " + settings.SITE_URL + "/u/")
    assert "html" not in part


def test_a_written_text_without_unsubscribe_link_gets_the_footer():
    part = text_part(text_body="Hello")
    assert f"Unsubscribe: {settings.SITE_URL}/u/" in part


def test_a_heading_underline_matches_the_merged_heading():
    part = text_part(body=[block("heading", text="Hello {{ contact.first_name }}, welcome", level="h2")])
    assert "Hello Ann, welcome\n------------------\n" in part
