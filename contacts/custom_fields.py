"""Custom fields as typed form fields and readable values; ``Contact.custom_fields`` stays
the JSON storage (dates as ``YYYY-MM-DD``, numbers as numbers, yes/no as booleans), which
is what segment rules, merge fields, import and export read."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django import forms
from django.utils.dateparse import parse_date
from wagtail.admin.panels import Panel

from contacts.models import Contact, CustomField

Kind = CustomField.Kind
# Form field names of custom fields: "custom__<key>" cannot clash with a model field.
PREFIX = "custom__"
YES_NO = [("", "—"), ("true", "Yes"), ("false", "No")]


def form_field(definition: CustomField) -> forms.Field:
    """The form field that edits one custom field; every one of them may be left empty."""
    common = {"label": definition.label, "required": False, "help_text": f"contact.custom.{definition.key}"}
    if definition.kind == Kind.NUMBER:
        return forms.DecimalField(**common)
    if definition.kind == Kind.DATE:
        return forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), **common)
    if definition.kind == Kind.BOOLEAN:
        return forms.TypedChoiceField(choices=YES_NO, coerce=lambda value: value == "true", empty_value=None, **common)
    if definition.kind == Kind.CHOICE:
        return forms.ChoiceField(choices=[("", "—"), *[(str(c), str(c)) for c in definition.choices]], **common)
    return forms.CharField(max_length=500, **common)


def initial(definition: CustomField, stored: Any) -> Any:
    """A stored JSON value as its form field expects it."""
    if stored is None or stored == "":
        return None
    if definition.kind == Kind.DATE:
        return parse_date(str(stored))
    if definition.kind == Kind.BOOLEAN:
        return "true" if stored is True or str(stored).lower() in ("true", "yes", "1") else "false"
    return stored


def stored(value: Any) -> Any:
    """A cleaned form value as JSON; None means the key is removed."""
    if value is None or value == "":
        return None
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def display(contact: Contact) -> list[tuple[str, str]]:
    """(label, value) of the contact's custom fields for its page; keys without a definition
    (from an import, say) are shown by their key."""
    labels = dict(CustomField.objects.values_list("key", "label"))
    values = contact.custom_fields if isinstance(contact.custom_fields, dict) else {}
    rows = []
    for key, value in sorted(values.items(), key=lambda item: labels.get(item[0], item[0]).lower()):
        shown = {True: "Yes", False: "No"}.get(value, value) if isinstance(value, bool) else value
        rows.append((labels.get(key, key), str(shown)))
    return rows


class CustomFieldsMixin:
    """For the contact's admin form: one typed field per defined custom field, saved back
    into ``custom_fields`` (keys without a definition are kept as they are)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        values = self.instance.custom_fields if isinstance(self.instance.custom_fields, dict) else {}
        self.custom_definitions = list(CustomField.objects.all())
        for definition in self.custom_definitions:
            name = PREFIX + definition.key
            self.fields[name] = form_field(definition)
            self.initial.setdefault(name, initial(definition, values.get(definition.key)))

    @property
    def changed_data(self) -> list[str]:
        # The typed inputs are one model field, custom_fields: the history names that field.
        names = [name for name in super().changed_data if not name.startswith(PREFIX)]
        if len(names) < len(super().changed_data):
            names.append("custom_fields")
        return names

    def save(self, commit: bool = True) -> Contact:
        values = dict(self.instance.custom_fields or {})
        for definition in self.custom_definitions:
            value = stored(self.cleaned_data.get(PREFIX + definition.key))
            if value is None:
                values.pop(definition.key, None)
            else:
                values[definition.key] = value
        self.instance.custom_fields = values
        return super().save(commit)


class CustomFieldsPanel(Panel):
    """Renders the typed custom fields that :class:`CustomFieldsMixin` adds to the form."""

    class BoundPanel(Panel.BoundPanel):
        template_name = "contacts/panels/custom_fields.html"

        def custom_fields(self) -> list[forms.BoundField]:
            return [self.form[name] for name in self.form.fields if name.startswith(PREFIX)]

        def is_shown(self) -> bool:
            return bool(self.custom_fields())

        def get_context_data(self, parent_context: dict | None = None) -> dict:
            return {**super().get_context_data(parent_context), "custom_fields": self.custom_fields()}
