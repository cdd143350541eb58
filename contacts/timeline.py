"""A contact's history as sentences people read: "Opened *December newsletter* on iPhone",
"Clicked *See the winter collection* in *December newsletter*".

Campaign names and link texts belong to the campaigns app, which sits above contacts: it
registers a :class:`CampaignDirectory` when it starts (campaigns/apps.py), so this module
never imports it. Without one, campaigns show as "campaign #id" and links as their address.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.core.paginator import Page, Paginator
from ua_parser import parse as parse_user_agent

from contacts.models import Activity, Contact, MailingList

Kind = Activity.Kind
PAGE_SIZE = 25
# Mail clients worth naming next to the device ("in Outlook on Windows").
MAIL_CLIENTS = {"Outlook", "Thunderbird", "Apple Mail", "Airmail", "Spark"}
MACHINE_REASONS = {
    "proxy": "by a privacy proxy, not the person",
    "scanner": "by a link scanner, not the person",
    "too_soon": "seconds after delivery: a machine, not the person",
}


@dataclass(frozen=True)
class CampaignLabel:
    name: str
    # Link address (see link_key) -> the words the reader clicked.
    links: Mapping[str, str] = field(default_factory=dict)


class CampaignDirectory(Protocol):
    def labels(self, campaign_ids: Collection[int]) -> dict[int, CampaignLabel]: ...

    def choices(self) -> list[tuple[int, str]]: ...


_directory: CampaignDirectory | None = None


def register_campaign_directory(directory: CampaignDirectory) -> None:
    """Called by the campaigns app at start-up."""
    global _directory
    _directory = directory


def campaign_labels(campaign_ids: Collection[int]) -> dict[int, CampaignLabel]:
    return _directory.labels(campaign_ids) if _directory and campaign_ids else {}


def campaign_choices() -> list[tuple[int, str]]:
    """(id, name) of the campaigns a segment rule can name, newest first."""
    return _directory.choices() if _directory else []


def link_key(url: str) -> str:
    """A link's address without its UTM parameters, so the sent link matches the composed one."""
    parts = urlsplit(url.strip())
    query = parse_qsl(parts.query, keep_blank_values=True)
    kept = [(name, value) for name, value in query if not name.startswith("utm_")]
    return urlunsplit(parts._replace(query=urlencode(kept)))


@lru_cache(maxsize=1024)
def device(user_agent: str) -> str:
    """Where a message was opened or clicked: "on iPhone", "in Outlook on Windows", or ""."""
    if not user_agent:
        return ""
    parsed = parse_user_agent(user_agent)
    place = ""
    if parsed.device and parsed.device.family not in ("Other", "Spider"):
        place = parsed.device.family
    elif parsed.os and parsed.os.family != "Other":
        place = parsed.os.family.replace("Mac OS X", "Mac")
    client = parsed.user_agent.family if parsed.user_agent else ""
    words = f"in {client}" if client in MAIL_CLIENTS else ""
    return " ".join(part for part in (words, f"on {place}" if place else "") if part)


@dataclass(frozen=True)
class Entry:
    """One line of the timeline: ``parts`` are (text, emphasised) pairs read in order."""

    activity: Activity
    parts: tuple[tuple[str, bool], ...]
    note: str = ""
    machine: str = ""


def page(contact: Contact, number: int | str | None, per_page: int = PAGE_SIZE) -> tuple[Page, list[Entry]]:
    """One page of the contact's history, newest first, described; a fixed number of queries
    whatever the page holds (count, rows with note authors, campaign names, list names)."""
    activities = contact.activities.select_related("created_by").order_by("-occurred_at", "-pk")
    current = Paginator(activities, per_page).get_page(number)
    return current, describe(list(current.object_list))


def describe(activities: Sequence[Activity]) -> list[Entry]:
    campaigns = campaign_labels({activity.campaign_id for activity in activities if activity.campaign_id})
    slugs = {activity.details.get("list") for activity in activities if isinstance(activity.details, dict)}
    slugs.discard(None)
    lists = dict(MailingList.objects.filter(slug__in=slugs).values_list("slug", "name")) if slugs else {}
    return [_entry(activity, campaigns, lists) for activity in activities]


def _entry(activity: Activity, campaigns: Mapping[int, CampaignLabel], lists: Mapping[str, str]) -> Entry:
    details = activity.details if isinstance(activity.details, dict) else {}
    label = campaigns.get(activity.campaign_id) if activity.campaign_id else None
    campaign = label.name if label else (f"campaign #{activity.campaign_id}" if activity.campaign_id else "")
    list_name = lists.get(details.get("list", ""), details.get("list", ""))
    machine = MACHINE_REASONS.get(details.get("machine", ""), "automatic" if activity.is_machine else "")
    author = _person(activity.created_by)
    parts = _sentence(activity, details, campaign, label, list_name, author)
    note = details.get("text", "") if activity.kind == Kind.NOTE else ""
    return Entry(activity, tuple((text, strong) for text, strong in parts if text), note, machine)


def _sentence(
    activity: Activity, details: dict, campaign: str, label: CampaignLabel | None, list_name: str, author: str
) -> list[tuple[str, bool]]:
    kind = activity.kind
    ua = device(str(details.get("ua", "")))
    if kind == Kind.OPENED:
        return [("Opened", False), (campaign, True), (ua, False)]
    if kind == Kind.CLICKED:
        link = (label.links.get(link_key(activity.link_url)) if label else None) or _short(activity.link_url)
        where = [("in", False), (campaign, True)] if campaign else []
        return [("Clicked", False), (link or "a link", True), *where, (ua, False)]
    simple = {
        Kind.SENT: "Sent",
        Kind.DELIVERED: "Delivered",
        Kind.DEFERRED: "Delivery delayed for",
        Kind.FAILED: "Could not send",
        Kind.COMPLAINED: "Marked as spam:",
    }
    if kind in simple:
        return [(simple[kind], False), (campaign, True), (details.get("reason", ""), False)]
    if kind in (Kind.BOUNCED_HARD, Kind.BOUNCED_SOFT):
        status = f"(status {details['status']})" if details.get("status") else ""
        return [(activity.get_kind_display().capitalize(), False), (campaign, True), (status, False)]
    if kind == Kind.UNSUBSCRIBED:
        where = [("through", False), (campaign, True)] if campaign else []
        return [("Unsubscribed", False), *where, *_source(details)]
    if kind == Kind.SUBSCRIBED:
        pending = "(awaiting confirmation)" if details.get("pending") else ""
        return [("Subscribed to", False), (list_name, True), (pending, False), *_source(details)]
    if kind == Kind.CONFIRMED:
        return [("Confirmed the subscription to", False), (list_name, True)]
    if kind == Kind.PROFILE:
        # Newer entries say what changed in words ("Owner changed to Sam"); older ones list fields.
        said = "; ".join(str(sentence) for sentence in details.get("changes", []))
        names = said or ", ".join(str(name).replace("_", " ") for name in details.get("fields", []))
        return [("Profile edited:", False), (names, False), (author, False)]
    if kind == Kind.STATUS:
        reason = f"({details['reason']})" if details.get("reason") else ""
        return [("Status changed to", False), (str(details.get("status", "")), True), (reason, False)]
    if kind == Kind.PREFERENCES:
        return [("Changed their preferences", False)]
    if kind == Kind.NOTE:
        return [("Note", False), (author, False)]
    if details.get("summary"):
        # Apps above contacts say what happened in words of their own (see Activity.Kind).
        return [(str(details["summary"]), False), (author, False)]
    return [(activity.get_kind_display().capitalize(), False), (campaign, True)]


def _person(user) -> str:
    return f"by {user.get_full_name() or user.get_username()}" if user else ""


def _source(details: dict) -> list[tuple[str, bool]]:
    return [(f"(via {details['source']})", False)] if details.get("source") else []


def _short(url: str) -> str:
    """A link with no known text, as host and path."""
    parts = urlsplit(url)
    return f"{parts.netloc}{parts.path}".rstrip("/") if parts.netloc else url
