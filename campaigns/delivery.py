"""Delivery of a campaign's messages: the header template of a campaign arm, one recipient's
headers, and test sends through the real path.

How the bytes are built is in campaigns.mime, how they are carried in campaigns.transports;
both are re-exported here, the one import for the pipeline, transactional mail and tracking.
"""

from __future__ import annotations

from dataclasses import replace
from email.utils import formatdate, parseaddr
from urllib.parse import quote

from django.conf import settings

from campaigns import version
from campaigns.mime import (
    Content,
    HeaderInjectionError,
    MessageTemplate,
    Outgoing,
    UnsendableError,
    ascii_address,
    clean,
    encode_header,
    encode_words,
    format_address,
    header_line,
    list_id_value,
    message_id_header,
    phrase,
)
from campaigns.models import Campaign
from campaigns.transports import (
    METADATA_CAMPAIGN_ID,
    METADATA_MESSAGE_ID,
    SMTP_BACKEND,
    BackendTransport,
    Outcome,
    Result,
    SmtpTransport,
    sign,
    to_bytes,
    transport,
)
from contacts.models import Contact
from contacts.tokens import Purpose, TokenData, make_token
from templates_mail.recipient import recipient_for

__all__ = [
    "METADATA_CAMPAIGN_ID",
    "METADATA_MESSAGE_ID",
    "SMTP_BACKEND",
    "BackendTransport",
    "Content",
    "HeaderInjectionError",
    "MessageTemplate",
    "Outcome",
    "Outgoing",
    "Result",
    "SmtpTransport",
    "UnsendableError",
    "ascii_address",
    "clean",
    "compose",
    "encode_header",
    "encode_words",
    "format_address",
    "header_line",
    "list_id_value",
    "message_id_header",
    "outgoing_for",
    "phrase",
    "send_test",
    "sign",
    "template_for",
    "to_bytes",
    "transport",
]

TEST_SUBJECT_PREFIX = "[Test] "


def template_for(campaign: Campaign, from_name: str = "") -> MessageTemplate:
    """The per-campaign header template; ``from_name`` overrides the sender's (A/B variants)."""
    default_name, default_email = parseaddr(settings.DEFAULT_FROM_EMAIL)
    sender = campaign.sender
    name = from_name or (sender.name if sender else default_name)
    email = sender.email if sender else default_email
    reply_to = campaign.reply_to or (sender.reply_to if sender and sender.reply_to else email)
    domain = ascii_address(email).rpartition("@")[2]
    return MessageTemplate(
        from_name=name,
        from_email=email,
        reply_to=reply_to,
        list_id=list_id_value(name, campaign.pk, domain),
        # Gmail's Feedback Loop format, campaign:customer:type:sender, so its spam reports name the campaign.
        feedback_id=f"{campaign.pk}:{sender.pk if sender else 0}:campaign:{domain}",
    )


def compose(
    template: MessageTemplate,
    content: Content,
    *,
    campaign_id: int,
    contact_id: int,
    email: str,
    message_id: int | None,
    test: bool = False,
) -> Outgoing:
    """Headers of one recipient; every value is checked for CR/LF before anything is sent."""

    def token(purpose: Purpose) -> str:
        return make_token(TokenData(purpose, contact_id, message_id=message_id, campaign_id=campaign_id))

    unsubscribe = token(Purpose.UNSUBSCRIBE)
    recipient = ascii_address(email)
    headers = {
        "Date": formatdate(usegmt=True),
        "Message-ID": message_id_header(campaign_id, message_id, template.from_domain),
        "To": recipient,
        "Subject": encode_header(content.subject),
        "List-Unsubscribe": (
            f"<{settings.SITE_URL}/u/{unsubscribe}>, "
            f"<mailto:unsubscribe@{settings.BOUNCE_DOMAIN}?subject={quote(unsubscribe)}>"
        ),
    }
    if test:
        headers["X-Rapport-Test"] = "1"
    return Outgoing(
        envelope_from=f"bounces+{token(Purpose.BOUNCE)}@{settings.BOUNCE_DOMAIN}",
        recipient=recipient,
        headers=headers,
        content=content,
        template=template,
        campaign_id=campaign_id,
        message_id=message_id,
    )


def outgoing_for(
    campaign: Campaign, contact: Contact, *, message_id: int | None = None, variant: int = 0, test: bool = False
) -> Outgoing:
    """One recipient's message through the real renderer (for tests and render_message; batches
    prepare once and call :func:`compose` directly)."""
    spec = version.spec_for(campaign, variant)
    # A test copy is not the contact's mail: opening or clicking it must not count as theirs.
    content = version.prepare_spec_of(campaign, spec).render(recipient_for(contact, message_id), tracked=not test)
    if test:
        # So nobody mistakes a test in an inbox for the campaign itself.
        content = replace(content, subject=f"{TEST_SUBJECT_PREFIX}{content.subject}")
    return compose(
        template_for(campaign, spec.from_name),
        content,
        campaign_id=campaign.pk,
        contact_id=contact.pk,
        email=contact.email,
        message_id=message_id,
        test=test,
    )


def send_test(
    campaign: Campaign, addresses: list[str], contact: Contact | None = None, *, variant: int = 0
) -> dict[str, Result]:
    """Send one arm of the campaign to ``addresses`` through the real path, marked X-Rapport-Test,
    with no Message row.

    Merge fields come from ``contact`` (else the contact with that address, else an empty profile).
    """
    results = {}
    with transport() as carrier:
        for address in addresses:
            sample = contact or Contact.objects.filter(email=address.lower()).first() or Contact(pk=0, email=address)
            outgoing = outgoing_for(campaign, sample, variant=variant, test=True)
            outgoing.recipient = ascii_address(address)
            outgoing.headers["To"] = outgoing.recipient
            results[address] = carrier.send(outgoing)
    return results
