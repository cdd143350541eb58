"""Composing campaigns: previews as a contact and the live audience count of the editor.

Everything here reads; sending and state changes live in campaigns/services.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

from django.conf import settings

from campaigns.audience import audience
from campaigns.models import Campaign, Message
from campaigns.version import prepare
from contacts.models import Contact, MailingList, Segment
from contacts.tokens import Purpose, TokenData, make_token
from templates_mail.merge import MergeError
from templates_mail.recipient import Recipient, RenderedMessage, recipient_for
from templates_mail.rendering import RenderError

PREVIEW_EMAIL = "preview@example.com"


@dataclass(frozen=True)
class Preview:
    message: RenderedMessage | None
    contact: Contact | None
    # The public web version, once the contact has been sent this campaign.
    web_version_url: str
    problems: list[str]


def find_contact(email: str) -> Contact | None:
    email = email.strip()
    if not email:
        return None
    return Contact.objects.select_related("owner").filter(email__iexact=email).first()


def preview(campaign: Campaign, contact: Contact | None, *, variant: int = 0) -> Preview:
    """The message exactly as ``contact`` would get it, but untracked (an admin looking at it is
    not the contact opening it); without a contact, every dynamic block shown."""
    try:
        prepared = prepare(campaign, variant, freeze=False)
    except (MergeError, RenderError) as error:
        problems = [str(problem) for problem in getattr(error, "problems", [error])]
        return Preview(None, contact, "", problems)
    if contact is None:
        message = prepared.render(Recipient(contact_id=0, email=PREVIEW_EMAIL), show_all_blocks=True, tracked=False)
        return Preview(message, None, "", [])
    message_id = Message.objects.filter(campaign=campaign, contact=contact).values_list("pk", flat=True).first()
    web_version_url = ""
    if message_id is not None:
        token = make_token(TokenData(Purpose.VIEW, contact.pk, message_id, campaign.pk))
        web_version_url = f"{settings.SITE_URL}/v/{token}"
    message = prepared.render(recipient_for(contact, message_id), tracked=False)
    return Preview(message, contact, web_version_url, [])


def selection_count(
    include_lists: list[int],
    include_segments: list[int],
    exclude_lists: list[int],
    exclude_segments: list[int],
    *,
    is_reengagement: bool = False,
) -> int:
    """Recipients of an audience as it stands in the editor, before it is saved.

    campaigns.audience is the one definition of an audience; it reads the four relations
    of a campaign, so an unsaved selection is handed to it in the same shape.
    """
    selection = SimpleNamespace(
        include_lists=MailingList.objects.filter(pk__in=include_lists),
        include_segments=Segment.objects.filter(pk__in=include_segments),
        exclude_lists=MailingList.objects.filter(pk__in=exclude_lists),
        exclude_segments=Segment.objects.filter(pk__in=exclude_segments),
        is_reengagement=is_reengagement,
    )
    return audience(selection).count()


def sample_contact_email(campaign: Campaign) -> str:
    """Whom a preview shows first: a real recipient of the campaign, else any contact, so the
    first look has real names in it; "" on an installation without contacts."""
    recipient = audience(campaign).order_by("pk").values_list("email", flat=True).first()
    return recipient or Contact.objects.order_by("pk").values_list("email", flat=True).first() or ""
