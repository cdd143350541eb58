"""Engagement score, standing transitions, the nightly recompute and the sunset policy."""

from datetime import timedelta

import pytest
from django.template.loader import render_to_string
from django.test import override_settings
from django.utils import timezone

from contacts import engagement
from contacts.models import Activity, Contact
from tests.factories import ActivityFactory, ContactFactory, SuppressionFactory

pytestmark = pytest.mark.django_db

Standing = Contact.Standing


def days_ago(days: int):
    return timezone.now() - timedelta(days=days)


def engaged_contact(days: int = 1, clicks: int = 2, **fields) -> Contact:
    contact = ContactFactory(created_at=days_ago(400), last_engaged_at=days_ago(days), **fields)
    for _ in range(clicks):
        ActivityFactory(contact=contact, kind=Activity.Kind.CLICKED, occurred_at=days_ago(days))
    return contact


def standing_after_recompute(contact: Contact) -> str:
    engagement.recompute_all()
    contact.refresh_from_db()
    return contact.standing


def test_recent_human_clicks_make_a_contact_engaged():
    assert standing_after_recompute(engaged_contact(days=3)) == Standing.ENGAGED


def test_machine_clicks_do_not_count_towards_standing():
    contact = ContactFactory(created_at=days_ago(400))
    for _ in range(5):
        ActivityFactory(contact=contact, kind=Activity.Kind.CLICKED, occurred_at=days_ago(1), is_machine=True)
    assert standing_after_recompute(contact) == Standing.INACTIVE
    assert contact.engagement_score == 0.0


def test_a_new_contact_is_active():
    assert standing_after_recompute(ContactFactory()) == Standing.ACTIVE


def test_engagement_decays_engaged_to_at_risk_after_four_months():
    contact = engaged_contact(days=120)
    assert standing_after_recompute(contact) == Standing.AT_RISK
    assert contact.engagement_score == 2 * 3.0 * 0.25


def test_no_engagement_for_half_a_year_is_inactive():
    assert standing_after_recompute(engaged_contact(days=200)) == Standing.INACTIVE


def test_bounced_and_complained_contacts_are_suppressed():
    bounced = engaged_contact(status=Contact.Status.BOUNCED)
    complained = engaged_contact(status=Contact.Status.COMPLAINED)
    assert standing_after_recompute(bounced) == standing_after_recompute(complained) == Standing.SUPPRESSED


def test_an_address_on_the_suppression_list_is_suppressed():
    contact = engaged_contact()
    SuppressionFactory(email=contact.email)
    assert standing_after_recompute(contact) == Standing.SUPPRESSED


def test_a_new_human_click_lifts_an_at_risk_contact_at_drain_time():
    contact = engaged_contact(days=120, clicks=1)
    engagement.recompute_all()
    delta = engagement.Delta()
    delta.add(Activity.Kind.CLICKED, timezone.now())
    engagement.apply_human_events({contact.pk: delta})
    contact.refresh_from_db()
    assert contact.standing == Standing.ENGAGED
    assert contact.last_clicked_at > days_ago(1)


def test_drain_time_update_never_lifts_a_suppressed_contact():
    contact = engaged_contact(status=Contact.Status.COMPLAINED, standing=Standing.SUPPRESSED)
    delta = engagement.Delta()
    delta.add(Activity.Kind.CLICKED, timezone.now())
    engagement.apply_human_events({contact.pk: delta})
    contact.refresh_from_db()
    assert contact.standing == Standing.SUPPRESSED


def test_score_trend_compares_with_a_month_ago():
    contact = engaged_contact(days=2, clicks=2)
    engagement.recompute_all()
    contact.refresh_from_db()
    summary = engagement.summary(contact)
    assert (summary.score, summary.trend) == (6.0, 6.0)


# --- sunset --------------------------------------------------------------------------------------


@override_settings(SUNSET_AFTER_MONTHS=6)
def test_sunset_retires_contacts_inactive_for_n_months_except_for_reengagement():
    quiet = engaged_contact(days=250)
    recent = engaged_contact(days=10)
    engagement.recompute_all()
    quiet.refresh_from_db()
    assert quiet.sunset_at is not None
    assert not Contact.objects.sendable().filter(pk=quiet.pk).exists()
    assert Contact.objects.sendable(include_retired=True).filter(pk=quiet.pk).exists()
    assert Contact.objects.sendable().filter(pk=recent.pk).exists()


@override_settings(SUNSET_AFTER_MONTHS=6)
def test_engaging_again_ends_the_sunset():
    quiet = engaged_contact(days=250)
    engagement.recompute_all()
    delta = engagement.Delta()
    delta.add(Activity.Kind.OPENED, timezone.now())
    engagement.apply_human_events({quiet.pk: delta})
    assert Contact.objects.sendable().filter(pk=quiet.pk).exists()


@override_settings(SUNSET_AFTER_MONTHS=0)
def test_sunset_policy_can_be_turned_off():
    quiet = engaged_contact(days=500)
    engagement.recompute_all()
    quiet.refresh_from_db()
    assert quiet.sunset_at is None


# --- contact page ----------------------------------------------------------------------------------


def test_contact_page_include_shows_score_trend_standing_and_machine_counts():
    contact = engaged_contact(days=2, clicks=1)
    ActivityFactory(contact=contact, kind=Activity.Kind.OPENED, is_machine=True)
    engagement.recompute_all()
    contact.refresh_from_db()
    html = render_to_string("contacts/includes/engagement.html", {"contact": contact})
    assert "3.0" in html
    assert "+3.0" in html
    assert "Engaged" in html
    assert "1 more by machines" in html


def test_nightly_recompute_restores_last_engagement_a_crashed_drain_did_not_write():
    contact = ContactFactory(created_at=days_ago(400))
    ActivityFactory(contact=contact, kind=Activity.Kind.OPENED, occurred_at=days_ago(3))
    ActivityFactory(contact=contact, kind=Activity.Kind.CLICKED, occurred_at=days_ago(1))
    engagement.recompute_all()
    contact.refresh_from_db()
    assert contact.last_clicked_at == contact.last_engaged_at
    assert contact.last_opened_at < contact.last_clicked_at
    assert (contact.engagement_score, contact.standing) == (4.0, Standing.ENGAGED)


def test_campaign_counts_report_human_and_total_activity_separately():
    person, proxy = ContactFactory(), ContactFactory()
    for contact, machine in ((person, False), (person, False), (proxy, True)):
        ActivityFactory(contact=contact, kind=Activity.Kind.OPENED, campaign_id=77, is_machine=machine)
    ActivityFactory(contact=proxy, kind=Activity.Kind.CLICKED, campaign_id=77, is_machine=True)
    ActivityFactory(contact=person, kind=Activity.Kind.OPENED, campaign_id=78)
    counts = engagement.campaign_counts(77)
    assert (counts["opens_total"], counts["opens_human"]) == (3, 2)
    assert (counts["unique_opens_total"], counts["unique_opens_human"]) == (2, 1)
    assert (counts["clicks_total"], counts["clicks_human"]) == (1, 0)
