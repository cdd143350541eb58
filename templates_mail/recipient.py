"""Who a message is rendered for: one contact's merge values as plain strings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from contacts.models import Contact
from templates_mail import merge


@dataclass
class Recipient:
    """One contact's merge values as plain strings: nothing callable, no relations."""

    contact_id: int
    email: str
    first_name: str = ""
    last_name: str = ""
    company: str = ""
    job_title: str = ""
    industry: str = ""
    region: str = ""
    city: str = ""
    country: str = ""
    language: str = ""
    customer_type: str = ""
    grade: str = ""
    custom: dict[str, str] = field(default_factory=dict)
    owner_name: str = ""
    owner_first_name: str = ""
    owner_email: str = ""
    list_name: str = ""
    message_id: int | None = None

    def values(self) -> dict[str, str]:
        full_name = f"{self.first_name} {self.last_name}".strip()
        owner_signature = f"{self.owner_name} <{self.owner_email}>" if self.owner_email else self.owner_name
        values = {
            "contact.email": self.email,
            "contact.first_name": self.first_name,
            "contact.last_name": self.last_name,
            "contact.full_name": full_name,
            "contact.company": self.company,
            "contact.job_title": self.job_title,
            "contact.industry": self.industry,
            "contact.region": self.region,
            "contact.city": self.city,
            "contact.country": self.country,
            "contact.language": self.language,
            "contact.customer_type": self.customer_type,
            "contact.grade": self.grade,
            "owner.name": self.owner_name,
            "owner.first_name": self.owner_first_name,
            "owner.email": self.owner_email,
            "owner.signature": owner_signature,
            "list.name": self.list_name,
        }
        for key, value in self.custom.items():
            values[merge.CUSTOM_PREFIX + key] = value
        return values


@dataclass(frozen=True)
class RenderedMessage:
    subject: str
    html: str
    text: str
    preheader: str


def _plain(value: Any) -> str:
    return "" if value is None else str(value)


def recipient_for(contact: Contact, message_id: int | None = None, *, list_name: str = "") -> Recipient:
    """The recipient of ``contact``; query-free when the owner was select_related."""
    owner = contact.owner
    return Recipient(
        contact_id=contact.pk,
        email=contact.email,
        first_name=contact.first_name,
        last_name=contact.last_name,
        company=contact.company,
        job_title=contact.job_title,
        industry=contact.industry,
        region=contact.region,
        city=contact.city,
        country=contact.country,
        language=contact.language,
        customer_type=contact.customer_type,
        grade=contact.grade,
        custom={str(key): _plain(value) for key, value in (contact.custom_fields or {}).items()},
        owner_name=(owner.get_full_name() or owner.get_username()) if owner else "",
        owner_first_name=owner.first_name if owner else "",
        owner_email=owner.email if owner else "",
        list_name=list_name,
        message_id=message_id,
    )
