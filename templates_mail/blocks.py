"""StreamField blocks for campaign bodies. Each renders to email-safe table markup.

Every block carries an optional audience: a segment, or a simple rule on one contact
field. The renderer wraps such blocks in markers and chooses them per recipient, so the
whole body is inlined once with every variant present.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from wagtail import blocks
from wagtail.blocks.struct_block import StructBlockValidationError
from wagtail.images.blocks import ImageChooserBlock

from contacts.tokens import ANSWER_SCALES
from templates_mail.merge import CONTACT_FIELDS
from templates_mail.safety import validate_url

# Child blocks holding a link target, checked by EmailBlock.clean().
URL_CHILDREN = ("url", "link")


def segment_choices() -> list[tuple[str, str]]:
    from contacts.models import Segment

    return [(str(pk), name) for pk, name in Segment.objects.values_list("pk", "name")]


RULE_FIELDS = [(name, name.replace("_", " ")) for name in CONTACT_FIELDS if name != "full_name"]


class AudienceBlock(blocks.StructBlock):
    segment = blocks.ChoiceBlock(choices=segment_choices, required=False, help_text="Only contacts in this segment.")
    field = blocks.ChoiceBlock(choices=RULE_FIELDS, required=False, help_text='Or a rule, e.g. "grade" is "A".')
    operator = blocks.ChoiceBlock(choices=[("is", "is"), ("is_not", "is not")], default="is", required=False)
    value = blocks.CharBlock(required=False)

    class Meta:
        label = "Show only to"
        icon = "group"
        collapsed = True


def audience_condition(value: Any) -> tuple | None:
    """The block's audience as ("segment", id) or ("field", name, operator, value); None for everyone."""
    audience = value.get("audience") if hasattr(value, "get") else None
    if not audience:
        return None
    if audience.get("segment"):
        return ("segment", int(audience["segment"]))
    if audience.get("field"):
        return ("field", audience["field"], audience.get("operator") or "is", audience.get("value") or "")
    return None


def absolute_url(url: str) -> str:
    """Mail clients have no base URL: every image and link must be absolute."""
    return url if "://" in url or url.startswith(("mailto:", "tel:", "#")) else settings.SITE_URL + url


class EmailBlock(blocks.StructBlock):
    audience = AudienceBlock(required=False)

    def clean(self, value):
        """Every link must be http(s), mailto: or tel: (a ``javascript:`` button would run in
        the web version). Checked here rather than by a validator on the child block, which
        would change the StreamField's definition and need a migration."""
        value = super().clean(value)
        errors = {}
        for name in URL_CHILDREN:
            if name in self.child_blocks:
                try:
                    validate_url(value.get(name) or "")
                except ValidationError as error:
                    errors[name] = error
        if errors:
            raise StructBlockValidationError(block_errors=errors)
        return value

    def get_context(self, value, parent_context=None):
        context = super().get_context(value, parent_context)
        context["image_url"] = self.image_url(value)
        return context

    def image_url(self, value) -> str:
        image = value.get("image")
        if not image:
            return ""
        return absolute_url(image.get_rendition(f"width-{value.get('width') or 600}").url)


class HeadingBlock(EmailBlock):
    text = blocks.CharBlock()
    level = blocks.ChoiceBlock(choices=[("h1", "Title"), ("h2", "Heading"), ("h3", "Subheading")], default="h2")

    class Meta:
        icon = "title"
        template = "templates_mail/blocks/heading.html"


class TextBlock(EmailBlock):
    text = blocks.RichTextBlock()

    class Meta:
        icon = "pilcrow"
        template = "templates_mail/blocks/text.html"


class ImageBlock(EmailBlock):
    image = ImageChooserBlock()
    alt = blocks.CharBlock(required=False, help_text="Shown when images are blocked; required by the linter.")
    width = blocks.IntegerBlock(default=600, min_value=20, max_value=600)
    link = blocks.URLBlock(required=False)

    class Meta:
        icon = "image"
        template = "templates_mail/blocks/image.html"


class ButtonBlock(EmailBlock):
    label = blocks.CharBlock()
    url = blocks.CharBlock(help_text="https://...")
    align = blocks.ChoiceBlock(choices=[("center", "centre"), ("left", "left")], default="center")

    class Meta:
        icon = "link"
        template = "templates_mail/blocks/button.html"


class DividerBlock(EmailBlock):
    class Meta:
        icon = "horizontalrule"
        template = "templates_mail/blocks/divider.html"


class SpacerBlock(EmailBlock):
    height = blocks.IntegerBlock(default=24, min_value=4, max_value=120)

    class Meta:
        icon = "arrows-up-down"
        template = "templates_mail/blocks/spacer.html"


class ColumnsBlock(EmailBlock):
    left = blocks.RichTextBlock()
    right = blocks.RichTextBlock()

    class Meta:
        icon = "table"
        label = "Two columns"
        template = "templates_mail/blocks/columns.html"


class CardBlock(EmailBlock):
    image = ImageChooserBlock(required=False)
    width = blocks.IntegerBlock(default=560, min_value=20, max_value=600)
    title = blocks.CharBlock()
    text = blocks.TextBlock(required=False)
    price = blocks.CharBlock(required=False)
    button_label = blocks.CharBlock(required=False)
    url = blocks.CharBlock(required=False)

    class Meta:
        icon = "doc-full"
        label = "Article / product card"
        template = "templates_mail/blocks/card.html"


class QuoteBlock(EmailBlock):
    text = blocks.TextBlock()
    attribution = blocks.CharBlock(required=False)

    class Meta:
        icon = "openquote"
        template = "templates_mail/blocks/quote.html"


class RawHTMLBlock(EmailBlock):
    html = blocks.RawHTMLBlock(help_text="For experts; still checked by the linter.")

    class Meta:
        icon = "code"
        label = "Raw HTML"
        template = "templates_mail/blocks/html.html"


class SatisfactionBlock(EmailBlock):
    """A question with a row of answer links; each is signed per recipient by the renderer
    (merge fields ``answer.<scale>.<score>``), so a click records that recipient's score."""

    question = blocks.CharBlock(default="How did we do?")
    scale = blocks.ChoiceBlock(choices=[("5", "1 to 5"), ("10", "0 to 10 (NPS)")], default="5")

    class Meta:
        icon = "pick"
        label = "Satisfaction question"
        template = "templates_mail/blocks/satisfaction.html"

    def get_context(self, value, parent_context=None):
        context = super().get_context(value, parent_context)
        scale = int(value.get("scale") or 5) if str(value.get("scale") or 5) in ("5", "10") else 5
        context["answers"] = [(score, f"{{{{ answer.{scale}.{score} }}}}") for score in ANSWER_SCALES[scale]]
        return context


class CampaignBodyBlock(blocks.StreamBlock):
    heading = HeadingBlock()
    text = TextBlock()
    image = ImageBlock()
    button = ButtonBlock()
    divider = DividerBlock()
    spacer = SpacerBlock()
    columns = ColumnsBlock()
    card = CardBlock()
    quote = QuoteBlock()
    html = RawHTMLBlock()
    satisfaction = SatisfactionBlock()
