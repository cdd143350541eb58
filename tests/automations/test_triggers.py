"""Triggers and re-entry: who enters a journey, when, and how often."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from automations import triggers
from automations.models import Enrolment, Journey
from automations.services import emit, enrol_one
from contacts import services as contact_services
from contacts.models import Activity
from tests.automations.conftest import email, live_journey, run
from tests.factories import ActivityFactory, ContactFactory, MailingListFactory

pytestmark = pytest.mark.django_db
TAG = [{"key": "tagged", "type": "tag", "tag": "seen"}]


def test_a_pending_double_opt_in_does_not_enter_until_confirmed():
    mailing_list = MailingListFactory(slug="news", double_opt_in=True)
    live_journey([email("welcome")], [{"type": "list", "list": "news"}])
    subscription = contact_services.subscribe(ContactFactory(), mailing_list)

    run()
    assert not Enrolment.objects.exists()

    contact_services.confirm(subscription)
    run()
    assert Enrolment.objects.get().step == "welcome"


def test_joining_the_list_enters_and_sends_the_first_email_at_once():
    mailing_list = MailingListFactory(slug="news")
    journey = live_journey([email("welcome")], [{"type": "list", "list": "news"}])
    contact = ContactFactory()
    contact_services.subscribe(contact, mailing_list)

    run()

    assert journey.enrolments.get().state == Enrolment.State.DONE
    assert contact.messages.count() == 1


def test_history_from_before_the_journey_went_live_enters_nobody():
    ActivityFactory(kind=Activity.Kind.DEAL)
    live_journey(TAG, [{"type": "deal"}])

    run()

    assert not Enrolment.objects.exists()


def test_only_human_clicks_trigger():
    journey = live_journey(TAG, [{"type": "clicked"}])
    ActivityFactory(kind=Activity.Kind.CLICKED, is_machine=True)
    human = ActivityFactory(kind=Activity.Kind.CLICKED).contact

    run()

    assert list(journey.enrolments.values_list("contact", flat=True)) == [human.pk]


@pytest.mark.parametrize(("reentry", "expected"), [("once", 1), ("every", 2), ("period", 1)])
def test_reentry_policy_decides_a_second_entry_after_leaving(reentry, expected):
    journey = live_journey(TAG, [{"type": "deal"}], reentry=reentry)
    contact = ContactFactory()
    ActivityFactory(contact=contact, kind=Activity.Kind.DEAL)
    run()
    ActivityFactory(contact=contact, kind=Activity.Kind.DEAL)
    run()

    assert journey.enrolments.filter(state=Enrolment.State.DONE).count() == expected


def test_a_contact_inside_does_not_enter_again_even_every_time():
    journey = live_journey([{"key": "pause", "type": "wait", "days": 1}, *TAG], reentry=Journey.Reentry.EVERY)
    contact = ContactFactory()

    assert enrol_one(journey, contact)
    assert not enrol_one(journey, contact)


def test_an_emitted_event_enrols_in_the_journeys_listening_for_it():
    listening = live_journey(TAG, [{"type": "event", "name": "trial_started"}], name="A")
    live_journey(TAG, [{"type": "event", "name": "other"}], name="B")

    assert emit(ContactFactory(), "trial_started", {"plan": "pro"}) == [listening.pk]


def test_entering_a_segment_enrols_its_members_in_one_statement():
    journey = live_journey(TAG, [{"type": "segment", "rules": {"field": "grade", "op": "equals", "value": "A"}}])
    ContactFactory(grade="A")
    ContactFactory(grade="B")

    triggers.evaluate_all()

    assert journey.enrolments.count() == 1


def test_a_segment_is_scanned_at_most_once_a_minute_however_often_the_tick_runs(settings):
    settings.JOURNEY_SCHEDULED_TRIGGER_SECONDS = 60
    journey = live_journey(TAG, [{"type": "segment", "rules": {"field": "grade", "op": "equals", "value": "A"}}])
    start = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    triggers.evaluate_all(now=start)
    ContactFactory(grade="A")

    triggers.evaluate_all(now=start + timedelta(seconds=5))
    assert journey.enrolments.count() == 0, "the second tick of the minute leaves the contacts unscanned"

    triggers.evaluate_all(now=start + timedelta(seconds=60))
    assert journey.enrolments.count() == 1


def birthday_journey() -> Journey:
    trigger = {"type": "date", "field": "custom.birthday", "days": -7, "hour": 9, "yearly": True}
    return live_journey(TAG, [trigger], reentry=Journey.Reentry.EVERY)


def test_a_yearly_date_a_week_ahead_fires_in_december_keyed_by_the_next_year():
    journey = birthday_journey()
    contact = ContactFactory(time_zone="Europe/Paris", custom_fields={"birthday": "1990-01-02"})

    triggers.evaluate_all(now=datetime(2026, 12, 26, 9, 30, tzinfo=UTC))
    triggers.evaluate_all(now=datetime(2026, 12, 26, 15, 0, tzinfo=UTC))
    triggers.evaluate_all(now=datetime(2027, 12, 26, 9, 30, tzinfo=UTC))

    assert list(journey.enrolments.filter(contact=contact).values_list("occurrence", flat=True).order_by("pk")) == [
        "2027"
    ]


def test_a_yearly_date_follows_the_contacts_own_calendar_and_hour():
    journey = birthday_journey()
    tokyo = ContactFactory(time_zone="Asia/Tokyo", custom_fields={"birthday": "1990-01-02"})
    new_york = ContactFactory(time_zone="America/New_York", custom_fields={"birthday": "1990-01-02"})
    Enrolment.objects.all().delete()

    # 26 December 01:00 UTC: 10:00 on the 26th in Tokyo, still the 25th in New York.
    triggers.evaluate_all(now=datetime(2026, 12, 26, 1, 0, tzinfo=UTC))

    assert list(journey.enrolments.values_list("contact", flat=True)) == [tokyo.pk]
    triggers.evaluate_all(now=datetime(2026, 12, 26, 14, 0, tzinfo=UTC))
    assert set(journey.enrolments.values_list("contact", flat=True)) == {tokyo.pk, new_york.pk}


def test_a_29_february_birthday_fires_on_28_february_in_a_common_year():
    journey = live_journey(TAG, [{"type": "date", "field": "custom.birthday", "yearly": True}])
    contact = ContactFactory(time_zone="UTC", custom_fields={"birthday": "2000-02-29"})

    triggers.evaluate_all(now=datetime(2027, 2, 28, 12, 0, tzinfo=UTC))

    assert list(journey.enrolments.filter(contact=contact).values_list("occurrence", flat=True)) == ["2027"]


def test_a_quiet_contact_enters_the_inactivity_journey_once_per_lapse():
    journey = live_journey(TAG, [{"type": "inactive", "days": 30}], reentry=Journey.Reentry.EVERY)
    contact = ContactFactory(last_engaged_at=timezone.now() - timedelta(days=40))
    ContactFactory(last_engaged_at=timezone.now())

    run(times=2)

    assert list(journey.enrolments.values_list("contact", flat=True)) == [contact.pk]
