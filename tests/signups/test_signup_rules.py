"""Each rule of a public signup form, in-process: the abuse checks, double opt-in (GET shows,
POST confirms), re-submission, expiry and redirect safety."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import altcha
import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from contacts.models import Contact, Subscription
from signups import abuse
from signups.mail import purge_expired
from signups.models import Consent, PendingSignup, SignupForm, WelcomeEmail
from tests.factories import ContactFactory, MailingListFactory, SignupFormFactory, SubscriptionFactory
from tests.signups.conftest import form_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def form() -> SignupForm:
    return SignupFormFactory(slug="news")


@pytest.fixture
def post(client, django_capture_on_commit_callbacks):
    """POST a form as a browser would; the confirmation task runs (eagerly) once the request commits."""

    def send(form, data, ip="203.0.113.7", **headers):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(reverse("signups_form", args=[form.slug]), data, REMOTE_ADDR=ip, **headers)

    return send


def confirm_link(message) -> str:
    return re.search(r"https?://\S+/f/\S+/confirm/\S+/", message.body).group(0)


# --- abuse ----------------------------------------------------------------------------------------


def test_a_filled_honeypot_answers_like_a_signup_and_does_nothing(form, post):
    response = post(form, form_data(**{abuse.HONEYPOT_FIELD: "http://spam.example"}))

    assert response.status_code == 200
    assert form.thank_you_text in response.content.decode()
    assert PendingSignup.objects.count() == 0 and mail.outbox == []


def test_a_form_sent_back_too_soon_is_refused(form, post):
    response = post(form, form_data(ts=abuse.form_timestamp()))

    assert response.status_code == 400
    assert PendingSignup.objects.count() == 0


def test_a_forged_fill_time_stamp_is_refused(form, post):
    response = post(form, form_data(ts=f"{time.time() - 60}"))

    assert response.status_code == 400
    assert PendingSignup.objects.count() == 0


def test_one_network_is_cut_off_past_its_rate_limit(form, settings, post):
    settings.SIGNUP_RATE_PER_IP_PER_MINUTE = 3

    statuses = [post(form, form_data(f"person{n}@example.com")).status_code for n in range(5)]

    assert statuses == [200, 200, 200, 429, 429]
    assert PendingSignup.objects.count() == 3


def test_one_address_is_cut_off_past_its_rate_limit_from_any_network(form, settings, post):
    settings.SIGNUP_RATE_PER_ADDRESS_PER_HOUR = 2

    statuses = [post(form, form_data(), ip=f"198.51.100.{n}").status_code for n in range(4)]

    assert statuses == [200, 200, 429, 429]


def test_confirmations_stop_when_the_hourly_budget_is_spent(form, settings, post):
    settings.SIGNUP_CONFIRMATIONS_PER_HOUR = 2

    for n in range(4):
        post(form, form_data(f"person{n}@example.com"))

    assert len(mail.outbox) == 2
    states = sorted(PendingSignup.objects.values_list("state", flat=True))
    assert states == ["held", "held", "sent", "sent"]


def test_once_the_budget_is_spent_signups_are_held_without_queueing_a_task(form, settings, post, monkeypatch):
    settings.SIGNUP_CONFIRMATIONS_PER_HOUR = 1
    post(form, form_data("first@example.com"))
    queued = []
    monkeypatch.setattr("signups.services.send_confirmation.delay", queued.append)

    post(form, form_data("second@example.com"))

    assert queued == []
    assert PendingSignup.objects.get(email="second@example.com").state == PendingSignup.State.HELD


def test_without_a_solved_challenge_the_signup_is_refused(form, settings, post):
    settings.SIGNUP_CHALLENGE = True

    response = post(form, form_data(altcha="bm90IGEgc29sdXRpb24="))

    assert response.status_code == 400
    assert PendingSignup.objects.count() == 0


def test_a_solved_challenge_passes_once_only(client, form, settings, post):
    settings.SIGNUP_CHALLENGE = True
    challenge = client.get(reverse("signups_challenge", args=[form.slug])).json()
    solution = altcha.solve_challenge(altcha.Challenge.from_dict(challenge))
    payload = altcha.Payload(altcha.Challenge.from_dict(challenge), solution).to_base64()

    first = post(form, form_data(altcha=payload))
    replay = post(form, form_data("bob@example.com", altcha=payload))

    assert (first.status_code, replay.status_code) == (200, 400)
    assert list(PendingSignup.objects.values_list("email", flat=True)) == ["ann@example.com"]


# --- double opt-in ----------------------------------------------------------------------------------


def test_the_confirmation_email_holds_nothing_the_visitor_typed(form, post):
    post(form, form_data(first_name="BUY CHEAP PILLS at spam.example"))

    (message,) = mail.outbox
    assert "PILLS" not in message.subject + message.body
    assert "spam.example" not in message.body
    assert message.to == ["ann@example.com"]


def test_opening_the_confirmation_link_does_not_confirm(client, form, post):
    post(form, form_data())

    response = client.get(confirm_link(mail.outbox[0]))

    assert response.status_code == 200
    assert "Yes, subscribe me" in response.content.decode()
    assert not Contact.objects.filter(email="ann@example.com").exists()


def test_pressing_the_button_confirms_and_records_the_consent(client, form, post):
    post(form, form_data())
    url = confirm_link(mail.outbox[0])

    response = client.post(url, REMOTE_ADDR="203.0.113.7")

    assert "You are subscribed" in response.content.decode()
    contact = Contact.objects.get(email="ann@example.com")
    assert contact.first_name == "Ann" and contact.confirmed_at is not None
    assert Subscription.objects.get(contact=contact).status == Subscription.Status.SUBSCRIBED
    consent = Consent.objects.get(contact=contact)
    assert (consent.form_slug, consent.consent_version, consent.double_opt_in) == ("news", 1, True)
    assert consent.ip_hash == abuse.ip_hash("203.0.113.7") and "203.0.113.7" not in consent.ip_hash


def test_a_consent_names_the_version_of_the_text_the_visitor_saw(client, form, post):
    form.consent_text = "New wording."
    form.save()
    post(form, form_data())

    client.post(confirm_link(mail.outbox[0]))

    assert Consent.objects.get().consent_version == 2
    assert form.consent_texts.get(version=2).text == "New wording."


def test_a_subscribed_contact_signing_up_again_gets_nothing_and_sees_the_same_page(form, post):
    stranger = post(form, form_data("new@example.com")).content.decode()
    contact = ContactFactory(email="known@example.com")
    SubscriptionFactory(contact=contact, mailing_list=form.form_lists.get().mailing_list)
    mail.outbox.clear()

    known = post(form, form_data("known@example.com")).content.decode()

    assert mail.outbox == []
    assert known.replace("known@", "new@") == stranger.replace("csrfmiddlewaretoken", "")


def test_the_json_answer_is_the_same_for_a_known_and_an_unknown_address(form, post):
    contact = ContactFactory(email="known@example.com")
    SubscriptionFactory(contact=contact, mailing_list=form.form_lists.get().mailing_list)

    answers = [
        post(form, form_data(email), HTTP_ACCEPT="application/json")
        for email in ("known@example.com", "new@example.com")
    ]

    assert [answer.json() for answer in answers] == [{"ok": True, "message": form.thank_you_text, "redirect": None}] * 2
    assert all(answer["Access-Control-Allow-Origin"] == "*" for answer in answers)


def test_a_get_asking_for_json_gets_the_fields_and_a_fresh_stamp(client, form):
    response = client.get(reverse("signups_form", args=[form.slug]), HTTP_ACCEPT="application/json")

    data = response.json()
    assert [field["name"] for field in data["fields"]] == ["email", "first_name"]
    assert data["consent_version"] == 1 and data["ts"]
    assert response["Access-Control-Allow-Origin"] == "*"


def test_a_suppressed_address_is_never_mailed(form, post):
    ContactFactory(email="gone@example.com", status=Contact.Status.COMPLAINED)

    post(form, form_data("gone@example.com"))

    assert mail.outbox == [] and PendingSignup.objects.count() == 0


def test_an_unsubscribed_contact_comes_back_only_by_confirming(client, form, post):
    contact = ContactFactory(email="left@example.com", status=Contact.Status.UNSUBSCRIBED)
    mailing_list = form.form_lists.get().mailing_list
    SubscriptionFactory(contact=contact, mailing_list=mailing_list, status=Subscription.Status.UNSUBSCRIBED)
    form.form_lists.update(double_opt_in=False)

    post(form, form_data("left@example.com"))
    contact.refresh_from_db()
    assert contact.status == Contact.Status.UNSUBSCRIBED
    client.post(confirm_link(mail.outbox[0]))

    contact.refresh_from_db()
    assert contact.status == Contact.Status.SUBSCRIBED
    assert Subscription.objects.get(contact=contact).status == Subscription.Status.SUBSCRIBED


def test_a_signup_never_changes_an_existing_contacts_profile(client, form, post):
    ContactFactory(email="known@example.com", first_name="Karin")

    post(form, form_data("known@example.com", first_name="Vandal"))
    client.post(confirm_link(mail.outbox[0]))

    assert Contact.objects.get(email="known@example.com").first_name == "Karin"


def test_confirming_sends_the_lists_welcome_email_through_the_transactional_lane(
    client, form, post, django_capture_on_commit_callbacks
):
    WelcomeEmail.objects.create(
        mailing_list=form.form_lists.get().mailing_list, subject="Welcome aboard", body="Glad you are here."
    )
    post(form, form_data())

    with django_capture_on_commit_callbacks(execute=True):
        client.post(confirm_link(mail.outbox[0]))

    welcome = mail.outbox[1]
    assert (welcome.to, welcome.subject) == (["ann@example.com"], "Welcome aboard")
    assert "List-Unsubscribe" not in welcome.extra_headers


def test_a_single_opt_in_list_subscribes_at_once_without_an_email(client, post):
    mailing_list = MailingListFactory()
    form = SignupFormFactory(lists=[mailing_list])
    form.form_lists.update(double_opt_in=False)

    post(form, form_data())

    assert mail.outbox == []
    assert Subscription.objects.get(contact__email="ann@example.com").status == Subscription.Status.SUBSCRIBED


def test_pending_signups_are_purged_after_the_setting_and_their_link_dies(client, form, settings, post):
    settings.SIGNUP_PENDING_DAYS = 30
    post(form, form_data())
    url = confirm_link(mail.outbox[0])
    PendingSignup.objects.update(created_at=timezone.now() - timedelta(days=31))

    assert purge_expired() == 1
    assert client.post(url).status_code == 404
    assert not Contact.objects.filter(email="ann@example.com").exists()


def test_a_recent_pending_signup_is_kept(form):
    PendingSignup.objects.create(form=form, email="a@example.com", consent_version=1, ip_hash="x")

    assert purge_expired() == 0


# --- redirect safety --------------------------------------------------------------------------------


def test_after_signing_up_the_visitor_goes_to_the_marketers_page(form, post):
    form.redirect_url = "https://shop.example.com/thanks"
    form.save()

    response = post(form, form_data(next="https://evil.example/"))

    assert response.status_code == 302 and response["Location"] == "https://shop.example.com/thanks"


@pytest.mark.parametrize("url", ["javascript:alert(1)", "//evil.example/", "/relative", "ftp://files.example/"])
def test_a_redirect_must_be_an_absolute_web_address(form, url):
    form.redirect_url = url

    with pytest.raises(ValidationError):
        form.full_clean()
