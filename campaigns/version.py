"""What one version of a campaign is: the variant's content, its sender's postal address,
the list it goes through, its UTM tag, and the link table frozen once it is prepared.

This module turns a Campaign (and an A/B arm) into the plain :class:`MessageSpec` that
templates_mail renders, and owns the campaign's side of rendering: the A/B rules and the
CampaignLink rows click tokens point into. templates_mail never sees a Campaign.
"""

from __future__ import annotations

from django.conf import settings
from django.utils.text import slugify
from wagtail.blocks import StreamValue

from campaigns.models import Campaign, CampaignLink, CampaignVariant
from templates_mail.models import Layout
from templates_mail.rendering import PreparedMessage, RenderError
from templates_mail.rendering import prepare as render_prepare
from templates_mail.spec import MessageSpec, body_data


def layout_for(campaign: Campaign) -> Layout:
    layout = campaign.layout or Layout.objects.order_by("-is_default", "name").first()
    if layout is None:
        raise RenderError("no layout: choose one for the campaign")
    return layout


def postal_address(campaign: Campaign) -> str:
    sender = campaign.sender
    return (sender.postal_address if sender and sender.postal_address else settings.POSTAL_ADDRESS).strip()


def list_name(campaign: Campaign) -> str:
    """The list a recipient is mailed through, when the campaign goes to exactly one list."""
    names = list(campaign.include_lists.values_list("name", flat=True)[:2])
    return names[0] if len(names) == 1 else ""


def utm_campaign(campaign: Campaign) -> str:
    """The utm_campaign value when the campaign asks for UTM parameters, else empty."""
    return (slugify(campaign.name) or f"campaign-{campaign.pk}") if campaign.utm_enabled else ""


def arm_content(campaign: Campaign, variant: int, row: CampaignVariant | None) -> tuple[str, StreamValue]:
    """Subject and body of one A/B arm: its CampaignVariant row's own, else subject B for arm 1,
    else the campaign as composed. Arm 0 is always the campaign as composed."""
    own = row if variant else None
    subject = campaign.subject
    if variant == 1 and campaign.subject_b.strip():
        subject = campaign.subject_b
    if own is not None and own.subject.strip():
        subject = own.subject
    body = own.body if own is not None and len(own.body) else campaign.body
    return subject, body


def spec_for(campaign: Campaign, variant: int = 0) -> MessageSpec:
    """The message spec of one arm of the campaign; raises RenderError when it has no layout.

    The arm's row may override the From name, even for arm 0 (the campaign as composed).
    """
    layout = layout_for(campaign)
    row = CampaignVariant.objects.filter(campaign_id=campaign.pk, index=variant).first()
    subject, body = arm_content(campaign, variant, row)
    return MessageSpec(
        subject=subject,
        layout_html=layout.html,
        body=body_data(body),
        preheader=campaign.preheader,
        text_body=campaign.text_body,
        from_name=row.from_name if row is not None else "",
        postal_address=postal_address(campaign),
        list_name=list_name(campaign),
        utm_campaign=utm_campaign(campaign),
        campaign_id=campaign.pk,
    )


def freeze_links(campaign: Campaign, links: list[str]) -> None:
    """Store the link table (index -> URL) that click tokens point into; repeated prepares agree."""
    existing = dict(CampaignLink.objects.filter(campaign_id=campaign.pk).values_list("index", "url"))
    changed = [index for index, url in enumerate(links) if index in existing and existing[index] != url]
    if changed:
        if campaign.is_frozen:
            raise RenderError("the links of a campaign that has been sent cannot change")
        CampaignLink.objects.filter(campaign_id=campaign.pk, index__in=changed).delete()
    CampaignLink.objects.bulk_create(
        [
            CampaignLink(campaign_id=campaign.pk, index=index, url=url)
            for index, url in enumerate(links)
            if existing.get(index) != url
        ],
        ignore_conflicts=True,
    )


def prepare_spec_of(campaign: Campaign, spec: MessageSpec, *, freeze: bool = True) -> PreparedMessage:
    """Compile ``spec`` (cached by content) and, unless ``freeze`` is False, freeze the campaign's links."""
    prepared = render_prepare(spec)
    if freeze:
        freeze_links(campaign, prepared.links)
    return prepared


def prepare(campaign: Campaign, variant: int = 0, *, freeze: bool = True) -> PreparedMessage:
    """Compile one arm of the campaign (cached by content) and freeze its link table.

    ``freeze=False`` (linter, previews) leaves the link table alone. Raises MergeError listing
    every merge problem with where it is, or RenderError.
    """
    return prepare_spec_of(campaign, spec_for(campaign, variant), freeze=freeze)
