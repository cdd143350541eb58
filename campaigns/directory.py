"""Campaign names and link texts for the contacts app's timeline and segment builder
(registered in campaigns/apps.py; contacts sits below campaigns and cannot import it)."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import Any

from lxml import html as lxml_html

from campaigns.models import Campaign
from contacts.timeline import CampaignLabel, link_key

# Block fields that hold the words of a link, next to its "url" (templates_mail/blocks.py).
LINK_TEXT_FIELDS = ("label", "button_label", "title")
CHOICES_LIMIT = 200


class CampaignDirectory:
    def labels(self, campaign_ids: Collection[int]) -> dict[int, CampaignLabel]:
        """One query for all the campaigns asked for, whatever their number."""
        rows = Campaign.objects.filter(pk__in=list(campaign_ids)).values_list("pk", "name", "body")
        return {pk: CampaignLabel(name, dict(link_texts(list(body.raw_data)))) for pk, name, body in rows}

    def choices(self) -> list[tuple[int, str]]:
        return list(Campaign.objects.listed().order_by("-pk").values_list("pk", "name")[:CHOICES_LIMIT])


def link_texts(data: Any) -> Iterator[tuple[str, str]]:
    """(link_key(url), words) for every link in a campaign body's stored blocks: buttons and
    cards by their label, rich text by its anchors. Reads the JSON; renders nothing."""
    if isinstance(data, dict):
        url = data.get("url")
        words = next((data[name] for name in LINK_TEXT_FIELDS if isinstance(data.get(name), str) and data[name]), "")
        if isinstance(url, str) and url and words:
            yield link_key(url), words
        for value in data.values():
            yield from link_texts(value)
    elif isinstance(data, list):
        for value in data:
            yield from link_texts(value)
    elif isinstance(data, str) and "<a " in data:
        for anchor in lxml_html.fragment_fromstring(data, create_parent="div").iter("a"):
            href, words = anchor.get("href") or "", anchor.text_content().strip()
            if href and words:
                yield link_key(href), words
