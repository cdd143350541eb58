"""Tagging a group in one INSERT ... SELECT: building a tag row and a history row per contact in
Python cost a tag step more than every other write of the step together."""

from __future__ import annotations

from django.db.models import Exists, F, OuterRef
from taggit.models import Tag

from automations import history
from automations.insert_select import insert_select
from contacts.models import Activity, Contact, TaggedContact
from contacts.profile_changes import tags_details


def tag(contact_ids: list[int], name: str) -> list[int]:
    """Give the tag ``name`` to the contacts among ``contact_ids`` without it, each with the same
    "tags" history row a person's tagging writes; returns the contacts that newly got it."""
    found, _ = Tag.objects.get_or_create(name=name)  # two workers may meet a new tag at once
    untagged = (
        Contact.objects.filter(pk__in=contact_ids)
        .exclude(Exists(TaggedContact.objects.filter(content_object=OuterRef("pk"), tag=found)))
        .order_by()
        .annotate(r_id=F("pk"))
        .values_list("r_id")
    )
    added = insert_select(
        TaggedContact, "content_object_id, tag_id", "a.r_id, %s", untagged, [found.pk], returning="content_object_id"
    )
    details = tags_details([], [found.name])
    history.record(added, Activity.Kind.TAGS, details.pop("summary"), **details)
    return added
