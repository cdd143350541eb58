"""Versions, behaviour branches and the test run."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from automations import mail, services
from automations.models import Enrolment, StepRun
from campaigns.models import Message
from config.redis import client as redis_client
from contacts.models import Activity
from tests.automations.conftest import email, live_journey, run
from tests.factories import ActivityFactory, ContactFactory
from tracking import buffer
from tracking.events import EventKind, TrackedEvent

pytestmark = pytest.mark.django_db
Outcome = StepRun.Outcome


def opened_branch():
    return [
        email("hello"),
        {"key": "pause", "type": "wait", "hours": 1},
        {
            "key": "opened",
            "type": "condition",
            "opened": "hello",
            "yes": [{"key": "fan", "type": "tag", "tag": "fan"}],
            "no": [{"key": "quiet", "type": "tag", "tag": "quiet"}],
        },
    ]


def sent_hello(journey, contact) -> None:
    services.enrol_one(journey, contact)
    run()
    Enrolment.objects.update(due_at=timezone.now() - timedelta(seconds=1))


def test_contacts_inside_keep_the_version_they_entered_with():
    journey = live_journey([{"key": "pause", "type": "wait", "days": 1}, {"key": "a", "type": "tag", "tag": "v1"}])
    old = ContactFactory()
    services.enrol_one(journey, old)
    run()
    journey.definition = {
        "steps": [{"key": "pause", "type": "wait", "days": 1}, {"key": "b", "type": "tag", "tag": "v2"}]
    }
    services.publish(journey)
    new = ContactFactory()
    services.enrol_one(journey, new)
    run()
    Enrolment.objects.update(due_at=timezone.now())

    run()

    assert (list(old.tags.names()), list(new.tags.names())) == (["v1"], ["v2"])
    assert services.status(journey)["version"] == 2


def test_an_explicit_mapping_moves_waiting_contacts_to_the_new_version():
    journey = live_journey([{"key": "pause", "type": "wait", "days": 1}, {"key": "a", "type": "tag", "tag": "v1"}])
    contact = ContactFactory()
    services.enrol_one(journey, contact)
    run()
    journey.definition = {"steps": [{"key": "b", "type": "tag", "tag": "v2"}]}
    services.publish(journey)

    assert services.move_to_current(journey, {"a": "b"}) == 1
    Enrolment.objects.update(due_at=timezone.now())
    run()

    assert list(contact.tags.names()) == ["v2"]


def test_a_behaviour_branch_waits_until_the_drain_caught_up():
    journey = live_journey(opened_branch())
    contact = ContactFactory()
    sent_hello(journey, contact)
    # An open that reached the buffer before the condition fell due, not yet drained.
    assert buffer.push(TrackedEvent(EventKind.OPEN, contact.pk, None, None, at=time.time()))
    time.sleep(0.01)
    Enrolment.objects.update(due_at=timezone.now())
    try:
        run()
        enrolment = Enrolment.objects.get()
        assert (enrolment.step, enrolment.state) == ("opened", Enrolment.State.WAITING)
        assert not StepRun.objects.filter(step="opened").exists()
    finally:
        redis_client().delete(buffer.STREAM)


def test_a_machine_open_never_counts_as_opened():
    journey = live_journey(opened_branch())
    contact = ContactFactory()
    sent_hello(journey, contact)
    campaign_id = mail.campaign_id_for(journey.current_version_id, "hello")
    ActivityFactory(contact=contact, kind=Activity.Kind.OPENED, campaign_id=campaign_id, is_machine=True)

    run()

    assert StepRun.objects.get(step="opened").outcome == Outcome.NO
    assert list(contact.tags.names()) == ["quiet"]


def test_a_human_open_of_the_previous_email_takes_the_yes_branch():
    journey = live_journey(opened_branch())
    contact = ContactFactory()
    sent_hello(journey, contact)
    campaign_id = mail.campaign_id_for(journey.current_version_id, "hello")
    ActivityFactory(contact=contact, kind=Activity.Kind.OPENED, campaign_id=campaign_id)

    run()

    assert list(contact.tags.names()) == ["fan"]


def test_the_test_run_shows_the_path_the_engine_takes():
    steps = [
        {"key": "split", "type": "split", "percent": 50, "yes": [email("a")], "no": [email("b")]},
        {
            "key": "is-a",
            "type": "condition",
            "segment": {"field": "grade", "op": "equals", "value": "A"},
            "yes": [{"key": "vip", "type": "tag", "tag": "vip"}],
            "no": [{"key": "bye", "type": "exit"}],
        },
        {"key": "after", "type": "tag", "tag": "after"},
    ]
    journey = live_journey(steps)
    contacts = [ContactFactory(grade=grade) for grade in ("A", "B", "A", "B")]
    predicted = {contact.pk: [step["key"] for step in services.test_run(journey, contact)] for contact in contacts}
    for contact in contacts:
        services.enrol_one(journey, contact)

    run()

    real = {
        contact.pk: list(
            StepRun.objects.filter(enrolment__contact=contact).order_by("at", "step").values_list("step", flat=True)
        )
        for contact in contacts
    }
    assert real == predicted
    assert Message.objects.count() == 4
