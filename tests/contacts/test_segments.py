"""Segment rules against a small population whose answers were worked out by hand."""

from datetime import timedelta

import pytest
from django.utils import timezone

from contacts.models import Activity, Contact, Subscription
from contacts.segments import SegmentError, compile_rules
from tests.factories import (
    ActivityFactory,
    ContactFactory,
    MailingListFactory,
    SegmentFactory,
    SubscriptionFactory,
)

pytestmark = pytest.mark.django_db
LINK = "https://shop.example.com/spring"


def ago(days: int):
    return timezone.now() - timedelta(days=days)


@pytest.fixture
def people():
    """ann: retail, A, pro plan, vip, on news, clicked 10 days ago, opened campaign 2.
    bob: retail, B, free plan, left news, clicked 40 days ago, sent 3 campaigns, opened only the first.
    cy: finance, A, lead, on other list, one machine open yesterday, sent 1 campaign.
    dee: no industry, unsubscribed, hard bounce 5 days ago."""
    news, other = MailingListFactory(slug="news"), MailingListFactory(slug="other")
    ann = ContactFactory(
        email="ann@example.com",
        industry="Retail",
        region="Ontario",
        grade="A",
        custom_fields={"plan": "pro", "seats": 12, "renewal": "2027-01-15"},
    )
    bob = ContactFactory(
        email="bob@example.com", industry="Retail", grade="B", custom_fields={"plan": "free", "seats": 2}
    )
    cy = ContactFactory(email="cy@example.com", industry="Finance", grade="A")
    dee = ContactFactory(email="dee@example.com", industry="", status=Contact.Status.UNSUBSCRIBED)
    ann.tags.add("vip")
    cy.tags.add("lead")
    SubscriptionFactory(contact=ann, mailing_list=news)
    SubscriptionFactory(contact=bob, mailing_list=news, status=Subscription.Status.UNSUBSCRIBED)
    SubscriptionFactory(contact=cy, mailing_list=other)
    for campaign, days in ((1, 20), (2, 12)):
        ActivityFactory(contact=ann, kind=Activity.Kind.SENT, campaign_id=campaign, occurred_at=ago(days))
    ActivityFactory(contact=ann, kind=Activity.Kind.OPENED, campaign_id=2, occurred_at=ago(10))
    ActivityFactory(contact=ann, kind=Activity.Kind.CLICKED, campaign_id=1, link_url=LINK, occurred_at=ago(10))
    for campaign, days in ((1, 60), (2, 50), (3, 45)):
        ActivityFactory(contact=bob, kind=Activity.Kind.SENT, campaign_id=campaign, occurred_at=ago(days))
    ActivityFactory(contact=bob, kind=Activity.Kind.OPENED, campaign_id=1, occurred_at=ago(59))
    ActivityFactory(contact=bob, kind=Activity.Kind.CLICKED, campaign_id=1, occurred_at=ago(40))
    ActivityFactory(contact=cy, kind=Activity.Kind.SENT, campaign_id=3, occurred_at=ago(2))
    ActivityFactory(contact=cy, kind=Activity.Kind.OPENED, campaign_id=3, is_machine=True, occurred_at=ago(1))
    ActivityFactory(contact=dee, kind=Activity.Kind.BOUNCED_HARD, occurred_at=ago(5))


def matching(rules) -> set[str]:
    return {
        email.split("@")[0] for email in Contact.objects.filter(compile_rules(rules)).values_list("email", flat=True)
    }


def rule(field, op, value=None):
    return {"match": "all", "rules": [{"field": field, "op": op, "value": value}]}


# --- Invalid rules first ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "rules",
    [
        rule("password", "equals", "x"),
        rule("industry", "resembles", "x"),
        rule("custom.x') OR 1=1 --", "equals", "x"),
        rule("industry", "in", "Retail"),
        rule("created_at", "within_last_days", "soon"),
        rule("industry", "before", "2020-01-01"),
        {"match": "most", "rules": []},
        {"match": "all", "rules": [{"event": "visited"}]},
        {"match": "all", "rules": [{"event": "not_opened", "last_campaigns": 0}]},
        {"match": "all", "rules": ["industry = Retail"]},
    ],
)
def test_invalid_rules_are_refused_with_a_reason(rules):
    with pytest.raises(SegmentError):
        compile_rules(rules)


def test_empty_rules_match_everyone(people):
    assert matching({}) == {"ann", "bob", "cy", "dee"}


# --- Profile and custom fields ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        (rule("industry", "equals", "Retail"), {"ann", "bob"}),
        (rule("industry", "not_equals", "Retail"), {"cy", "dee"}),
        (rule("industry", "contains", "TAI"), {"ann", "bob"}),
        (rule("grade", "in", ["A"]), {"ann", "cy"}),
        (rule("grade", "not_in", ["A"]), {"bob", "dee"}),
        (rule("industry", "empty"), {"dee"}),
        (rule("region", "not_empty"), {"ann"}),
        (rule("status", "equals", "unsubscribed"), {"dee"}),
        (rule("created_at", "within_last_days", 1), {"ann", "bob", "cy", "dee"}),
        (rule("created_at", "before", "2020-01-01"), set()),
    ],
)
def test_profile_field_rules(people, rules, expected):
    assert matching(rules) == expected


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        (rule("custom.plan", "equals", "pro"), {"ann"}),
        (rule("custom.plan", "not_equals", "pro"), {"bob", "cy", "dee"}),
        (rule("custom.plan", "in", ["pro", "free"]), {"ann", "bob"}),
        (rule("custom.plan", "contains", "RE"), {"bob"}),
        (rule("custom.seats", "between", [5, 20]), {"ann"}),
        (rule("custom.seats", "gte", 2), {"ann", "bob"}),
        (rule("custom.seats", "lte", 2), {"bob"}),
        (rule("custom.renewal", "after", "2026-12-31"), {"ann"}),
        (rule("custom.renewal", "before", "2026-12-31"), set()),
        (rule("custom.plan", "empty"), {"cy", "dee"}),
    ],
)
def test_custom_field_rules(people, rules, expected):
    assert matching(rules) == expected


# --- Membership ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        (rule("list", "in", ["news"]), {"ann"}),
        (rule("list", "in", ["news", "other"]), {"ann", "cy"}),
        (rule("list", "not_in", ["news"]), {"bob", "cy", "dee"}),
        (rule("tag", "in", ["vip", "lead"]), {"ann", "cy"}),
        (rule("tag", "not_in", ["vip"]), {"bob", "cy", "dee"}),
    ],
)
def test_list_and_tag_rules(people, rules, expected):
    assert matching(rules) == expected


# --- Behaviour -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        ({"event": "clicked", "within_days": 30}, {"ann"}),
        ({"event": "clicked"}, {"ann", "bob"}),
        ({"event": "clicked", "campaign": 1, "link": LINK}, {"ann"}),
        ({"event": "opened", "within_days": 30}, {"ann"}),
        ({"event": "opened", "campaign": 3}, set()),
        ({"event": "bounced"}, {"dee"}),
        ({"event": "opened", "negate": True}, {"cy", "dee"}),
        ({"event": "not_opened", "last_campaigns": 2}, {"bob"}),
        ({"event": "not_opened", "last_campaigns": 3}, set()),
    ],
)
def test_behaviour_rules(people, event, expected):
    assert matching({"match": "all", "rules": [event]}) == expected


# --- Combinations ------------------------------------------------------------------------------------------


def test_all_group_needs_every_rule(people):
    rules = {
        "match": "all",
        "rules": [
            {"field": "industry", "op": "equals", "value": "Retail"},
            {"field": "list", "op": "in", "value": ["news"]},
            {"event": "clicked", "within_days": 30},
        ],
    }
    assert matching(rules) == {"ann"}


def test_any_group_needs_one_rule(people):
    rules = {
        "match": "any",
        "rules": [{"field": "grade", "op": "equals", "value": "B"}, {"event": "bounced"}],
    }
    assert matching(rules) == {"bob", "dee"}


def test_nested_and_negated_groups(people):
    rules = {
        "match": "all",
        "rules": [
            {"field": "industry", "op": "equals", "value": "Retail"},
            {"match": "any", "negate": True, "rules": [{"field": "tag", "op": "in", "value": ["vip"]}]},
        ],
    }
    assert matching(rules) == {"bob"}


def test_segment_count_is_one_query(people, django_assert_num_queries):
    segment = SegmentFactory(
        rules={
            "match": "any",
            "rules": [
                {"field": "custom.seats", "op": "gte", "value": 10},
                {"field": "list", "op": "in", "value": ["news"]},
                {"field": "tag", "op": "in", "value": ["lead"]},
                {"event": "not_opened", "last_campaigns": 2},
            ],
        }
    )
    with django_assert_num_queries(1):
        assert Contact.objects.in_segment(segment).count() == 3


def test_segment_audience_combines_with_sendable(people):
    segment = SegmentFactory(rules=rule("industry", "equals", "Retail"))
    assert set(Contact.objects.sendable().filter(segment.to_q()).values_list("email", flat=True)) == {
        "ann@example.com",
        "bob@example.com",
    }
