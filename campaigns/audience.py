"""Who a campaign goes to, as one SQL query: included lists and segments, minus excluded
ones, minus everyone ``Contact.objects.sendable()`` rules out. Sending, the admin's
audience count and previews share this definition."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q

from campaigns.models import Campaign
from contacts.models import Contact, ContactQuerySet, Subscription


def _on_lists(list_ids: list[int]) -> Q:
    return Q(
        Exists(
            Subscription.objects.filter(
                contact=OuterRef("pk"), mailing_list__in=list_ids, status=Subscription.Status.SUBSCRIBED
            )
        )
    )


def _in_segments(segments) -> Q:
    """A segment's rules may join (tags, history); a subquery keeps one row per contact."""
    q = Q()
    for segment in segments:
        q |= Q(pk__in=Contact.objects.filter(segment.to_q()).values("pk"))
    return q


def _group(campaign: Campaign, lists: str, segments: str) -> Q | None:
    list_ids = list(getattr(campaign, lists).values_list("pk", flat=True))
    segment_rows = list(getattr(campaign, segments).all())
    parts = ([_on_lists(list_ids)] if list_ids else []) + ([_in_segments(segment_rows)] if segment_rows else [])
    if not parts:
        return None
    combined = parts[0]
    for part in parts[1:]:
        combined |= part
    return combined


def audience(campaign: Campaign) -> ContactQuerySet:
    """Contacts this campaign would be sent to now, each once."""
    include = _group(campaign, "include_lists", "include_segments")
    if include is None:
        return Contact.objects.none()
    contacts = Contact.objects.sendable(include_retired=campaign.is_reengagement).filter(include)
    exclude = _group(campaign, "exclude_lists", "exclude_segments")
    return contacts.exclude(exclude) if exclude is not None else contacts


def audience_count(campaign: Campaign) -> int:
    return audience(campaign).count()
