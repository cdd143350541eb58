"""Task rules: the dry-run count is what the run then makes, and one open task per rule and contact."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from contacts.models import Activity, CustomField
from sales import rules
from sales.models import Task, TaskRule
from tests.factories import ActivityFactory, ContactFactory, UserFactory
from tests.tracking.test_replies import reply
from tracking import bounces

pytestmark = pytest.mark.django_db


def _click(contact, url="https://shop.example.com/pricing", **kwargs):
    return ActivityFactory(contact=contact, kind=Activity.Kind.CLICKED, link_url=url, **kwargs)


def _rule(**kwargs) -> TaskRule:
    return TaskRule.objects.create(**{"name": "Rule", "task_title": "Call them", "enabled": True, **kwargs})


def test_a_rule_without_the_setting_its_trigger_needs_is_refused():
    with pytest.raises(ValidationError) as error:
        TaskRule(name="Hot", trigger=TaskRule.Trigger.LINK_CLICKED, task_title="Call").full_clean()
    assert "url_pattern" in error.value.message_dict


def test_a_date_rule_must_name_a_custom_date_field():
    CustomField.objects.create(key="sector", label="Sector", kind=CustomField.Kind.TEXT)
    rule = TaskRule(name="Renewal", trigger=TaskRule.Trigger.DATE_COMING, count=30, date_field="sector", task_title="R")
    with pytest.raises(ValidationError) as error:
        rule.full_clean()
    assert "date_field" in error.value.message_dict


def test_pricing_clicks_dry_run_count_is_what_the_run_makes():
    owner = UserFactory()
    hot = [ContactFactory(owner=owner) for _ in range(3)]
    for contact in hot:
        _click(contact)
    _click(hot[0])
    _click(ContactFactory(), url="https://shop.example.com/blog")
    _click(ContactFactory(), is_machine=True)
    rule = _rule(trigger=TaskRule.Trigger.LINK_CLICKED, url_pattern="/pricing")

    assert rules.dry_run(rule) == 3
    assert rules.run(rule.pk) == 3
    assert set(Task.objects.filter(rule_key=rule.rule_key).values_list("contact_id", flat=True)) == {
        contact.pk for contact in hot
    }
    assert Task.objects.filter(rule_key=rule.rule_key, owner=owner).count() == 3


def test_each_task_a_rule_makes_is_in_the_contacts_history_once():
    contacts = [ContactFactory() for _ in range(2)]
    for contact in contacts:
        _click(contact)
    rule = _rule(name="Hot lead", trigger=TaskRule.Trigger.LINK_CLICKED, url_pattern="pricing")
    rules.run(rule.pk)
    rule.refresh_from_db()
    rules.run(rule.pk)

    entries = Activity.objects.filter(kind=Activity.Kind.TASK).order_by("contact_id")
    assert [(entry.contact_id, entry.details["summary"]) for entry in entries] == [
        (contact.pk, "Task created by rule 'Hot lead': Call them") for contact in contacts
    ]


def test_a_contact_gets_at_most_one_open_task_per_rule_across_runs():
    contact = ContactFactory()
    _click(contact)
    rule = _rule(trigger=TaskRule.Trigger.LINK_CLICKED, url_pattern="pricing")
    assert rules.run(rule.pk) == 1

    _click(contact)
    rule.refresh_from_db()

    assert rules.dry_run(rule) == 0
    assert rules.run(rule.pk) == 0
    assert Task.objects.filter(contact=contact, rule_key=rule.rule_key).count() == 1


def test_the_watermark_keeps_old_clicks_from_firing_again_after_the_task_is_done():
    contact = ContactFactory()
    _click(contact)
    rule = _rule(trigger=TaskRule.Trigger.LINK_CLICKED, url_pattern="pricing")
    rules.run(rule.pk)
    Task.objects.filter(contact=contact).update(done_at=timezone.now())
    rule.refresh_from_db()

    assert rules.run(rule.pk) == 0
    _click(contact)
    assert rules.run(rule.pk) == 1


def test_a_new_rule_looks_back_seven_days():
    _click(ContactFactory(), occurred_at=timezone.now() - timedelta(days=8))
    recent = ContactFactory()
    _click(recent, occurred_at=timezone.now() - timedelta(days=6))
    rule = _rule(trigger=TaskRule.Trigger.LINK_CLICKED, url_pattern="pricing")

    assert rules.dry_run(rule) == 1
    assert rules.run(rule.pk) == 1


def test_score_rule_fires_for_engaged_contacts_at_or_over_the_threshold():
    over, under = ContactFactory(engagement_score=80), ContactFactory(engagement_score=20)
    ActivityFactory(contact=over, kind=Activity.Kind.OPENED)
    ActivityFactory(contact=under, kind=Activity.Kind.OPENED)
    ContactFactory(engagement_score=95)
    rule = _rule(trigger=TaskRule.Trigger.SCORE, threshold=70)

    assert rules.dry_run(rule) == 1
    assert rules.run(rule.pk) == 1
    assert Task.objects.get(rule_key=rule.rule_key).contact == over


def test_clicks_in_a_week_rule_counts_every_human_click_of_the_last_seven_days():
    busy, idle = ContactFactory(), ContactFactory()
    for days in (1, 2, 3):
        _click(busy, url=f"https://example.com/{days}", occurred_at=timezone.now() - timedelta(days=days))
    _click(idle, occurred_at=timezone.now() - timedelta(days=1))
    _click(idle, occurred_at=timezone.now() - timedelta(days=1), is_machine=True)
    rule = _rule(trigger=TaskRule.Trigger.CLICKS_IN_WEEK, count=3)

    assert rules.dry_run(rule) == 1
    assert rules.run(rule.pk) == 1
    assert Task.objects.get(rule_key=rule.rule_key).contact == busy


def test_date_rule_fires_n_days_ahead_once_per_date():
    CustomField.objects.create(key="renewal", label="Renewal", kind=CustomField.Kind.DATE)
    today = timezone.localdate()
    due = ContactFactory(custom_fields={"renewal": (today + timedelta(days=30)).isoformat()})
    ContactFactory(custom_fields={"renewal": (today + timedelta(days=31)).isoformat()})
    ContactFactory(custom_fields={"renewal": (today + timedelta(days=29)).isoformat()})
    rule = _rule(trigger=TaskRule.Trigger.DATE_COMING, count=30, date_field="renewal", task_kind=Task.Kind.MEETING)

    assert rules.dry_run(rule) == 1
    assert rules.run(rule.pk) == 1
    task = Task.objects.get(rule_key=rule.rule_key)
    assert (task.contact, task.kind, task.origin) == (due, "meeting", "rule")
    Task.objects.update(done_at=timezone.now())
    rule.refresh_from_db()
    assert rules.run(rule.pk) == 0


def test_replied_rule_gives_the_owner_a_task_for_a_reply_read_from_the_inbound_mailbox():
    owner = UserFactory()
    contact = ContactFactory(owner=owner, email="ana@example.org")
    bounces.process_bytes(reply(contact.email), source="imap")
    rule = _rule(trigger=TaskRule.Trigger.REPLIED)

    assert rules.dry_run(rule) == 1
    assert rules.run(rule.pk) == 1
    assert Task.objects.get(rule_key=rule.rule_key).owner == owner


def test_only_enabled_rules_run():
    _click(ContactFactory())
    _rule(trigger=TaskRule.Trigger.LINK_CLICKED, url_pattern="pricing", enabled=False)

    assert rules.run_enabled() == 0
    assert not Task.objects.exists()
