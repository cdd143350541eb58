"""The admin dashboard is Rapport's: audience, last campaigns, hot leads, deliverability, next steps."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Campaign, Message
from contacts.models import Activity, Contact
from dashboard import services
from tests.factories import (
    ActivityFactory,
    CampaignFactory,
    ContactFactory,
    MailingListFactory,
    MessageFactory,
    SenderIdentityFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def sent_campaign(recipients: int = 4, opened: int = 2, clicked: int = 1) -> Campaign:
    """A finished campaign whose first ``opened`` recipients opened (plus a machine open) and ``clicked`` clicked."""
    now = timezone.now()
    campaign = CampaignFactory(name="December news", status=Campaign.Status.SENT, started_at=now, finished_at=now)
    messages = [MessageFactory(campaign=campaign, status=Message.Status.SENT, sent_at=now) for _ in range(recipients)]
    for message in messages:
        ActivityFactory(contact=message.contact, kind=Activity.Kind.SENT, campaign_id=campaign.pk)
    for message in messages[:opened]:
        for _ in range(2):  # twice: rates count people, not events
            ActivityFactory(contact=message.contact, kind=Activity.Kind.OPENED, campaign_id=campaign.pk)
    ActivityFactory(contact=messages[-1].contact, kind=Activity.Kind.OPENED, campaign_id=campaign.pk, is_machine=True)
    for message in messages[:clicked]:
        ActivityFactory(contact=message.contact, kind=Activity.Kind.CLICKED, campaign_id=campaign.pk)
    return campaign


def section(html: str, element_id: str) -> str:
    match = re.search(rf'<section[^>]*id="{element_id}".*?</section>', html, re.S)
    return match.group(0) if match else ""


# --- unhappy paths and what must not be there ---------------------------------------------------


def test_dashboard_shows_no_page_summary_page_search_or_gravatar(admin_client):
    html = admin_client.get(reverse("wagtailadmin_home")).content.decode()
    assert "Search all pages" not in html
    assert "w-summary" not in html
    assert "gravatar" not in html.lower()


def test_main_menu_has_no_page_explorer_documents_or_help(admin_client):
    html = admin_client.get(reverse("wagtailadmin_home")).content.decode()
    menu = html[html.index('id="wagtail-sidebar-props"') :]
    for name in ("explorer", "documents", "help", "locked-pages", "aging-pages", "page-types-usage", "workflows"):
        assert f'"name": "{name}"' not in menu, name
    for name in ("campaigns", "hot-leads", "images", "site-history"):
        assert f'"name": "{name}"' in menu, name


def test_the_sidebar_search_finds_contacts_not_pages(admin_client):
    html = admin_client.get(reverse("wagtailadmin_home")).content.decode()
    search = re.search(r'"_type": "wagtail.sidebar.SearchModule", "_args": \[([^\]]*)\]', html).group(1)
    assert reverse("wagtailsnippets_contacts_contact:list") in search
    assert "/pages/" not in search


def test_cms_groups_are_gone_after_migrate():
    assert not Group.objects.filter(name__in=["Moderators", "Editors"]).exists()


def test_a_salesperson_sees_neither_campaigns_nor_next_steps():
    sales = UserFactory(username="sales", groups=["Sales"])
    html = _dashboard_for(sales)
    assert 'id="dashboard-audience"' in html
    assert 'id="dashboard-campaigns"' not in html
    assert 'id="dashboard-next-steps"' not in html
    assert 'id="dashboard-deliverability"' not in html


def test_without_the_send_permission_last_campaigns_link_to_the_editor():
    campaign = sent_campaign()
    viewer = UserFactory(username="viewer", is_staff=True)
    viewer.user_permissions.add(
        *Permission.objects.filter(codename__in=["access_admin", "view_campaign", "change_campaign"])
    )
    html = _dashboard_for(viewer)
    assert f'href="{reverse("campaigns:edit", args=[campaign.pk])}"' in section(html, "dashboard-campaigns")
    assert 'id="dashboard-deliverability"' not in html


def _dashboard_for(user) -> str:
    from django.test import Client

    client = Client()
    client.force_login(user)
    response = client.get(reverse("wagtailadmin_home"))
    assert response.status_code == 200
    return response.content.decode()


# --- an empty installation ------------------------------------------------------------------------


def test_an_empty_installation_shows_what_to_do_next(admin_client):
    html = admin_client.get(reverse("wagtailadmin_home")).content.decode()
    steps = section(html, "dashboard-next-steps")
    assert "What to do next" in steps
    assert steps.count('data-done="false"') == 5
    assert f'href="{reverse("wagtailsnippets_contacts_importjob:add")}"' in steps
    assert "No campaign has been sent yet" in section(html, "dashboard-campaigns")
    assert 'data-figure="contacts">0<' in section(html, "dashboard-audience")
    assert 'id="deliverability-ok"' in html


def test_next_steps_tick_off_what_is_done(admin_client):
    ContactFactory()
    MailingListFactory()
    SenderIdentityFactory(verified=True)
    html = admin_client.get(reverse("wagtailadmin_home")).content.decode()
    assert section(html, "dashboard-next-steps").count('data-done="true"') == 3


def test_next_steps_disappear_once_a_campaign_was_sent(admin_client):
    MailingListFactory()
    sent_campaign()
    html = admin_client.get(reverse("wagtailadmin_home")).content.decode()
    assert 'id="dashboard-next-steps"' not in html


# --- an installation with a sent campaign ------------------------------------------------------------


def test_last_campaigns_show_sent_and_unique_human_open_and_click_rates(admin_client):
    campaign = sent_campaign(recipients=4, opened=2, clicked=1)
    html = admin_client.get(reverse("wagtailadmin_home")).content.decode()
    row = re.search(rf'<tr data-campaign="{campaign.pk}">.*?</tr>', html, re.S).group(0)
    assert "December news" in row
    assert '<td data-figure="sent">4</td>' in row
    assert re.search(r'data-figure="open-rate">50% <small>\(2\)', row)
    assert re.search(r'data-figure="click-rate">25% <small>\(1\)', row)


def test_audience_counts_this_months_joiners_leavers_and_hot_leads():
    now = timezone.now()
    ContactFactory(created_at=now - timedelta(days=400))
    ContactFactory(created_at=now)
    ContactFactory(status=Contact.Status.UNSUBSCRIBED, status_changed_at=now, created_at=now - timedelta(days=400))
    ActivityFactory(contact=ContactFactory(created_at=now), kind=Activity.Kind.CLICKED, occurred_at=now)
    figures = services.audience_figures(now)
    assert (figures.total, figures.subscribed, figures.joined_this_month, figures.left_this_month) == (4, 3, 2, 1)
    assert figures.growth == 1
    assert services.hot_lead_count() == 1


def test_hard_bounces_above_two_percent_are_a_deliverability_warning():
    contact = ContactFactory()
    for _ in range(20):
        ActivityFactory(contact=contact, kind=Activity.Kind.SENT)
    ActivityFactory(contact=contact, kind=Activity.Kind.BOUNCED_HARD)
    assert [warning.message for warning in services.deliverability_warnings()] == [
        "5.0% of last month's messages bounced hard (keep it under 2%): clean or re-verify the lists you import."
    ]


def test_a_campaign_the_error_policy_paused_is_a_deliverability_warning():
    CampaignFactory(name="Spring", status=Campaign.Status.PAUSED, status_reason="paused automatically: 30 of 50")
    CampaignFactory(name="Paused by hand", status=Campaign.Status.PAUSED, status_reason="paused by a user")
    (warning,) = services.deliverability_warnings()
    assert warning.message == "Paused because too many messages were refused: Spring."


def test_dashboard_queries_do_not_grow_with_campaigns(django_assert_num_queries):
    sent_campaign()
    with django_assert_num_queries(2):
        services.recent_campaigns()
    for _ in range(3):
        sent_campaign()
    with django_assert_num_queries(2):
        assert len(services.recent_campaigns()) == 4
    with django_assert_num_queries(1):
        services.audience_figures()
    with django_assert_num_queries(2):
        services.deliverability_warnings()


def test_the_dashboard_page_makes_as_many_queries_for_one_campaign_as_for_five(admin_client):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert admin_client.get(reverse("wagtailadmin_home")).status_code == 200
        return len(captured)

    sent_campaign()
    admin_client.get(reverse("wagtailadmin_home"))  # warm the session and the content types
    one = queries()
    for _ in range(4):
        sent_campaign()
    assert queries() == one
