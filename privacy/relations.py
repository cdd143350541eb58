"""Where a person's data lives, found by walking the app registry rather than listed by hand,
so the tables of apps built later (sales, automations, signups...) are covered on the day
they land: every model with a foreign key to Contact holds rows about that contact.

Each text-like column of such a row may hold personal data and is cleared on erasure,
except the few listed in KEEP, which hold only codes that campaign and delivery totals are
grouped by, and choice columns (a fixed vocabulary, never a person's words).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from django.apps import apps
from django.db import models

from contacts.models import Contact

# Columns kept on erasure, by model label: codes, not a person's data.
KEEP: dict[str, set[str]] = {
    # The receiving domain: per-domain delivery totals must not change.
    "campaigns.message": {"domain"},
    # Ids of tracking and ESP events: replays of an event stay recognised.
    "contacts.activity": {"event_id"},
    "tracking.returnedmail": {"source", "status"},
    "sales.task": {"rule_key"},
}
# Rows deleted outright on erasure: tags are the person's profile; exports are their data.
DELETE = {"contacts.taggedcontact", "privacy.dataexport"}
# The privacy app's own rows are not part of anyone's export.
NOT_EXPORTED = {"privacy.dataexport"}
TEXT_FIELDS = (
    models.CharField,
    models.TextField,
    models.JSONField,
    models.GenericIPAddressField,
    models.BinaryField,
    models.FileField,
)


@dataclass(frozen=True)
class Relation:
    model: type[models.Model]
    field: str  # the foreign key to Contact

    @property
    def label(self) -> str:
        return self.model._meta.label_lower

    def rows(self, contact_id: int) -> models.QuerySet:
        return self.model._default_manager.filter(**{f"{self.field}_id": contact_id}).order_by("pk")


def contact_relations() -> list[Relation]:
    """Every (model, foreign key) pointing at Contact, in a stable order."""
    found = []
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if field.is_relation and field.related_model is Contact and (field.many_to_one or field.one_to_one):
                found.append(Relation(model, field.name))
    return sorted(found, key=lambda relation: (relation.label, relation.field))


def exported_fields(model: type[models.Model]) -> list[str]:
    """Column names of a model's rows in an export (foreign keys as their id)."""
    return [field.attname for field in model._meta.concrete_fields]


def personal_fields(model: type[models.Model]) -> Iterator[models.Field]:
    """The columns of ``model`` that may hold personal data: text, JSON, addresses, files."""
    keep = KEEP.get(model._meta.label_lower, set())
    for field in model._meta.concrete_fields:
        if field.primary_key or field.is_relation or field.choices or field.name in keep:
            continue
        if isinstance(field, TEXT_FIELDS):
            yield field


def text_columns(model: type[models.Model]) -> list[models.Field]:
    """Every column of ``model`` a value could be written into as text (for searching)."""
    return [
        field
        for field in model._meta.concrete_fields
        if isinstance(field, (models.CharField, models.TextField, models.JSONField)) and not field.is_relation
    ]
