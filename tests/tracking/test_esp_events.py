"""ESP events: every kind is recorded once however often the ESP replays it, and is attributed to
the exact message through the metadata we send. No remote ESP is called: the tests send
anymail's normalised signal, or use anymail's test backend, as the ESP's webhook would."""

from datetime import UTC, datetime

import pytest
from anymail.signals import AnymailTrackingEvent, EventType, tracking
from django.core import mail

from campaigns import delivery
from contacts import services as contact_services
from contacts.models import Activity, Contact, Suppression
from tests.factories import CampaignFactory, ContactFactory, MessageFactory
from tracking import esp

pytestmark = pytest.mark.django_db

MOMENT = datetime(2026, 3, 2, 16, 42, 55, tzinfo=UTC)
EVENTS = [
    (EventType.OPENED, {"user_agent": "Mozilla/5.0 (Windows NT 10.0) Firefox/128.0"}),
    (EventType.CLICKED, {"click_url": "https://shop.example.com/a"}),
    (EventType.DELIVERED, {"mta_response": "250 2.0.0 OK"}),
    (EventType.DEFERRED, {"mta_response": "451 4.7.1 try later"}),
    (EventType.REJECTED, {"reject_reason": "blocked"}),
    (EventType.FAILED, {"description": "no route"}),
    (EventType.BOUNCED, {"mta_response": "550 5.1.1 no such user"}),
    (EventType.BOUNCED, {"mta_response": "452 4.2.2 mailbox full"}),
    (EventType.COMPLAINED, {}),
    (EventType.UNSUBSCRIBED, {}),
]


def event(event_type: str, recipient: str, event_id: str | None = "evt-1", **fields) -> AnymailTrackingEvent:
    return AnymailTrackingEvent(
        event_type=event_type, event_id=event_id, recipient=recipient, timestamp=MOMENT, **fields
    )


def post(tracking_event: AnymailTrackingEvent) -> None:
    tracking.send(sender=object, event=tracking_event, esp_name="Test")


def restore(contact: Contact) -> None:
    """What an operator does for a contact wrongly bounced, complained or unsubscribed."""
    Suppression.objects.filter(email=contact.email).delete()
    Contact.objects.filter(pk=contact.pk).update(status=Contact.Status.SUBSCRIBED, standing=Contact.Standing.ACTIVE)


@pytest.mark.parametrize(("event_type", "fields"), EVENTS, ids=[f"{kind}-{n}" for n, (kind, _) in enumerate(EVENTS)])
def test_a_replayed_event_changes_nothing(event_type, fields):
    contact = ContactFactory()
    post(event(event_type, contact.email, **fields))
    history = list(Activity.objects.order_by("pk").values_list("pk", flat=True))
    restore(contact)

    post(event(event_type, contact.email, **fields))

    assert list(Activity.objects.order_by("pk").values_list("pk", flat=True)) == history
    contact.refresh_from_db()
    assert contact.status == Contact.Status.SUBSCRIBED


@pytest.mark.parametrize(("event_type", "fields"), EVENTS[:3] + EVENTS[6:7] + EVENTS[8:])
def test_a_replayed_event_without_an_esp_event_id_changes_nothing(event_type, fields):
    contact = ContactFactory()
    post(event(event_type, contact.email, event_id=None, **fields))
    count = Activity.objects.count()
    restore(contact)

    post(event(event_type, contact.email, event_id=None, **fields))

    assert Activity.objects.count() == count


@pytest.mark.parametrize(("event_type", "fields"), [EVENTS[0], EVENTS[2], EVENTS[6], EVENTS[8], EVENTS[9]])
def test_hard_bounce_complaint_and_unsubscribe_rows_store_the_esp_event_id(event_type, fields):
    contact = ContactFactory()

    post(event(event_type, contact.email, event_id="evt-77", **fields))

    assert Activity.objects.filter(contact=contact, event_id="esp:Test:evt-77").count() == 1


def test_metadata_naming_another_recipients_message_is_not_trusted():
    ann, bob = ContactFactory(email="ann@example.com"), ContactFactory(email="bob@example.com")
    bobs = MessageFactory(contact=bob, email=bob.email)

    post(event(EventType.DELIVERED, ann.email, metadata={delivery.METADATA_MESSAGE_ID: str(bobs.pk)}))

    row = Activity.objects.get(kind=Activity.Kind.DELIVERED)
    assert (row.contact_id, row.message_id) == (ann.pk, None)


@pytest.mark.parametrize(("event_type", "fields"), [EVENTS[1], EVENTS[6], EVENTS[8], EVENTS[9]])
def test_events_are_attributed_to_the_message_named_in_their_metadata(event_type, fields):
    contact = ContactFactory()
    MessageFactory(contact=contact, email=contact.email)
    second = MessageFactory(contact=contact, email=contact.email)

    post(event(event_type, contact.email, metadata={delivery.METADATA_MESSAGE_ID: str(second.pk)}, **fields))

    row = Activity.objects.exclude(kind__in=[Activity.Kind.STATUS, Activity.Kind.STANDING]).get(contact=contact)
    assert (row.message_id, row.campaign_id) == (second.pk, second.campaign_id)


def test_a_contact_that_resubscribed_is_not_unsubscribed_again_by_a_replay():
    contact = ContactFactory()
    post(event(EventType.UNSUBSCRIBED, contact.email))
    contact.refresh_from_db()
    contact_services.resubscribe(contact, source="preferences")

    post(event(EventType.UNSUBSCRIBED, contact.email))

    contact.refresh_from_db()
    assert contact.status == Contact.Status.SUBSCRIBED


def test_the_esp_backend_sends_the_message_id_as_metadata(settings):
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    campaign = CampaignFactory()
    message = MessageFactory(campaign=campaign)

    with delivery.transport() as carrier:
        result = carrier.send(delivery.outgoing_for(campaign, message.contact, message_id=message.pk))

    assert result.outcome == delivery.Outcome.SENT
    assert mail.outbox[0].metadata == {
        delivery.METADATA_MESSAGE_ID: str(message.pk),
        delivery.METADATA_CAMPAIGN_ID: str(campaign.pk),
    }


def test_a_test_send_carries_no_message_metadata(settings):
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"

    delivery.send_test(CampaignFactory(), ["ann@example.com"])

    assert not getattr(mail.outbox[0], "metadata", None)


def test_a_delivery_racing_another_of_the_same_event_changes_nothing(monkeypatch):
    contact = ContactFactory()
    find_message = esp.sent_message

    def concurrent_delivery_records_it_first(tracking_event):
        contact_services.record(contact, Activity.Kind.BOUNCED_HARD, event_id="esp:Test:evt-1")
        return find_message(tracking_event)

    monkeypatch.setattr(esp, "sent_message", concurrent_delivery_records_it_first)

    post(event(EventType.BOUNCED, contact.email, mta_response="550 5.1.1 no such user"))

    contact.refresh_from_db()
    assert contact.status == Contact.Status.SUBSCRIBED
    assert Activity.objects.filter(contact=contact).count() == 1
