"""Admin pages say where you are: the header's breadcrumbs end with the page, never just "Home"."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from contacts.models import ImportJob
from tests.factories import CampaignFactory

pytestmark = pytest.mark.django_db


def breadcrumbs(page: str) -> list[str]:
    nav = re.search(r'<nav[^>]*aria-label="Breadcrumb"[^>]*>(.*?)</nav>', page, re.S).group(1)
    return [re.sub(r"\s+", " ", label).strip() for label in re.findall(r">([^<>]*\w[^<>]*)<", nav)]


def test_the_sending_index_is_headed_sending(admin_client):
    page = admin_client.get(reverse("sending:index")).content.decode()

    assert breadcrumbs(page) == ["Home", "Sending"]


def test_the_sending_page_is_headed_with_the_campaign(admin_client):
    campaign = CampaignFactory(name="Autumn news")

    page = admin_client.get(reverse("sending:detail", args=[campaign.pk])).content.decode()

    assert breadcrumbs(page) == ["Home", "Sending", "Autumn news"]


def test_the_preview_is_headed_with_the_campaign(admin_client):
    campaign = CampaignFactory(name="Autumn news")

    page = admin_client.get(reverse("campaigns:preview", args=[campaign.pk])).content.decode()

    assert breadcrumbs(page) == ["Home", "Campaigns", "Autumn news", "Preview"]


def test_the_column_mapping_is_headed_with_the_file(admin_client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    upload = SimpleUploadedFile("people.csv", b"email,name\nann@example.com,Ann\n", content_type="text/csv")
    admin_client.post(reverse("wagtailsnippets_contacts_importjob:add"), {"file": upload})

    page = admin_client.get(reverse("contacts_admin:import_map", args=[ImportJob.objects.get().pk])).content.decode()

    assert breadcrumbs(page)[0] == "Home"
    assert breadcrumbs(page)[-1] == "Map columns: people.csv"
