"""Every admin page a marketer or a sales person opens, and every public page, in Chromium:
no script errors, no WCAG 2 A/AA violation reported by axe-core, and a screenshot of each.

The admin pages are those of the role table (tests/contacts/test_roles.py), with the
campaign editor holding every kind of block, so the editor's widgets are checked too.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from automations.models import Journey
from campaigns.management.commands.seed_demo import demo_body
from contacts.roles import MARKETERS, SALES, ensure_groups
from contacts.tokens import Purpose, TokenData, answer_index, make_token
from tests.contacts.test_roles import TABLE
from tests.e2e.conftest import check_page
from tests.factories import (
    CampaignFactory,
    ContactFactory,
    DealFactory,
    LayoutFactory,
    MailingListFactory,
    MessageFactory,
    SegmentFactory,
    SenderIdentityFactory,
    SignupFormFactory,
    TaskFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def objects() -> dict[str, object]:
    ensure_groups()
    seller = UserFactory(username="sam", first_name="Sam", last_name="Sales", groups=[SALES])
    campaign = CampaignFactory(sender=SenderIdentityFactory(), layout=LayoutFactory(), body=demo_body())
    return {
        "marketer": UserFactory(username="mia", first_name="Mia", groups=[MARKETERS]),
        "seller": seller,
        "contact": ContactFactory(owner=None),
        "owned": ContactFactory(owner=seller),
        "task": TaskFactory(owner=seller, title="Call about the quote"),
        "list": MailingListFactory(),
        "segment": SegmentFactory(),
        "campaign": campaign,
        "layout": campaign.layout,
        "sender": campaign.sender,
        "journey": Journey.objects.create(
            name="Welcome", definition={"steps": [{"key": "hi", "type": "email", "subject": "Hi", "text": "Hello."}]}
        ),
        "signup_form": SignupFormFactory(profile_fields=["first_name", "company"], required_fields=["first_name"]),
        "deal": DealFactory(),
    }


def pages_for(role: str, objects: dict) -> list[tuple[str, str]]:
    """(name, URL) of every page of the role table this role may open; left out are choosers
    (fragments of a page, checked where a page opens them), JSON and downloads."""
    return [
        (f"{name}-{number}", reverse(name, args=args(objects)))
        for number, (name, args, roles) in enumerate(TABLE)
        if role in roles
        and "choosers" not in name
        and not name.endswith(("_progress", ":progress", "_sample", ":download"))
    ]


@pytest.mark.parametrize(("role", "user_key"), [(MARKETERS, "marketer"), (SALES, "seller")])
def test_every_admin_page_of_a_role_is_clean_and_accessible(page_for, objects, role, user_key):
    page = page_for(objects[user_key])
    problems = {}
    for name, url in pages_for(role, objects):
        page.goto(url)
        try:
            check_page(page, f"every-page-{role.lower()}-{name.replace(':', '-')}")
        except AssertionError as problem:
            problems[url] = str(problem).splitlines()[0]
        page.console_errors.clear()
    assert problems == {}, "\n".join(f"{url}: {problem}" for url, problem in problems.items())


def test_every_public_page_is_clean_and_accessible(page_for):
    message = MessageFactory(campaign=CampaignFactory(sender=SenderIdentityFactory(name="Rapport News")))
    ids = (message.contact_id, message.pk, message.campaign_id)
    signup_form = SignupFormFactory()
    page = page_for(None)
    for name, url, status in [
        ("signup-form", f"/f/{signup_form.slug}/", 200),
        ("unsubscribe", f"/u/{make_token(TokenData(Purpose.UNSUBSCRIBE, *ids))}", 200),
        ("preferences", f"/p/{make_token(TokenData(Purpose.PREFERENCES, *ids))}", 200),
        ("my-data", f"/p/{make_token(TokenData(Purpose.PREFERENCES, *ids))}/data/", 200),
        ("delete-my-data", f"/p/{make_token(TokenData(Purpose.PREFERENCES, *ids))}/data/delete/", 200),
        ("answer", f"/a/{make_token(TokenData(Purpose.ANSWER, *ids, answer_index(5, 4)))}", 200),
        ("not-found", "/u/forged-token", 404),
    ]:
        assert page.goto(url).status == status
        if status == 404:
            # The browser reports the page's own 404 as a failed load; nothing else may fail.
            page.console_errors.remove("Failed to load resource: the server responded with a status of 404 (Not Found)")
        check_page(page, f"public-{name}")
