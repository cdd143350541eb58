"""Every merge field a campaign may use, labelled for the editor's picker."""

from __future__ import annotations

from dataclasses import dataclass

from contacts.models import Contact, CustomField
from templates_mail.merge import CONTACT_FIELDS, CUSTOM_PREFIX, LINK_FIELDS, OWNER_FIELDS

OWNER_LABELS = {
    "name": "owner's name",
    "first_name": "owner's first name",
    "email": "owner's email",
    "signature": "owner's signature",
}
LINK_LABELS = {
    "unsubscribe_url": "unsubscribe link",
    "preferences_url": "preferences link",
    "web_version_url": "web version link",
}


@dataclass(frozen=True)
class MergeField:
    expression: str
    label: str

    @property
    def tag(self) -> str:
        return f"{{{{ {self.expression} }}}}"


def _contact_label(name: str) -> str:
    if name == "full_name":
        return "full name"
    return str(Contact._meta.get_field(name).verbose_name)


def merge_fields() -> dict[str, list[MergeField]]:
    """Groups of fields, in the order a marketer looks for them; custom fields as defined now."""
    return {
        "Contact": [MergeField(f"contact.{name}", _contact_label(name)) for name in CONTACT_FIELDS],
        "Custom fields": [
            MergeField(f"{CUSTOM_PREFIX}{key}", label)
            for key, label in CustomField.objects.order_by("label").values_list("key", "label")
        ],
        "Owner (salesperson)": [MergeField(f"owner.{name}", OWNER_LABELS[name]) for name in OWNER_FIELDS],
        "List and links": [
            MergeField("list.name", "list name"),
            MergeField("postal_address", "postal address"),
            *(MergeField(name, LINK_LABELS[name]) for name in LINK_FIELDS),
        ],
    }
