"""Each role reaches exactly what the README promises: every admin menu entry, the pages behind it and
Wagtail's choosers, for a marketer and a salesperson (table-driven: role x URL -> allowed/refused)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import RequestFactory
from django.urls import reverse
from wagtail.admin.menu import admin_menu

from automations.models import Journey
from contacts.roles import MARKETERS, SALES, ensure_groups
from tests.factories import (
    CampaignFactory,
    ContactFactory,
    DealFactory,
    LayoutFactory,
    MailingListFactory,
    SegmentFactory,
    SenderIdentityFactory,
    SignupFormFactory,
    TaskFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

M, S = MARKETERS, SALES
BOTH, MARKETERS_ONLY, SALES_ONLY, NOBODY = {M, S}, {M}, {S}, set()

# (URL name, arguments built from the fixtures, roles allowed). Extra menu entries Wagtail adds
# (Help links, Reports) are listed in MENU_EXEMPT below, with the reason.
TABLE: list[tuple[str, Callable[[dict], list], set[str]]] = [
    ("wagtailadmin_home", lambda o: [], BOTH),
    # Audience
    ("wagtailsnippets_contacts_contact:list", lambda o: [], BOTH),
    ("wagtailsnippets_contacts_contact:inspect", lambda o: [o["contact"].pk], BOTH),
    ("wagtailsnippets_contacts_contact:edit", lambda o: [o["owned"].pk], BOTH),
    ("wagtailsnippets_contacts_contact:edit", lambda o: [o["contact"].pk], MARKETERS_ONLY),
    ("wagtailsnippets_contacts_contact:add", lambda o: [], MARKETERS_ONLY),
    ("wagtailsnippets_contacts_mailinglist:list", lambda o: [], MARKETERS_ONLY),
    ("wagtailsnippets_contacts_mailinglist:add", lambda o: [], MARKETERS_ONLY),
    ("wagtailsnippets_contacts_mailinglist:edit", lambda o: [o["list"].pk], MARKETERS_ONLY),
    ("wagtailsnippets_contacts_segment:list", lambda o: [], MARKETERS_ONLY),
    ("wagtailsnippets_contacts_segment:add", lambda o: [], MARKETERS_ONLY),
    ("wagtailsnippets_contacts_segment:edit", lambda o: [o["segment"].pk], MARKETERS_ONLY),
    ("wagtailsnippets_contacts_suppression:list", lambda o: [], MARKETERS_ONLY),
    ("wagtailsnippets_contacts_suppression:add", lambda o: [], MARKETERS_ONLY),
    ("wagtailsnippets_contacts_importjob:list", lambda o: [], MARKETERS_ONLY),
    ("wagtailsnippets_contacts_importjob:add", lambda o: [], MARKETERS_ONLY),
    ("wagtailsnippets_contacts_customfield:list", lambda o: [], MARKETERS_ONLY),
    ("contacts_admin:export", lambda o: ["list", o["list"].pk], MARKETERS_ONLY),
    # Wagtail's choosers list what the indexes show, and no more.
    ("wagtailsnippetchoosers_contacts_contact:choose", lambda o: [], BOTH),
    ("wagtailsnippetchoosers_contacts_mailinglist:choose", lambda o: [], MARKETERS_ONLY),
    ("wagtailsnippetchoosers_contacts_mailinglist:choose_results", lambda o: [], MARKETERS_ONLY),
    ("wagtailsnippetchoosers_contacts_mailinglist:chosen", lambda o: [o["list"].pk], MARKETERS_ONLY),
    ("wagtailsnippetchoosers_contacts_segment:choose", lambda o: [], MARKETERS_ONLY),
    ("wagtailsnippetchoosers_contacts_segment:chosen", lambda o: [o["segment"].pk], MARKETERS_ONLY),
    ("wagtailsnippetchoosers_contacts_suppression:choose", lambda o: [], MARKETERS_ONLY),
    ("wagtailsnippetchoosers_contacts_importjob:choose", lambda o: [], MARKETERS_ONLY),
    ("wagtailsnippetchoosers_contacts_customfield:choose", lambda o: [], MARKETERS_ONLY),
    # Campaigns, layouts, senders, sending
    ("campaigns:index", lambda o: [], MARKETERS_ONLY),
    ("campaigns:add", lambda o: [], MARKETERS_ONLY),
    ("campaigns:edit", lambda o: [o["campaign"].pk], MARKETERS_ONLY),
    ("campaigns:preview", lambda o: [o["campaign"].pk], MARKETERS_ONLY),
    ("layouts:index", lambda o: [], MARKETERS_ONLY),
    ("layouts:add", lambda o: [], MARKETERS_ONLY),
    ("layouts:edit", lambda o: [o["layout"].pk], MARKETERS_ONLY),
    ("senders:index", lambda o: [], MARKETERS_ONLY),
    ("senders:add", lambda o: [], MARKETERS_ONLY),
    ("senders:edit", lambda o: [o["sender"].pk], MARKETERS_ONLY),
    ("sending:index", lambda o: [], MARKETERS_ONLY),
    ("sending:detail", lambda o: [o["campaign"].pk], MARKETERS_ONLY),
    ("sending:progress", lambda o: [o["campaign"].pk], MARKETERS_ONLY),
    ("sending:confirm", lambda o: [o["campaign"].pk], MARKETERS_ONLY),
    ("senders:checks", lambda o: [o["sender"].pk], MARKETERS_ONLY),
    ("contacts_admin:import_sample", lambda o: [], MARKETERS_ONLY),
    # Journeys (automations)
    ("journeys:index", lambda o: [], MARKETERS_ONLY),
    ("journeys:add", lambda o: [], MARKETERS_ONLY),
    ("journeys:edit", lambda o: [o["journey"].pk], MARKETERS_ONLY),
    ("journeys:flow", lambda o: [o["journey"].pk], MARKETERS_ONLY),
    ("journeys:install", lambda o: [], MARKETERS_ONLY),
    ("returned_mail:index", lambda o: [], MARKETERS_ONLY),
    ("wagtailimages:index", lambda o: [], MARKETERS_ONLY),
    ("wagtailimages:add", lambda o: [], MARKETERS_ONLY),
    # A person's data (privacy)
    ("privacy_admin:download", lambda o: [o["contact"].pk], MARKETERS_ONLY),
    ("privacy_admin:erase", lambda o: [o["contact"].pk], MARKETERS_ONLY),
    # Signups
    ("signup_forms:index", lambda o: [], MARKETERS_ONLY),
    ("signup_forms:add", lambda o: [], MARKETERS_ONLY),
    ("signup_forms:edit", lambda o: [o["signup_form"].pk], MARKETERS_ONLY),
    ("signup_forms:embed", lambda o: [o["signup_form"].pk], MARKETERS_ONLY),
    ("welcome_emails:index", lambda o: [], MARKETERS_ONLY),
    ("welcome_emails:add", lambda o: [], MARKETERS_ONLY),
    # Sales
    ("hot_leads:index", lambda o: [], BOTH),
    ("sales_my_day", lambda o: [], SALES_ONLY),
    ("sales_tasks:index", lambda o: [], SALES_ONLY),
    ("sales_tasks:add", lambda o: [], SALES_ONLY),
    ("sales_tasks:edit", lambda o: [o["task"].pk], SALES_ONLY),
    # Task rules belong to sales managers (tests/sales/test_task_pages.py).
    ("sales_task_rules:index", lambda o: [], NOBODY),
    ("sales_task_rules:add", lambda o: [], NOBODY),
    # Customers: orders, lost customers, grade rules (sales/wagtail_hooks.py)
    ("lost_customers:index", lambda o: [], BOTH),
    ("lost_customers:add_to_list", lambda o: [], MARKETERS_ONLY),
    ("wagtailsnippets_sales_deal:list", lambda o: [], BOTH),
    ("wagtailsnippets_sales_deal:add", lambda o: [], BOTH),
    ("wagtailsnippets_sales_deal:edit", lambda o: [o["deal"].pk], BOTH),
    ("wagtailsnippetchoosers_sales_deal:choose", lambda o: [], BOTH),
    ("sales_orders_import", lambda o: [], MARKETERS_ONLY),
    ("grade_rules:index", lambda o: [], MARKETERS_ONLY),
    # Reports: Sales see how campaigns did, not how to send them.
    ("reports:campaigns", lambda o: [], BOTH),
    ("reports:campaign", lambda o: [o["campaign"].pk], BOTH),
    ("reports:compare", lambda o: [], BOTH),
    ("reports:audience", lambda o: [], BOTH),
    ("reports:deliverability", lambda o: [], BOTH),
    # Administration stays with superusers.
    ("wagtailusers_users:index", lambda o: [], NOBODY),
    ("wagtailusers_groups:index", lambda o: [], NOBODY),
    ("wagtailsites:index", lambda o: [], NOBODY),
    ("wagtailadmin_collections:index", lambda o: [], NOBODY),
    ("wagtaildocs:index", lambda o: [], NOBODY),
    ("wagtailadmin_workflows:index", lambda o: [], NOBODY),
    ("wagtailadmin_workflows:task_index", lambda o: [], NOBODY),
    ("admin:index", lambda o: [], NOBODY),
]

# Menu entries that are not ours to grant: Wagtail's help links leave the site, and its reports
# filter their rows by the user's own permissions.
MENU_EXEMPT = {"help", "reports"}


@pytest.fixture
def users() -> dict[str, object]:
    ensure_groups()
    return {role: UserFactory(username=role.lower(), groups=[role]) for role in (M, S)}


@pytest.fixture
def objects(users) -> dict[str, object]:
    campaign = CampaignFactory(sender=SenderIdentityFactory(), layout=LayoutFactory())
    return {
        "contact": ContactFactory(owner=None),
        "owned": ContactFactory(owner=users[S]),
        "task": TaskFactory(owner=users[S]),
        "list": MailingListFactory(),
        "segment": SegmentFactory(),
        "campaign": campaign,
        "layout": campaign.layout,
        "sender": campaign.sender,
        "journey": Journey.objects.create(name="Welcome", definition={"steps": [{"key": "t", "type": "exit"}]}),
        "signup_form": SignupFormFactory(),
        "deal": DealFactory(),
    }


def allowed(response) -> bool:
    """Wagtail refuses with 403, or with a redirect to the dashboard (or the login page for django-admin)."""
    if response.status_code == 403:
        return False
    if response.status_code == 302:
        return not (response["Location"] == "/admin/" or "login" in response["Location"])
    return response.status_code == 200


@pytest.mark.parametrize("role", [M, S])
@pytest.mark.parametrize(("name", "args", "roles"), TABLE, ids=[f"{row[0]}-{n}" for n, row in enumerate(TABLE)])
def test_each_role_reaches_exactly_its_admin_pages(client, users, objects, role, name, args, roles):
    client.force_login(users[role])

    response = client.get(reverse(name, args=args(objects)))

    assert allowed(response) == (role in roles), f"{role} {name}: {response.status_code}"


def menu_urls(items, request) -> set[str]:
    urls = set()
    for item in items:
        if item.name in MENU_EXEMPT:
            continue
        if hasattr(item, "menu"):
            urls |= menu_urls(item.menu.menu_items_for_request(request), request)
        else:
            urls.add(item.url)
    return urls


def test_the_table_covers_every_admin_menu_entry(objects):
    request = RequestFactory().get("/admin/")
    request.user = UserFactory(username="root", is_superuser=True, is_staff=True)

    listed = {reverse(name, args=args(objects)) for name, args, _ in TABLE}

    assert menu_urls(admin_menu.menu_items_for_request(request), request) - listed == set()


@pytest.mark.parametrize("role", [M, S])
def test_every_menu_entry_a_role_sees_opens_for_it(client, users, objects, role):
    client.force_login(users[role])
    # The viewsets add their menu entries when the URLconf loads: load it before reading the menu.
    assert client.get(reverse("wagtailadmin_home")).status_code == 200
    request = RequestFactory().get("/admin/")
    request.user = users[role]

    refused = [
        url for url in menu_urls(admin_menu.menu_items_for_request(request), request) if not allowed(client.get(url))
    ]

    assert refused == [], f"{role} sees menu entries that refuse them"
