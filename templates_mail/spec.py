"""What one message version is, as plain values: the renderer's whole input.

A campaign variant (campaigns.version) and an automation journey's email step build the
same :class:`MessageSpec`; templates_mail renders it without knowing where it came from.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from wagtail.blocks import StreamValue

from templates_mail.blocks import CampaignBodyBlock

# One body block as a StreamField stores it: {"type": ..., "value": {...}, "id": ...}.
BlockData = Mapping[str, Any]
_BODY_BLOCK = CampaignBodyBlock()


@dataclass(frozen=True)
class MessageSpec:
    """One version of a message, everything that shapes its content and nothing about sending it.

    ``body`` is the raw StreamField data of :class:`CampaignBodyBlock` (``stream.raw_data``),
    so the spec stays plain data that hashes into the render cache's key. ``campaign_id`` goes
    into the tracking tokens (None for mail that belongs to no campaign). ``utm_campaign`` is
    the utm_campaign value added to every tracked link, or "" for none.
    """

    subject: str
    layout_html: str
    body: tuple[BlockData, ...] = ()
    preheader: str = ""
    text_body: str = ""
    from_name: str = ""
    postal_address: str = ""
    list_name: str = ""
    utm_campaign: str = ""
    campaign_id: int | None = None


def body_data(stream: StreamValue | Iterable[BlockData]) -> tuple[BlockData, ...]:
    """A StreamField value (or its raw list) as the spec's body."""
    raw = stream.raw_data if isinstance(stream, StreamValue) else stream
    return tuple(dict(block) for block in raw)


def html_body(html: str) -> tuple[BlockData, ...]:
    """A body of one raw-HTML block, for mail composed as HTML rather than blocks."""
    return ({"type": "html", "value": {"html": html}},)


def body_stream(spec: MessageSpec) -> StreamValue:
    """The spec's body as blocks that render themselves."""
    return _BODY_BLOCK.to_python([dict(block) for block in spec.body])


def with_utm(url: str, campaign_slug: str) -> str:
    """Add UTM parameters to a link for web analytics, keeping any the marketer set by hand."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    present = {name for name, _ in query}
    utm = {"utm_source": "rapport", "utm_medium": "email", "utm_campaign": campaign_slug}
    query += [(name, value) for name, value in utm.items() if name not in present]
    return urlunsplit(parts._replace(query=urlencode(query)))
