"""ESP events through django-anymail: its webhook views (under /esp/) verify and normalise
the provider's payload; our receivers feed them into the same paths as our own endpoints.
No remote ESP is called: the tests post what the ESP would post."""

import base64
import json
from datetime import UTC, datetime

import pytest
from anymail.inbound import AnymailInboundMessage
from anymail.signals import AnymailInboundEvent, AnymailTrackingEvent, EventType, inbound, tracking
from django.test import override_settings

from contacts.models import Activity, Contact, Suppression
from tests.factories import ContactFactory, MessageFactory
from tests.tracking.test_bounces import ARF, verp

pytestmark = pytest.mark.django_db

WEBHOOK_AUTH = "hook:s3cret-for-tests"


@pytest.fixture
def postmark(client):
    """POST a Postmark tracking webhook payload the way Postmark does, with basic auth."""

    def post(payload: dict, auth: str | None = WEBHOOK_AUTH):
        headers = {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(auth.encode()).decode()} if auth else {}
        with override_settings(
            EMAIL_BACKEND="anymail.backends.postmark.EmailBackend", ANYMAIL={"WEBHOOK_SECRET": WEBHOOK_AUTH}
        ):
            return client.post(
                "/esp/postmark/tracking/", data=json.dumps(payload), content_type="application/json", **headers
            )

    return post


def postmark_bounce(email: str, bounce_id: int, kind: str = "HardBounce") -> dict:
    return {
        "RecordType": "Bounce",
        "ID": bounce_id,
        "Type": kind,
        "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
        "Description": "The server was unable to deliver your message (ex: unknown user, mailbox not found).",
        "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
        "Email": email,
        "BouncedAt": "2025-03-02T16:42:55Z",
        "Inactive": True,
    }


def signal(event_type: str, contact: Contact, event_id: str, **fields) -> None:
    event = AnymailTrackingEvent(
        event_type=event_type,
        event_id=event_id,
        recipient=contact.email,
        timestamp=datetime.now(UTC),
        **fields,
    )
    tracking.send(sender=object, event=event, esp_name="Test")


def test_webhook_without_credentials_is_refused_and_records_nothing(postmark):
    contact = ContactFactory()
    response = postmark(postmark_bounce(contact.email, 1), auth=None)
    assert response.status_code in {400, 401, 403}
    contact.refresh_from_db()
    assert contact.status == Contact.Status.SUBSCRIBED


def test_esp_hard_bounce_webhook_bounces_and_suppresses_the_contact(postmark):
    contact = ContactFactory()
    assert postmark(postmark_bounce(contact.email, 42)).status_code == 200
    contact.refresh_from_db()
    assert contact.status == Contact.Status.BOUNCED
    bounced = Activity.objects.get(contact=contact, kind=Activity.Kind.BOUNCED_HARD)
    assert bounced.details["status"] == "5.1.1"


def test_the_same_esp_bounce_delivered_twice_is_recorded_once(postmark):
    contact = ContactFactory()
    postmark(postmark_bounce(contact.email, 43))
    # An operator restores the contact: only the event id can now tell the replay from a new bounce.
    Suppression.objects.filter(email=contact.email).delete()
    Contact.objects.filter(pk=contact.pk).update(status=Contact.Status.SUBSCRIBED)

    postmark(postmark_bounce(contact.email, 43))

    assert Activity.objects.filter(contact=contact, kind=Activity.Kind.BOUNCED_HARD).count() == 1
    contact.refresh_from_db()
    assert contact.status == Contact.Status.SUBSCRIBED


def test_esp_spam_complaint_webhook_marks_the_contact_complained(postmark):
    contact = ContactFactory()
    payload = postmark_bounce(contact.email, 44, kind="SpamComplaint") | {"RecordType": "SpamComplaint"}
    postmark(payload)
    contact.refresh_from_db()
    assert contact.status == Contact.Status.COMPLAINED


def test_esp_opens_and_clicks_count_like_our_own_and_dedupe_on_event_id():
    contact = ContactFactory()
    signal(EventType.OPENED, contact, "evt-1", user_agent="Mozilla/5.0 (Windows NT 10.0) Firefox/128.0")
    signal(EventType.OPENED, contact, "evt-1", user_agent="Mozilla/5.0 (Windows NT 10.0) Firefox/128.0")
    signal(EventType.CLICKED, contact, "evt-2", click_url="https://shop.example.com/a")
    assert Activity.objects.filter(contact=contact, kind=Activity.Kind.OPENED).count() == 1
    clicked = Activity.objects.get(contact=contact, kind=Activity.Kind.CLICKED)
    assert clicked.link_url == "https://shop.example.com/a"
    contact.refresh_from_db()
    assert contact.engagement_score == 4.0


def test_esp_delivered_and_rejected_events_land_in_history():
    contact = ContactFactory()
    signal(EventType.DELIVERED, contact, "evt-3", mta_response="250 2.0.0 OK")
    signal(EventType.REJECTED, contact, "evt-4", reject_reason="blocked")
    kinds = set(Activity.objects.filter(contact=contact).values_list("kind", flat=True))
    assert kinds == {Activity.Kind.DELIVERED, Activity.Kind.FAILED}


def test_esp_events_for_unknown_recipients_are_ignored():
    stranger = Contact(email="nobody@example.com")
    signal(EventType.BOUNCED, stranger, "evt-5")
    assert not Activity.objects.exists()


def test_inbound_mail_to_the_bounce_domain_goes_through_bounce_processing():
    contact = ContactFactory()
    ours = verp(MessageFactory(contact=contact))
    message = AnymailInboundMessage.parse_raw_mime(ARF.format(recipient=contact.email, return_path=ours))
    inbound.send(
        sender=object, event=AnymailInboundEvent(event_type=EventType.INBOUND, message=message), esp_name="Test"
    )
    contact.refresh_from_db()
    assert contact.status == Contact.Status.COMPLAINED
