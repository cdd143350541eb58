"""The step engine: exactly once, branches, waits, leaving, and the checks made at each step."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from automations import engine
from automations.models import Enrolment, Journey, StepCampaign, StepRun
from automations.services import enrol_one, status
from campaigns.models import Message
from contacts import services as contact_services
from contacts.models import Activity, Subscription
from tests.automations.conftest import email, live_journey, run
from tests.factories import ContactFactory, MailingListFactory, SubscriptionFactory, SuppressionFactory

pytestmark = pytest.mark.django_db
State = Enrolment.State


def messages_to(contact) -> int:
    return Message.objects.filter(contact=contact, campaign__journey_step__isnull=False).count()


def test_a_step_that_raises_fails_its_enrolments_instead_of_retrying():
    journey = live_journey([{"key": "join", "type": "add_to_list", "list": "no-such-list"}])
    contact = ContactFactory()
    enrol_one(journey, contact)

    run()

    enrolment = Enrolment.objects.get()
    assert (enrolment.state, enrolment.step) == (State.FAILED, "join")
    assert StepRun.objects.get().outcome == StepRun.Outcome.FAILED


def test_a_claim_whose_lease_lapsed_runs_no_step_twice():
    journey = live_journey([email("hello"), {"key": "tagged", "type": "tag", "tag": "seen"}])
    contacts = [ContactFactory() for _ in range(3)]
    for contact in contacts:
        enrol_one(journey, contact)
    first = engine.claim()
    Enrolment.objects.update(lease_until=timezone.now() - timedelta(seconds=1))
    second = engine.claim()

    assert {row[0] for row in first} == {row[0] for row in second}
    engine.run_batch(second)
    engine.run_batch(first)

    assert all(messages_to(contact) == 1 for contact in contacts)
    assert StepRun.objects.filter(step="hello").count() == 3
    assert StepRun.objects.filter(step="tagged").count() == 3
    assert set(Enrolment.objects.values_list("step", "state")) == {("tagged", State.DONE)}


def test_a_contact_entering_again_gets_the_email_step_again_once_per_pass():
    journey = live_journey([email("hello")], reentry=Journey.Reentry.EVERY)
    contact = ContactFactory()
    for _ in range(2):
        enrol_one(journey, contact)
        run(times=2)

    assert messages_to(contact) == 2
    assert StepRun.objects.filter(step="hello").count() == 2
    assert [email["step"] for email in status(journey)["emails"]] == ["hello", "hello"]


def test_a_step_due_at_once_runs_in_the_same_batch_under_the_same_claim():
    steps = [
        {"key": "tagged", "type": "tag", "tag": "seen"},
        {"key": "pause", "type": "wait", "minutes": 0},
        {"key": "again", "type": "tag", "tag": "again"},
    ]
    journey = live_journey(steps)
    contact = ContactFactory()
    enrol_one(journey, contact)

    executed = engine.run_batch(engine.claim())

    assert executed == 3
    assert set(StepRun.objects.values_list("step", flat=True)) == {"tagged", "pause", "again"}
    assert Enrolment.objects.get().state == State.DONE
    summaries = Activity.objects.filter(contact=contact, kind=Activity.Kind.TAGS).values_list("details", flat=True)
    assert sorted(details["summary"] for details in summaries) == [
        "Tags added again",
        "Tags added seen",
    ]


def test_a_step_due_later_is_left_waiting_and_unclaimed():
    steps = [
        {"key": "tagged", "type": "tag", "tag": "seen"},
        {"key": "pause", "type": "wait", "hours": 1},
        email("later"),
    ]
    journey = live_journey(steps)
    enrol_one(journey, ContactFactory())

    engine.run_batch(engine.claim())

    enrolment = Enrolment.objects.get()
    assert (enrolment.step, enrolment.state, enrolment.lease_until) == ("later", State.WAITING, None)


def test_a_duplicated_tick_claims_each_enrolment_once():
    journey = live_journey([email("hello")])
    for _ in range(4):
        enrol_one(journey, ContactFactory())

    assert len(engine.claim(limit=3)) == 3
    assert len(engine.claim(limit=3)) == 1
    assert engine.claim() == []


def test_an_unsubscribed_contact_leaves_every_journey_at_once():
    steps = [email("hello"), {"key": "pause", "type": "wait", "days": 2}, email("again")]
    journeys = [live_journey(steps, name=f"J{n}") for n in range(2)]
    contact = ContactFactory()
    for journey in journeys:
        enrol_one(journey, contact)
    run()
    contact_services.unsubscribe(contact)

    engine.leave_unsubscribed()

    assert set(Enrolment.objects.values_list("state", flat=True)) == {State.EXITED}
    assert StepRun.objects.filter(outcome=StepRun.Outcome.LEFT).count() == 2
    assert messages_to(contact) == 2


def test_a_contact_suppressed_mid_journey_gets_no_further_email():
    journey = live_journey([email("hello"), {"key": "pause", "type": "wait", "minutes": 30}, email("again")])
    contact = ContactFactory()
    enrol_one(journey, contact)
    engine.advance()
    SuppressionFactory(email=contact.email)
    Enrolment.objects.update(due_at=timezone.now())

    run()

    assert messages_to(contact) == 1
    assert Enrolment.objects.get().state == State.EXITED


def test_the_global_cap_counts_campaign_and_journey_mail_together(settings):
    settings.MARKETING_EMAILS_PER_7_DAYS = 2
    from tests.factories import MessageFactory

    contact = ContactFactory()
    MessageFactory(contact=contact, status=Message.Status.SENT, sent_at=timezone.now() - timedelta(days=1))
    journey = live_journey([email("one"), email("two"), email("three")])
    enrol_one(journey, contact)

    run()

    outcomes = dict(StepRun.objects.values_list("step", "outcome"))
    assert outcomes == {"one": StepRun.Outcome.DONE, "two": StepRun.Outcome.SKIPPED, "three": StepRun.Outcome.SKIPPED}
    assert messages_to(contact) == 1


def test_paused_preferences_skip_the_email_but_the_journey_goes_on():
    journey = live_journey([email("hello"), {"key": "tagged", "type": "tag", "tag": "seen"}])
    contact = ContactFactory(paused_until=timezone.now() + timedelta(days=3))
    enrol_one(journey, contact)

    run()

    assert dict(StepRun.objects.values_list("step", "outcome")) == {
        "hello": StepRun.Outcome.SKIPPED,
        "tagged": StepRun.Outcome.DONE,
    }
    assert list(contact.tags.names()) == ["seen"]


def test_a_wait_holds_the_contact_until_its_due_time():
    journey = live_journey([{"key": "pause", "type": "wait", "hours": 5}, email("later")])
    enrol_one(journey, ContactFactory())

    run(times=2)

    enrolment = Enrolment.objects.get()
    assert (enrolment.step, enrolment.state) == ("later", State.WAITING)
    assert enrolment.due_at > timezone.now() + timedelta(hours=4)
    assert not StepCampaign.objects.exists()


def test_a_goal_takes_the_contact_out_wherever_it_is():
    steps = [
        {"key": "pause", "type": "wait", "minutes": 30},
        email("nudge"),
        {"key": "bought", "type": "goal", "segment": {"field": "tag", "op": "in", "value": ["customer"]}},
    ]
    journey = live_journey(steps)
    contact = ContactFactory()
    enrol_one(journey, contact)
    engine.advance()
    contact.tags.add("customer")
    Enrolment.objects.update(due_at=timezone.now())

    run()

    assert messages_to(contact) == 0
    assert Enrolment.objects.get().state == State.DONE
    assert StepRun.objects.get(step="bought").outcome == StepRun.Outcome.GOAL


def test_a_list_step_never_re_adds_a_contact_who_left_the_list():
    mailing_list = MailingListFactory(slug="customers")
    left, new = ContactFactory(), ContactFactory()
    SubscriptionFactory(contact=left, mailing_list=mailing_list, status=Subscription.Status.UNSUBSCRIBED)
    journey = live_journey([{"key": "join", "type": "add_to_list", "list": "customers"}])
    for contact in (left, new):
        enrol_one(journey, contact)

    run()

    assert dict(mailing_list.subscriptions.values_list("contact_id", "status")) == {
        left.pk: Subscription.Status.UNSUBSCRIBED,
        new.pk: Subscription.Status.SUBSCRIBED,
    }
    joined = Activity.objects.filter(kind=Activity.Kind.SUBSCRIBED).values_list("contact_id", "details")
    assert [(pk, details["list"], details["pending"]) for pk, details in joined] == [(new.pk, "customers", False)]


def test_a_list_step_subscribes_and_a_field_step_sets_the_profile():
    mailing_list = MailingListFactory(slug="customers")
    steps = [
        {"key": "join", "type": "add_to_list", "list": "customers"},
        {"key": "kind", "type": "set_field", "field": "customer_type", "value": "buyer"},
        {"key": "tier", "type": "set_field", "field": "custom.tier", "value": "gold"},
    ]
    journey = live_journey(steps)
    contact = ContactFactory()
    enrol_one(journey, contact)

    run()

    contact.refresh_from_db()
    assert mailing_list.subscriptions.filter(contact=contact).exists()
    assert (contact.customer_type, contact.custom_fields) == ("buyer", {"tier": "gold"})


def test_old_step_runs_are_purged_but_the_diagram_keeps_counting_them(settings):
    settings.JOURNEY_STEP_RUN_RETENTION_DAYS = 30
    from automations import retention, services

    journey = live_journey([{"key": "tagged", "type": "tag", "tag": "seen"}])
    for _ in range(2):
        enrol_one(journey, ContactFactory())
    run()
    before = services.status(journey)["steps"]
    Enrolment.objects.update(finished_at=timezone.now() - timedelta(days=31))

    assert retention.purge_step_runs() == 2
    assert retention.purge_step_runs() == 0
    assert not StepRun.objects.exists()
    assert services.status(journey)["steps"] == before
