"""Erasure in the database: the person's rows are anonymised in place, so every count that
includes them (campaign totals, list sizes, delivery per domain) stays what it was, and
their address is kept only as a keyed hash on the suppression list.

Three passes, in one transaction:
1. the contact row: a placeholder address, every personal column blank, out of every list;
2. every row of every table with a foreign key to Contact (privacy.relations): its personal
   columns cleared, tags and waiting exports deleted;
3. a sweep of the text and JSON columns of every other table for the address (a bounce
   recorded before it was matched to the contact, an import's error list, an admin log
   label): each occurrence replaced by the placeholder.
"""

from __future__ import annotations

import re
from typing import Any

from django.apps import apps
from django.core.files.storage import Storage
from django.db import models, transaction
from django.db.models import Case, F, Q, Value, When
from django.db.models.fields.json import KeyTransform
from django.db.models.functions import Cast, Concat, JSONObject, Left, StrIndex
from django.utils import timezone
from taggit.models import Tag

from contacts.erased import address_hash
from contacts.models import Activity, Contact, Subscription, Suppression, TaggedContact
from privacy.relations import DELETE, Relation, contact_relations, personal_fields, text_columns

# Anonymised per contact above, or too large to scan for one address (every event, every message).
NOT_SWEPT = {"contacts.contact", "contacts.activity", "campaigns.message", "privacy.datarequest"}
# Sessions are signed blobs.
NOT_SWEPT_APPS = {"sessions"}


def placeholder(contact_id: int) -> str:
    """The address an erased contact is left with: unique, and undeliverable (RFC 6761 .invalid)."""
    return f"erased-{contact_id}@invalid"


@transaction.atomic
def anonymise(contact: Contact) -> tuple[dict[str, int], list[tuple[Storage, str]]]:
    """Anonymise the contact everywhere in the database. Returns rows changed per table and
    the stored files the erased rows pointed at (deleted by the caller once this commits)."""
    address, erased = contact.email, placeholder(contact.pk)
    counts: dict[str, int] = {}
    files: list[tuple[Storage, str]] = []
    tag_ids = list(TaggedContact.objects.filter(content_object_id=contact.pk).values_list("tag_id", flat=True))
    for relation in contact_relations():
        files += _files(relation, contact.pk)
        if relation.label in DELETE:
            counts[relation.label] = relation.rows(contact.pk).delete()[0]
        else:
            counts[relation.label] = _clear_rows(relation, contact.pk, erased)
    _clear_contact(contact, erased)
    counts["taggit.tag"] = _delete_unused_tags(tag_ids)
    Suppression.objects.filter(email=address).delete()
    Suppression.objects.get_or_create(
        email_hash=address_hash(address), defaults={"reason": Suppression.Reason.LEGAL, "source": "erasure"}
    )
    counts.update(sweep(address, erased))
    return {label: count for label, count in counts.items() if count}, files


def _files(relation: Relation, contact_id: int) -> list[tuple[Storage, str]]:
    """(storage, name) of every file the contact's rows of ``relation`` point at."""
    found = []
    for field in relation.model._meta.concrete_fields:
        if isinstance(field, models.FileField):
            names = relation.rows(contact_id).exclude(**{field.name: ""}).values_list(field.name, flat=True)
            found += [(field.storage, name) for name in names]
    return found


def _delete_unused_tags(tag_ids: list[int]) -> int:
    """The person's tags that tag nothing else any more: a tag's name may be about them."""
    unused = [
        tag_id
        for tag_id in tag_ids
        if not any(
            related.related_model._default_manager.filter(**{related.field.name: tag_id}).exists()
            for related in Tag._meta.related_objects
        )
    ]
    return Tag.objects.filter(pk__in=unused).delete()[0]


def _blank(field: models.Field) -> Any:
    """What a personal column becomes: NULL where allowed, else empty (unique columns stay unique)."""
    unique = field.unique or any(
        field.name in getattr(constraint, "fields", ()) for constraint in field.model._meta.constraints
    )
    if field.null:
        return None
    if unique:
        return Concat(Value("erased-"), Cast("pk", models.CharField()))
    if isinstance(field, models.JSONField):
        return field.get_default()
    if isinstance(field, models.BinaryField):
        return b""
    return ""


def _clear_rows(relation: Relation, contact_id: int, erased: str) -> int:
    rows = relation.rows(contact_id)
    updates = {field.name: _blank(field) for field in personal_fields(relation.model)}
    if relation.label == "campaigns.message":
        # The recipient column of a sent message names the placeholder, as the contact now does.
        updates["email"] = erased
    if relation.model is Activity:
        return _clear_history(rows, updates)
    return rows.update(**updates) if updates else rows.count()


def _clear_history(rows: models.QuerySet, updates: dict[str, Any]) -> int:
    """History keeps its kinds, times, campaigns and link numbers (reports count them); the
    details (notes, changed values, user agents, ESP responses) go, and a clicked address
    loses its query string, where personal parameters travel. One UPDATE, of the rows it changes."""
    updates.pop("details")
    updates.pop("link_url")
    updates["details"] = Case(
        When(details__has_key="link", then=JSONObject(link=KeyTransform("link", "details"))),
        default=Value({}, output_field=models.JSONField()),
        output_field=models.JSONField(),
    )
    updates["link_url"] = Case(
        When(link_url__contains="?", then=Left("link_url", StrIndex("link_url", Value("?")) - 1)),
        default=F("link_url"),
        output_field=models.TextField(),
    )
    rows.filter(~Q(details={}) | Q(link_url__contains="?")).update(**updates)
    return rows.count()


def _clear_contact(contact: Contact, erased: str) -> None:
    now = timezone.now()
    updates = {field.name: _blank(field) for field in personal_fields(Contact)}
    updates.update(
        email=erased,
        email_domain="invalid",
        status=Contact.Status.UNSUBSCRIBED,
        status_changed_at=now,
        standing=Contact.Standing.SUPPRESSED,
    )
    Contact.objects.filter(pk=contact.pk).update(**updates)
    Subscription.objects.filter(contact_id=contact.pk).exclude(status=Subscription.Status.UNSUBSCRIBED).update(
        status=Subscription.Status.UNSUBSCRIBED, unsubscribed_at=now
    )


def sweep(address: str, erased: str) -> dict[str, int]:
    """Replace the address wherever else it is written, in every table's text and JSON columns."""
    pattern = re.compile(re.escape(address), re.IGNORECASE)
    counts: dict[str, int] = {}
    for model in apps.get_models():
        meta = model._meta
        if meta.proxy or not meta.managed or meta.label_lower in NOT_SWEPT or meta.app_label in NOT_SWEPT_APPS:
            continue
        fields = text_columns(model)
        changed = _sweep_table(model, fields, pattern, address, erased) if fields else 0
        if changed:
            counts[meta.label_lower] = changed
    return counts


def _sweep_table(
    model: type[models.Model], fields: list[models.Field], pattern: re.Pattern, address: str, erased: str
) -> int:
    """One search per table, every text column at once (a query per column made the sweep the
    larger part of an erasure on PostgreSQL, ~200 round trips); each hit row is rewritten in
    the columns that name the address. Returns the columns changed."""
    manager = model._default_manager
    casts = {f"_sweep_{field.name}": Cast(field.name, models.TextField()) for field in fields if _is_json(field)}
    found = Q()
    for field in fields:
        found |= Q(**{f"{'_sweep_' if _is_json(field) else ''}{field.name}__icontains": address})
    names = [field.name for field in fields]
    changed = 0
    for pk, *values in manager.annotate(**casts).filter(found).values_list("pk", *names):
        updates = {
            name: _replace(value, pattern, erased)
            for name, value in zip(names, values, strict=True)
            if _mentions(value, pattern)
        }
        if updates:
            manager.filter(pk=pk).update(**updates)
            changed += len(updates)
    return changed


def _is_json(field: models.Field) -> bool:
    return isinstance(field, models.JSONField)


def _mentions(value: Any, pattern: re.Pattern) -> bool:
    if isinstance(value, str):
        return bool(pattern.search(value))
    if isinstance(value, list):
        return any(_mentions(item, pattern) for item in value)
    if isinstance(value, dict):
        return any(_mentions(item, pattern) for item in value.values())
    return False


def _replace(value: Any, pattern: re.Pattern, erased: str) -> Any:
    if isinstance(value, str):
        return pattern.sub(erased, value)
    if isinstance(value, list):
        return [_replace(item, pattern, erased) for item in value]
    if isinstance(value, dict):
        return {key: _replace(item, pattern, erased) for key, item in value.items()}
    return value
