"""The report pages for Marketers and Sales, the campaign list's figures, the contacts behind a number, exports."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from campaigns.models import Campaign
from contacts.models import Activity, Segment
from contacts.roles import MARKETERS, SALES, ensure_groups
from reports.models import CampaignLinkCount
from tests.factories import CampaignFactory, UserFactory
from tests.reports.conftest import play
from tracking import buffer

pytestmark = pytest.mark.django_db


def refused(response) -> bool:
    """Wagtail answers a refusal with 403, or a redirect to the dashboard (or to log in, without admin access)."""
    location = response.get("Location", "")
    redirected = response.status_code == 302 and (location == "/admin/" or "login" in location)
    return response.status_code == 403 or redirected


@pytest.fixture
def marketer(client):
    ensure_groups()
    client.force_login(UserFactory(username="marketer", groups=[MARKETERS]))
    return client


@pytest.fixture
def sales(client):
    ensure_groups()
    client.force_login(UserFactory(username="sales", groups=[SALES]))
    return client


def test_a_user_without_a_role_cannot_read_reports(client, story):
    client.force_login(UserFactory(username="nobody", is_staff=True))
    assert refused(client.get(reverse("reports:campaign", args=[story.campaign.pk])))


def test_an_unknown_export_format_is_not_found(marketer, story):
    response = marketer.get(reverse("reports:campaign", args=[story.campaign.pk]), {"export": "pdf", "table": "links"})
    assert response.status_code == 404


def test_contacts_behind_an_unknown_event_are_not_found(marketer, story):
    response = marketer.get(reverse("reports:contacts", args=[story.campaign.pk]), {"event": "deleted"})
    assert response.status_code == 404


def test_the_report_names_each_section_with_a_table_beside_each_chart(sales, story):
    play(story)
    response = sales.get(reverse("reports:campaign", args=[story.campaign.pk]))
    page = response.content.decode()
    assert response.status_code == 200
    assert f"Campaign report: {story.campaign.name}" in page
    for key in ("delivery", "engagement", "over_time", "links", "domains", "devices"):
        assert f'id="table-{key}"' in page
    assert page.count("<canvas") == page.count('data-table="table-')
    assert "https://shop.example.com/item/0" in page


def test_the_campaign_list_shows_sent_delivered_and_human_rates(marketer, story):
    play(story)
    page = marketer.get(reverse("campaigns:index")).content.decode()
    # 3 sent, 2 delivered (cat bounced), 2 people opened, 2 clicked: 100% of delivered each.
    assert "Open rate" in page and "Click rate" in page
    assert "100.0%" in page


def test_a_sent_campaign_links_to_its_report(marketer, story):
    page = marketer.get(reverse("campaigns:edit", args=[story.campaign.pk])).content.decode()
    assert reverse("reports:campaign", args=[story.campaign.pk]) in page


def test_who_clicked_a_link_is_one_click_away_and_machines_are_not_people(marketer, story):
    play(story)
    response = marketer.get(reverse("reports:contacts", args=[story.campaign.pk]), {"event": "clicked", "link": 0})
    page = response.content.decode()
    assert "ann@mail.example.org" in page
    assert "bob@inbox.example.net" not in page  # his scanner clicked, he did not


def test_the_contacts_behind_a_number_can_be_kept_as_a_segment(marketer, story):
    play(story)
    url = reverse("reports:contacts", args=[story.campaign.pk]) + "?event=opened"
    marketer.post(url)
    segment = Segment.objects.get()
    assert segment.rules == {"event": "opened", "campaign": story.campaign.pk}


def test_sales_cannot_export_the_contacts_behind_a_number(sales, story):
    url = reverse("reports:contacts", args=[story.campaign.pk])
    response = sales.get(url, {"event": "opened", "export": "csv"})
    assert refused(response)


def test_a_table_exports_as_formula_safe_csv(marketer, story):
    play(story)
    story.campaign.links.filter(index=0).update(url="=HYPERLINK(1)")
    response = marketer.get(reverse("reports:campaign", args=[story.campaign.pk]), {"export": "csv", "table": "links"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0] == ["Link", "People who clicked", "With machines", "All clicks"]
    assert rows[1] == ["'=HYPERLINK(1)", "1", "2", "3"]


def test_a_table_exports_as_xlsx(marketer, story):
    play(story)
    response = marketer.get(
        reverse("reports:campaign", args=[story.campaign.pk]), {"export": "xlsx", "table": "delivery"}
    )
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert [cell.value for cell in next(sheet.iter_rows())] == ["Outcome", "Messages", "Share of sent"]
    assert [cell.value for cell in list(sheet.iter_rows())[1]][:2] == ["Sent", 3]


def test_the_click_map_marks_each_link_with_its_human_clicks_and_records_no_open(marketer):
    body = [("button", {"label": "Shop now", "url": "https://shop.example.com/spring"})]
    campaign = CampaignFactory(body=body, status=Campaign.Status.SENT)
    CampaignLinkCount.objects.create(campaign_id=campaign.pk, link_index=0, total=5, total_human=3)
    CampaignLinkCount.objects.create(campaign_id=campaign.pk, link_index=1, total=1, total_human=1)

    overlay = marketer.get(reverse("reports:campaign", args=[campaign.pk])).context["click_map"]

    assert "3 · 75.0%</span>Shop now" in overlay
    assert ("href=" in overlay, "/t/o/" in overlay, buffer.backlog()) == (False, False, 0)
    assert not Activity.objects.filter(kind=Activity.Kind.OPENED).exists()
