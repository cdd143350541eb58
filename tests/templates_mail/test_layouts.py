"""The two shipped layouts: seeded by migrate, complete footers, responsive and lint-clean."""

import hashlib
import importlib
import re

import pytest
from django.apps import apps as django_apps

from campaigns.lint import lint
from campaigns.version import prepare
from templates_mail.apps import LAYOUTS_DIR, SHIPPED_LAYOUTS, install_shipped_layouts
from templates_mail.models import Layout
from templates_mail.recipient import Recipient
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


@pytest.mark.parametrize("name", list(SHIPPED_LAYOUTS))
def test_shipped_layout_is_fluid_with_a_600px_frame_for_outlook(name):
    campaign = CampaignFactory(layout=Layout.objects.get(name=name), body=[text("<p>Body text</p>")])
    html = prepare(campaign).render(Recipient(contact_id=1, email="a@example.com")).html
    assert not re.search(r"(?<![-\w])width:\s*600px", html)
    assert "max-width:600px" in html.replace(" ", "")
    assert '<!--[if mso]><table role="presentation" width="600"' in html


@pytest.mark.parametrize("name", list(SHIPPED_LAYOUTS))
def test_shipped_layout_buttons_keep_their_padding_in_outlook(name):
    """Outlook for Windows ignores padding on links: the button's cell carries its colour and
    an Outlook-only padding, so the button stays a button there."""
    campaign = CampaignFactory(
        layout=Layout.objects.get(name=name), body=[block("button", label="Shop", url="https://shop.example.com/")]
    )
    html = prepare(campaign).render(Recipient(contact_id=1, email="a@example.com")).html
    cell = re.search(r'<td class="button-cell"([^>]*)><a class="button"', html).group(1)
    assert "bgcolor=" in cell
    assert "mso-padding-alt:" in cell


def test_an_unedited_layout_from_an_older_release_gets_the_new_html(monkeypatch):
    update = importlib.import_module("templates_mail.migrations.0002_responsive_layouts")
    old_html = "<html><body>{{ content }} the layout as shipped before</body></html>"
    monkeypatch.setitem(
        update.OLD_SHIPPED_SHA256, "Classic newsletter", {hashlib.sha256(old_html.encode()).hexdigest()}
    )
    Layout.objects.filter(name="Classic newsletter").update(html=old_html)
    Layout.objects.filter(name="Bold announcement").update(html="edited {{ content }}")

    update.update_unedited_layouts(django_apps, None)

    assert Layout.objects.get(name="Classic newsletter").html == (LAYOUTS_DIR / "classic.html").read_text()
    assert Layout.objects.get(name="Bold announcement").html == "edited {{ content }}"
