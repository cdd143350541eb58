"""Every block renders email-safe, balanced table markup; images get absolute URLs, width and alt."""

import pytest
from wagtail.images.models import Image
from wagtail.images.tests.utils import get_test_image_file

from campaigns.version import prepare
from templates_mail.lint import html_problems
from templates_mail.recipient import Recipient
from tests.factories import CampaignFactory
from tests.templates_mail.helpers import block

pytestmark = pytest.mark.django_db

BLOCKS = [
    block("heading", text="Title", level="h2"),
    block("text", text="<p>Rich <b>text</b></p>"),
    block("button", label="Go", url="https://example.com/go", align="center"),
    block("divider"),
    block("spacer", height=24),
    block("columns", left="<p>Left</p>", right="<p>Right</p>"),
    block("card", title="Jacket", text="Warm", price="€99", button_label="Buy", url="https://example.com/j"),
    block("quote", text="Great", attribution="A customer"),
]


@pytest.mark.parametrize("raw", BLOCKS, ids=[raw["type"] for raw in BLOCKS])
def test_block_renders_balanced_presentation_tables(raw):
    campaign = CampaignFactory(body=[raw])
    child = campaign.body[0]
    markup = str(child.render())
    assert markup.lstrip().startswith('<table role="presentation"')
    assert html_problems(markup) == []


def test_two_columns_carry_outlook_conditional_tables_through_inlining():
    html = prepare(CampaignFactory(body=[BLOCKS[5]])).render(Recipient(contact_id=1, email="a@example.com")).html
    assert "<!--[if mso]>" in html


def test_image_block_uses_an_absolute_rendition_url_with_width_and_alt(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    image = Image.objects.create(title="Jacket", file=get_test_image_file())
    campaign = CampaignFactory(body=[block("image", image=image.pk, alt="A jacket", width=300, link="")])
    html = prepare(campaign).render(Recipient(contact_id=1, email="a@example.com")).html
    assert f'src="{settings.SITE_URL}/media/images/' in html
    assert 'width="300" alt="A jacket"' in html
