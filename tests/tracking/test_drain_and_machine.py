"""The event buffer drained into Activity: batching, idempotency, crash recovery, machine flags."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from config.celery import app
from contacts.models import Activity, Contact
from contacts.tokens import HONEYPOT_LINK_INDEX, Purpose, TokenData, make_token
from tests.conftest import wait_until
from tests.factories import CampaignFactory, CampaignLinkFactory, ContactFactory, MessageFactory
from tracking import buffer, services
from tracking.events import EventKind, TrackedEvent

pytestmark = pytest.mark.django_db

BROWSER = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari"
APPLE_PROXY = "Mozilla/5.0"


def event(contact_id: int, kind: str = "o", *, message=None, link=None, ua=BROWSER, at=None, reason="") -> TrackedEvent:
    return TrackedEvent(
        kind=EventKind(kind),
        contact_id=contact_id,
        message_id=message.pk if message else None,
        campaign_id=message.campaign_id if message else None,
        link_index=link,
        at=at or time.time(),
        user_agent=ua,
        machine_reason=reason,
    )


def visit(kind: str, message, link: int | None = None, ua: str = BROWSER, ip: str = "198.51.100.7") -> None:
    purpose = Purpose.CLICK if kind == "c" else Purpose.OPEN
    token = make_token(TokenData(purpose, message.contact_id, message.pk, message.campaign_id, link))
    visitor = services.Visitor(ua, ip)
    if kind == "c":
        services.track_click(token, visitor)
    else:
        services.track_open(token, visitor)


@pytest.fixture
def sent_message():
    campaign = CampaignFactory(status="sent")
    for index in range(4):
        CampaignLinkFactory(campaign=campaign, index=index)
    return MessageFactory(campaign=campaign, status="sent", sent_at=timezone.now() - timedelta(hours=1))


# --- idempotency and recovery ------------------------------------------------------------------


def test_ingesting_the_same_entries_twice_records_them_once():
    contact = ContactFactory()
    entries = [("buf:1-0", event(contact.pk)), ("buf:1-1", event(contact.pk, "c"))]
    assert services.ingest(entries) == 2
    assert services.ingest(entries) == 0
    assert Activity.objects.filter(contact=contact, kind__in=["opened", "clicked"]).count() == 2
    contact.refresh_from_db()
    assert contact.engagement_score == 4.0


def test_events_for_deleted_contacts_are_dropped_not_fatal():
    contact = ContactFactory()
    assert services.ingest([("buf:2-0", event(contact.pk)), ("buf:2-1", event(contact.pk + 999))]) == 1


def test_a_drain_that_died_before_acknowledging_is_picked_up_again(monkeypatch, sent_message):
    visit("o", sent_message)
    visit("c", sent_message, 0)
    assert len(buffer.read_batch(100)) == 2  # read, then "crashed" before ingest/ack
    monkeypatch.setattr(buffer, "CLAIM_IDLE_MS", 0)
    assert services.drain_events() == 2
    assert buffer.backlog() == 0
    assert Activity.objects.filter(message_id=sent_message.pk).count() == 2


def test_drain_moves_events_in_batches_and_empties_the_buffer(sent_message):
    for _ in range(25):
        visit("o", sent_message)
    assert services.drain_events(batch_size=10) == 25
    assert buffer.backlog() == 0


def test_drain_updates_last_opened_clicked_and_engaged(sent_message):
    visit("o", sent_message)
    visit("c", sent_message, 1)
    services.drain_events()
    contact = Contact.objects.get(pk=sent_message.contact_id)
    assert contact.last_opened_at and contact.last_clicked_at
    assert contact.last_engaged_at == max(contact.last_opened_at, contact.last_clicked_at)
    assert contact.standing == Contact.Standing.ENGAGED


# --- machine activity ----------------------------------------------------------------------------


def test_apple_privacy_proxy_open_is_flagged_and_not_counted(sent_message):
    visit("o", sent_message, ua=APPLE_PROXY, ip="17.58.0.12")
    services.drain_events()
    opened = Activity.objects.get(kind=Activity.Kind.OPENED)
    assert opened.is_machine and opened.details["machine"] == "proxy"
    contact = Contact.objects.get(pk=sent_message.contact_id)
    assert (contact.engagement_score, contact.last_opened_at) == (0.0, None)


def test_open_from_apples_network_is_flagged_whatever_the_agent(sent_message):
    visit("o", sent_message, ua=BROWSER, ip="17.1.2.3")
    services.drain_events()
    assert Activity.objects.get(kind=Activity.Kind.OPENED).is_machine


def test_open_within_seconds_of_delivery_is_flagged():
    message = MessageFactory(status="sent", sent_at=timezone.now())
    visit("o", message)
    services.drain_events()
    assert Activity.objects.get(kind=Activity.Kind.OPENED).details["machine"] == "too_soon"


def test_security_scanner_agent_click_is_flagged(sent_message):
    visit("c", sent_message, 0, ua="Mozilla/5.0 (compatible; Barracuda Sentinel)")
    services.drain_events()
    clicked = Activity.objects.get(kind=Activity.Kind.CLICKED)
    assert clicked.is_machine and clicked.details["machine"] == "scanner_agent"


def test_clicks_on_every_link_at_once_are_flagged_as_a_scanner(sent_message):
    for index in range(4):
        visit("c", sent_message, index)
    services.drain_events()
    clicks = Activity.objects.filter(kind=Activity.Kind.CLICKED)
    assert clicks.count() == 4
    assert all(click.details.get("machine") == "burst" for click in clicks)


def test_a_person_clicking_two_links_is_not_flagged(sent_message):
    visit("c", sent_message, 0)
    visit("c", sent_message, 2)
    services.drain_events()
    assert not Activity.objects.filter(is_machine=True).exists()


def test_human_activity_counts_towards_the_score_machine_activity_does_not(sent_message):
    visit("o", sent_message, ua=APPLE_PROXY)
    visit("c", sent_message, 0, ua="python-requests/2.32")
    visit("c", sent_message, 1)
    services.drain_events()
    contact = Contact.objects.get(pk=sent_message.contact_id)
    assert contact.engagement_score == 3.0


# --- with a real worker --------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.filterwarnings("ignore::celery.exceptions.AlwaysEagerIgnored")
def test_a_real_worker_drains_the_buffer_into_activity(start_worker):
    campaign = CampaignFactory(status="sent")
    CampaignLinkFactory(campaign=campaign, index=0)
    messages = [MessageFactory(campaign=campaign, status="sent") for _ in range(5)]
    for message in messages:
        visit("o", message)
        visit("c", message, 0)
    start_worker()
    app.send_task("tracking.tasks.drain_events")  # through the broker, not eagerly
    # Generous bound: a worker process starting on a busy 2-core machine can take a minute.
    wait_until(lambda: Activity.objects.filter(campaign_id=campaign.pk).count() == 10, message="drained events")
    assert buffer.backlog() == 0
    # The engagement credit is written after the batch that holds the events, in its own statement.
    clicked = Contact.objects.filter(pk__in=[m.contact_id for m in messages], last_clicked_at__isnull=False)
    wait_until(lambda: clicked.count() == 5, message="engagement credit of the drained clicks")


def test_credit_merged_across_batches_equals_credit_per_batch(sent_message):
    for _ in range(7):
        visit("o", sent_message)
    visit("c", sent_message, 0)
    services.drain_events(batch_size=2, credit_every=3)
    contact = Contact.objects.get(pk=sent_message.contact_id)
    assert contact.engagement_score == 7 * 1.0 + 3.0
    assert contact.last_clicked_at is not None


def test_a_drain_while_another_is_running_does_nothing(sent_message):
    visit("o", sent_message)
    running = buffer.drain_lock()
    assert running.acquire(blocking=False)
    try:
        assert services.drain_exclusively(max_batches=10) == 0
    finally:
        running.release()
    assert services.drain_exclusively(max_batches=10) == 1


def test_following_the_honeypot_link_flags_the_other_clicks_of_that_message(sent_message):
    visit("c", sent_message, 1)
    visit("c", sent_message, HONEYPOT_LINK_INDEX)
    services.drain_events()
    clicks = Activity.objects.filter(kind=Activity.Kind.CLICKED)
    assert clicks.count() == 2
    assert {click.details["machine"] for click in clicks} == {"honeypot"}


def test_a_drain_under_debug_records_events(settings, sent_message):
    """`make run` runs with DEBUG=1, whose cursor formats every statement with ``%``."""
    settings.DEBUG = True
    visit("o", sent_message)
    visit("c", sent_message, 0)
    assert services.drain_events() == 2
