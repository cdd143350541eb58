"""StreamField blocks for campaign bodies. Each renders to email-safe table markup."""

from wagtail import blocks


class HeadingBlock(blocks.CharBlock):
    class Meta:
        icon = "title"
        template = "templates_mail/blocks/heading.html"


class CampaignBodyBlock(blocks.StreamBlock):
    heading = HeadingBlock()
    text = blocks.RichTextBlock(template="templates_mail/blocks/text.html")
    html = blocks.RawHTMLBlock(label="Raw HTML", template="templates_mail/blocks/html.html")
