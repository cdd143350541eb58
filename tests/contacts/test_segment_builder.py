"""The visual segment builder's server side: the widget, its schema, the list's counts, date ranges."""

from datetime import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from contacts.models import Contact, CustomField
from contacts.segment_builder import schema
from contacts.segments import compile_rules, count_members
from tests.factories import CampaignFactory, ContactFactory, MailingListFactory, SegmentFactory

pytestmark = pytest.mark.django_db
SEGMENTS = "wagtailsnippets_contacts_segment"


def created_on(day: str) -> Contact:
    moment = timezone.make_aware(datetime.fromisoformat(day).replace(hour=15))
    return ContactFactory(created_at=moment)


def test_a_date_range_ending_on_a_plain_date_takes_in_that_whole_day():
    created_on("2026-03-01")
    last_day = created_on("2026-03-31")
    created_on("2026-04-01")
    rules = {"field": "created_at", "op": "between", "value": ["2026-03-01", "2026-03-31"]}
    assert Contact.objects.filter(compile_rules(rules)).count() == 2
    assert Contact.objects.filter(compile_rules(rules), pk=last_day.pk).exists()


def test_a_segment_with_rules_that_no_longer_compile_counts_as_none():
    broken = SegmentFactory(rules={"field": "gone_field", "op": "equals", "value": 1})
    assert count_members([broken]) == {broken.pk: None}


def test_all_segment_counts_of_a_page_take_one_query(django_assert_num_queries):
    ContactFactory(industry="Retail")
    ContactFactory(industry="Finance", grade="A")
    segments = [
        SegmentFactory(rules={"field": "industry", "op": "equals", "value": "Retail"}),
        SegmentFactory(rules={"field": "grade", "op": "in", "value": ["A", "B"]}),
        SegmentFactory(rules={"event": "clicked", "within_days": 7}),
        SegmentFactory(rules={}),
    ]
    with django_assert_num_queries(1):
        counts = count_members(segments)
    assert [counts[segment.pk] for segment in segments] == [1, 1, 0, 2]


def test_the_segment_list_shows_each_segments_count(client, marketer):
    ContactFactory(industry="Retail")
    SegmentFactory(name="Retail", rules={"field": "industry", "op": "equals", "value": "Retail"})
    SegmentFactory(name="Broken", rules={"field": "gone_field", "op": "equals", "value": 1})
    html = client.get(reverse(f"{SEGMENTS}:list")).content.decode()
    assert "Contacts" in html
    assert "invalid rules" in html


def test_the_schema_offers_lists_tags_custom_fields_and_campaigns():
    MailingListFactory(name="Newsletter", slug="newsletter")
    CustomField.objects.create(key="renewal", label="Renewal", kind="date")
    campaign = CampaignFactory(name="December newsletter")
    ContactFactory(region="Ontario")
    described = schema()
    fields = {field["value"]: field for field in described["fields"]}
    assert fields["list"]["choices"] == [["newsletter", "Newsletter"]]
    assert fields["custom.renewal"]["type"] == "date"
    assert fields["region"]["suggestions"] == ["Ontario"]
    assert [campaign.pk, "December newsletter"] in [list(choice) for choice in described["campaigns"]]
    assert {op for op, _ in described["operators"]["date"]} >= {"within_last_days", "between", "before", "after"}


def test_the_segment_editor_is_the_builder_with_its_script_not_a_json_box(client, marketer):
    segment = SegmentFactory(rules={"field": "industry", "op": "equals", "value": "Retail"})
    html = client.get(reverse(f"{SEGMENTS}:edit", args=[segment.pk])).content.decode()
    assert "data-segment-builder" in html
    assert "contacts/js/segment-builder.js" in html
    assert 'name="rules" id="id_rules" hidden' in html


def test_the_schema_offers_the_satisfaction_score_as_a_number():
    fields = {field["value"]: field for field in schema()["fields"]}
    assert fields["satisfaction"]["type"] == "number"


def test_a_satisfaction_rule_compares_the_score_as_a_number_and_skips_contacts_without_one():
    happy, unhappy = (
        ContactFactory(custom_fields={"satisfaction": 9}),
        ContactFactory(custom_fields={"satisfaction": 3}),
    )
    ContactFactory()
    rule = {"field": "satisfaction", "op": "between", "value": ["7", "10"]}
    assert list(Contact.objects.filter(compile_rules(rule)).values_list("pk", flat=True)) == [happy.pk]
    below = Contact.objects.filter(compile_rules({"field": "satisfaction", "op": "lte", "value": 6}))
    assert list(below.values_list("pk", flat=True)) == [unhappy.pk]
