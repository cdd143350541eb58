"""The two shipped layouts: seeded by migrate, complete footers, responsive and lint-clean."""

import pytest

from templates_mail.apps import SHIPPED_LAYOUTS, install_shipped_layouts
from templates_mail.lint import lint
from templates_mail.models import Layout
from templates_mail.rendering import Recipient, prepare
from tests.factories import CampaignFactory
from tests.templates_mail.helpers import block, text

pytestmark = pytest.mark.django_db


def test_migrate_installs_both_layouts_and_one_default():
    layouts = Layout.objects.filter(name__in=SHIPPED_LAYOUTS)
    assert layouts.count() == 2
    assert layouts.filter(is_default=True).count() == 1


def test_installing_again_keeps_a_marketers_edits():
    Layout.objects.filter(name="Classic newsletter").update(html="edited {{ content }}")
    install_shipped_layouts()
    assert Layout.objects.get(name="Classic newsletter").html == "edited {{ content }}"
    assert Layout.objects.filter(name__in=SHIPPED_LAYOUTS).count() == 2


@pytest.mark.parametrize("name", list(SHIPPED_LAYOUTS))
def test_shipped_layout_renders_a_600px_responsive_dark_mode_aware_message(name):
    campaign = CampaignFactory(
        layout=Layout.objects.get(name=name),
        body=[block("heading", text="Hello", level="h1"), text("<p>Body text</p>")],
    )
    html = prepare(campaign).render(Recipient(contact_id=1, email="a@example.com")).html
    assert 'width="600"' in html
    assert "max-width: 620px" in html
    assert "prefers-color-scheme: dark" in html
    assert "style=" in html.split("Hello")[0].rsplit("<h1", 1)[1]


@pytest.mark.parametrize("name", list(SHIPPED_LAYOUTS))
def test_shipped_layout_passes_the_linter(name):
    campaign = CampaignFactory(
        layout=Layout.objects.get(name=name), subject="Our news", body=[text("<p>" + "Plenty of words. " * 20 + "</p>")]
    )
    assert [issue for issue in lint(campaign) if issue.blocking] == []
