"""Lost-customer detection on hand-worked order histories.

Every history is a customer ordering every 30 days, last on 1 March 2026; the job runs on
the day named in each test. Their average gap is 30 days, so they are drifting after 45
days without an order (1.5x) and lost after 90 (3x).
"""

import json
from datetime import UTC, date, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command

from contacts.models import Activity, Contact
from sales.lost import RULE_KEY, detect_lost_customers
from sales.models import CustomerHealth, Task
from tests.factories import ContactFactory, DealFactory, UserFactory

pytestmark = pytest.mark.django_db

LAST_ORDER = date(2026, 3, 1)


def on(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 3, 45, tzinfo=UTC)


def customer(orders: int = 4, gap: int = 30, **fields) -> Contact:
    contact = ContactFactory(**{"standing": Contact.Standing.ACTIVE, **fields})
    for n in range(orders):
        DealFactory(contact=contact, date=LAST_ORDER - timedelta(days=gap * n))
    return contact


def state(contact: Contact) -> str:
    return CustomerHealth.objects.get(contact=contact).state


def test_a_customer_with_fewer_than_three_orders_is_never_flagged_by_the_gap():
    contact = customer(orders=2)

    outcome = detect_lost_customers(on(LAST_ORDER + timedelta(days=400)))

    assert (outcome.drifting, outcome.lost, state(contact)) == (0, 0, "ok")


def test_cancelled_and_open_deals_are_not_orders():
    contact = customer(orders=3)
    DealFactory(contact=contact, date=LAST_ORDER + timedelta(days=40), status="cancelled")

    detect_lost_customers(on(LAST_ORDER + timedelta(days=46)))

    assert state(contact) == "drifting"


def test_no_order_for_exactly_one_and_a_half_gaps_is_not_yet_drifting():
    contact = customer()

    detect_lost_customers(on(LAST_ORDER + timedelta(days=45)))

    assert state(contact) == "ok"


def test_no_order_for_more_than_one_and_a_half_gaps_is_drifting():
    contact = customer()

    outcome = detect_lost_customers(on(LAST_ORDER + timedelta(days=46)))

    assert (outcome.drifting, outcome.lost, state(contact)) == (1, 0, "drifting")


def test_no_order_for_more_than_three_gaps_is_lost():
    contact = customer()

    outcome = detect_lost_customers(on(LAST_ORDER + timedelta(days=91)))

    assert (outcome.drifting, outcome.lost, state(contact)) == (0, 1, "lost")


def test_an_inactive_standing_makes_a_customer_lost_and_at_risk_drifting():
    inactive = customer(orders=1, standing=Contact.Standing.INACTIVE)
    at_risk = customer(orders=1, standing=Contact.Standing.AT_RISK)

    detect_lost_customers(on(LAST_ORDER))

    assert (state(inactive), state(at_risk)) == ("lost", "drifting")


def test_engagement_down_by_the_configured_share_against_the_baseline_is_drifting(settings):
    settings.SALES_LOST_ENGAGEMENT_DROP = 0.5
    contact = customer(orders=1, engagement_score=10.0)
    detect_lost_customers(on(LAST_ORDER))
    Contact.objects.filter(pk=contact.pk).update(engagement_score=5.5)
    detect_lost_customers(on(LAST_ORDER + timedelta(days=1)))
    assert state(contact) == "ok"

    Contact.objects.filter(pk=contact.pk).update(engagement_score=5.0)
    detect_lost_customers(on(LAST_ORDER + timedelta(days=2)))

    health = CustomerHealth.objects.get(contact=contact)
    assert (health.state, health.reason) == ("drifting", "engagement down from 10 to 5")


def test_a_flagged_customer_gets_one_alert_and_one_task_for_the_owner_however_often_the_job_runs():
    owner = UserFactory()
    contact = customer(owner=owner)

    first = detect_lost_customers(on(LAST_ORDER + timedelta(days=46)))
    again = detect_lost_customers(on(LAST_ORDER + timedelta(days=47)))

    task = Task.objects.get(contact=contact)
    alert = Activity.objects.get(contact=contact, kind=Activity.Kind.ALERT)
    assert (first.tasks_created, again.tasks_created, again.drifting) == (1, 0, 0)
    assert (task.owner, task.origin, task.rule_key, task.done_at) == (owner, "rule", RULE_KEY, None)
    assert alert.details["summary"] == "Drifting customer: no order for 46 days, usually every 30"


def test_the_alerts_task_is_in_the_history_once():
    contact = customer()

    detect_lost_customers(on(LAST_ORDER + timedelta(days=46)))
    detect_lost_customers(on(LAST_ORDER + timedelta(days=47)))

    entry = Activity.objects.get(contact=contact, kind=Activity.Kind.TASK)
    task = Task.objects.get(contact=contact)
    assert entry.details == {
        "summary": "Task created by the lost-customer alert: Check on a drifting customer",
        "task": task.pk,
        "task_kind": "follow_up",
    }


def test_drifting_then_lost_updates_the_state_without_a_second_alert():
    contact = customer()
    detect_lost_customers(on(LAST_ORDER + timedelta(days=46)))

    outcome = detect_lost_customers(on(LAST_ORDER + timedelta(days=91)))

    assert (outcome.lost, state(contact)) == (0, "lost")
    assert Activity.objects.filter(contact=contact, kind=Activity.Kind.ALERT).count() == 1


def test_a_new_order_recovers_the_customer_and_the_recovery_is_recorded():
    contact = customer()
    detect_lost_customers(on(LAST_ORDER + timedelta(days=91)))
    DealFactory(contact=contact, date=LAST_ORDER + timedelta(days=92))

    outcome = detect_lost_customers(on(LAST_ORDER + timedelta(days=93)))

    assert (outcome.recovered, state(contact)) == (1, "ok")
    summaries = list(
        Activity.objects.filter(contact=contact, kind=Activity.Kind.ALERT)
        .order_by("pk")
        .values_list("details__summary", flat=True)
    )
    assert summaries == ["Lost customer: no order for 91 days, usually every 30", "Customer recovered"]


def test_a_recovered_customer_who_drifts_again_is_flagged_again_with_a_new_task():
    contact = customer()
    detect_lost_customers(on(LAST_ORDER + timedelta(days=46)))
    Task.objects.filter(contact=contact).update(done_at=on(LAST_ORDER + timedelta(days=47)))
    DealFactory(contact=contact, date=LAST_ORDER + timedelta(days=48))
    detect_lost_customers(on(LAST_ORDER + timedelta(days=49)))

    # Five orders now, 30, 30, 30 and 48 days apart: an average gap of 37, drifting after 55.5 days.
    outcome = detect_lost_customers(on(LAST_ORDER + timedelta(days=48 + 56)))

    assert (outcome.drifting, outcome.tasks_created, state(contact)) == (1, 1, "drifting")
    assert Task.objects.filter(contact=contact).count() == 2


def test_the_command_prints_one_json_document_with_the_counts():
    customer(orders=1, standing=Contact.Standing.INACTIVE)
    out = StringIO()

    call_command("detect_lost_customers", "--json", stdout=out)

    assert json.loads(out.getvalue()) == {"drifting": 0, "lost": 1, "recovered": 0, "tasks_created": 1}
