"""/u/ (RFC 8058 one-click and the confirmation page) and /p/ (the preference centre)."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from contacts.models import Activity, Contact, Subscription
from contacts.tokens import Purpose, TokenData, make_token
from tests.factories import ContactFactory, MailingListFactory, MessageFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser() -> Client:
    """A client that enforces CSRF like a real browser session would."""
    return Client(enforce_csrf_checks=True)


@pytest.fixture
def message():
    message = MessageFactory()
    SubscriptionFactory(contact=message.contact)
    return message


def url(message, purpose: Purpose, path: str) -> str:
    return f"/{path}/{make_token(TokenData(purpose, message.contact_id, message.pk, message.campaign_id))}"


def status_of(contact) -> str:
    contact.refresh_from_db()
    return contact.status


def csrf_from(browser: Client, page: str) -> str:
    browser.get(page)
    return browser.cookies["csrftoken"].value


# --- /u/ -----------------------------------------------------------------------------------------


def test_forged_unsubscribe_token_is_404(browser):
    assert browser.get("/u/AAAAAAAAAAAAAAAAAAAAAAAA").status_code == 404
    assert browser.post("/u/AAAAAAAAAAAAAAAAAAAAAAAA", {"List-Unsubscribe": "One-Click"}).status_code == 404


def test_a_click_token_does_not_unsubscribe(browser, message):
    response = browser.post(url(message, Purpose.CLICK, "u"), {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 404
    assert status_of(message.contact) == Contact.Status.SUBSCRIBED


def test_get_shows_a_confirmation_page_and_never_unsubscribes(browser, message):
    response = browser.get(url(message, Purpose.UNSUBSCRIBE, "u"))
    assert response.status_code == 200
    assert b'name="action" value="unsubscribe"' in response.content
    assert status_of(message.contact) == Contact.Status.SUBSCRIBED


def test_the_page_form_without_a_csrf_token_is_refused(browser, message):
    response = browser.post(url(message, Purpose.UNSUBSCRIBE, "u"), {"action": "unsubscribe"})
    assert response.status_code == 403
    assert status_of(message.contact) == Contact.Status.SUBSCRIBED


def test_rfc8058_one_click_post_unsubscribes_without_csrf(browser, message):
    response = browser.post(url(message, Purpose.UNSUBSCRIBE, "u"), {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert status_of(message.contact) == Contact.Status.UNSUBSCRIBED
    unsubscribed = Activity.objects.get(contact=message.contact, kind=Activity.Kind.UNSUBSCRIBED)
    assert (unsubscribed.campaign_id, unsubscribed.message_id) == (message.campaign_id, message.pk)
    assert unsubscribed.details["source"] == "one-click"
    assert Subscription.objects.get(contact=message.contact).status == Subscription.Status.UNSUBSCRIBED


def test_a_replayed_one_click_post_is_harmless(browser, message):
    page = url(message, Purpose.UNSUBSCRIBE, "u")
    browser.post(page, {"List-Unsubscribe": "One-Click"})
    assert browser.post(page, {"List-Unsubscribe": "One-Click"}).status_code == 200
    assert Activity.objects.filter(contact=message.contact, kind=Activity.Kind.UNSUBSCRIBED).count() == 1


def test_confirming_on_the_page_unsubscribes_and_offers_resubscribe(browser, message):
    page = url(message, Purpose.UNSUBSCRIBE, "u")
    response = browser.post(page, {"action": "unsubscribe", "csrfmiddlewaretoken": csrf_from(browser, page)})
    assert response.status_code == 200
    assert status_of(message.contact) == Contact.Status.UNSUBSCRIBED
    assert b'value="resubscribe"' in response.content


def test_resubscribe_from_the_result_page(browser, message):
    page = url(message, Purpose.UNSUBSCRIBE, "u")
    csrf = csrf_from(browser, page)
    browser.post(page, {"action": "unsubscribe", "csrfmiddlewaretoken": csrf})
    response = browser.post(page, {"action": "resubscribe", "csrfmiddlewaretoken": csrf})
    assert b"subscribed again" in response.content
    assert status_of(message.contact) == Contact.Status.SUBSCRIBED
    assert Subscription.objects.get(contact=message.contact).status == Subscription.Status.SUBSCRIBED


def test_a_bounced_contact_cannot_resubscribe_from_the_page(browser, message):
    Contact.objects.filter(pk=message.contact_id).update(status=Contact.Status.BOUNCED)
    page = url(message, Purpose.UNSUBSCRIBE, "u")
    browser.post(page, {"action": "resubscribe", "csrfmiddlewaretoken": csrf_from(browser, page)})
    assert status_of(message.contact) == Contact.Status.BOUNCED


# --- /p/ -----------------------------------------------------------------------------------------


def save_preferences(browser: Client, message, **choices) -> None:
    """Submit the form as a browser would: the prefilled profile plus the given choices."""
    page = url(message, Purpose.PREFERENCES, "p")
    contact = Contact.objects.get(pk=message.contact_id)
    data = {field: getattr(contact, field) for field in Contact.SELF_SERVICE_FIELDS}
    data |= {"frequency": "every", "pause_days": 0, "csrfmiddlewaretoken": csrf_from(browser, page)} | choices
    response = browser.post(page, data)
    assert response.status_code == 200
    assert b"Saved" in response.content, response.content


def test_forged_preferences_token_is_404(browser):
    assert browser.get("/p/AAAAAAAAAAAAAAAAAAAAAAAA").status_code == 404


def test_preferences_without_csrf_are_refused(browser, message):
    response = browser.post(url(message, Purpose.PREFERENCES, "p"), {"frequency": "monthly", "pause_days": 0})
    assert response.status_code == 403


def test_preference_page_shows_the_public_lists_and_current_choices(browser, message):
    MailingListFactory(name="Staff only", is_public=False)
    response = browser.get(url(message, Purpose.PREFERENCES, "p"))
    assert response.status_code == 200
    assert message.contact.subscriptions.get().mailing_list.name.encode() in response.content
    assert b"Staff only" not in response.content


def test_choosing_weekly_removes_a_recently_mailed_contact_from_the_audience(browser, message):
    Contact.objects.filter(pk=message.contact_id).update(last_sent_at=timezone.now() - timedelta(days=2))
    assert Contact.objects.sendable().filter(pk=message.contact_id).exists()
    save_preferences(browser, message, frequency="weekly", lists=[message.contact.subscriptions.get().mailing_list_id])
    assert not Contact.objects.sendable().filter(pk=message.contact_id).exists()


def test_pausing_for_30_days_removes_the_contact_from_the_audience(browser, message):
    save_preferences(browser, message, pause_days=30)
    message.contact.refresh_from_db()
    assert message.contact.paused_until > timezone.now() + timedelta(days=29)
    assert not Contact.objects.sendable().filter(pk=message.contact_id).exists()


def test_ending_a_pause_brings_the_contact_back(browser, message):
    Contact.objects.filter(pk=message.contact_id).update(paused_until=timezone.now() + timedelta(days=80))
    save_preferences(browser, message, pause_days=0)
    assert Contact.objects.sendable().filter(pk=message.contact_id).exists()


def test_unticking_a_list_unsubscribes_from_that_list_only(browser, message):
    kept = SubscriptionFactory(contact=message.contact).mailing_list
    save_preferences(browser, message, lists=[kept.pk])
    statuses = dict(Subscription.objects.filter(contact=message.contact).values_list("mailing_list_id", "status"))
    assert statuses[kept.pk] == Subscription.Status.SUBSCRIBED
    assert sorted(statuses.values()) == [Subscription.Status.SUBSCRIBED, Subscription.Status.UNSUBSCRIBED]
    assert status_of(message.contact) == Contact.Status.SUBSCRIBED


def test_ticking_a_new_list_subscribes_to_it(browser, message):
    new_list = MailingListFactory(double_opt_in=True)
    current = message.contact.subscriptions.get().mailing_list_id
    save_preferences(browser, message, lists=[current, new_list.pk])
    subscription = Subscription.objects.get(contact=message.contact, mailing_list=new_list)
    assert subscription.status == Subscription.Status.SUBSCRIBED


def test_profile_fields_are_editable_and_the_change_is_recorded(browser, message):
    current = message.contact.subscriptions.get().mailing_list_id
    save_preferences(browser, message, lists=[current], company="Acme Ltd", city="Lyon")
    message.contact.refresh_from_db()
    assert (message.contact.company, message.contact.city) == ("Acme Ltd", "Lyon")
    profile = Activity.objects.get(contact=message.contact, kind=Activity.Kind.PROFILE)
    assert profile.details["fields"] == ["city", "company"]


def test_preference_changes_are_recorded_in_history(browser, message):
    current = message.contact.subscriptions.get().mailing_list_id
    save_preferences(browser, message, lists=[current], frequency="monthly")
    change = Activity.objects.get(contact=message.contact, kind=Activity.Kind.PREFERENCES)
    assert change.details["frequency"] == "monthly"


def test_email_address_is_not_editable_in_the_preference_centre(browser, message):
    original = message.contact.email
    save_preferences(browser, message, email="attacker@evil.example.com")
    assert Contact.objects.get(pk=message.contact_id).email == original


def test_unrelated_contact_cannot_be_changed_with_another_contacts_token(browser, message):
    other = ContactFactory()
    save_preferences(browser, message, frequency="monthly")
    other.refresh_from_db()
    assert other.frequency == Contact.Frequency.EVERY
