"""The click map: the campaign's email as a preview renders it, each link marked with its
human clicks and their share, for a sandboxed frame on the report page."""

from __future__ import annotations

import copy
import dataclasses
import re

from django.db.models import Sum
from django.utils.html import format_html

from campaigns.composer import PREVIEW_EMAIL
from campaigns.models import Campaign
from campaigns.version import prepare
from reports.models import CampaignLinkCount
from reports.services import rate
from templates_mail.merge import MergeError
from templates_mail.recipient import Recipient
from templates_mail.rendering import RenderError

MARKER = "#rapport-link-"
_MARKED = re.compile(r'<a\b([^>]*?)\shref="' + MARKER + r'(\d+)"([^>]*)>', re.IGNORECASE)
# Every other target (unsubscribe, web version, answers): nothing in the map is a live link.
_TARGET = re.compile(r'\s(?:href|action)="[^"]*"', re.IGNORECASE)
BADGE = (
    '<span title="Human clicks on this link and their share of all human clicks" style="display:inline-block;'
    "margin:0 4px;padding:1px 7px;border-radius:10px;background:#1e3a8a;color:#fff;"
    'font:bold 12px/1.5 sans-serif;white-space:nowrap">{} · {}</span>'
)


def human_clicks(campaign_id: int) -> dict[int, int]:
    """Human clicks per link index, from the roll-ups."""
    rows = CampaignLinkCount.objects.filter(campaign_id=campaign_id).values("link_index").annotate(n=Sum("total_human"))
    return {row["link_index"]: row["n"] or 0 for row in rows}


def overlay(campaign: Campaign) -> str:
    """The email's HTML with a badge at each link, or "" when it no longer renders. Rendered
    untracked (inert pixel, no tokens): looking at the map is never an open or a click."""
    try:
        prepared = prepare(campaign, 0, freeze=False)
    except (MergeError, RenderError):
        return ""
    # An untracked render writes each link's target from the compiled link list: a copy whose
    # list holds markers puts the link's index where its target would be.
    marked = copy.copy(prepared)
    marked.compiled = dataclasses.replace(prepared.compiled, links=[f"{MARKER}{n}" for n in range(prepared.link_count)])
    html = marked.render(Recipient(contact_id=0, email=PREVIEW_EMAIL), show_all_blocks=True, tracked=False).html
    clicks = human_clicks(campaign.pk)
    everyone = sum(clicks.values())

    def badge(match: re.Match) -> str:
        count = clicks.get(int(match.group(2)), 0)
        label = format_html(BADGE, f"{count:,}", f"{rate(count, everyone) or 0:.1f}%")
        return f"<a{match.group(1)}{match.group(3)}>{label}"

    return _TARGET.sub("", _MARKED.sub(badge, html))
