"""Mounting and authentication of the ESP webhooks under /esp/: only the configured ESP is
mounted, and only with its secret. No remote ESP is called: the tests post what the ESP
would post."""

import base64
import json

import pytest
from django.core.checks import run_checks
from django.test import override_settings

from contacts.models import Activity, Contact
from tests.factories import ContactFactory
from tests.tracking.test_esp import postmark_bounce

pytestmark = pytest.mark.django_db

SECRET = "hook:s3cret-for-tests"
SMTP = "django.core.mail.backends.smtp.EmailBackend"


def esp_backend(esp: str) -> str:
    return f"anymail.backends.{esp}.EmailBackend"


def post(client, path: str, body: str, auth: str | None = SECRET):
    headers = {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(auth.encode()).decode()} if auth else {}
    return client.post(path, data=body, content_type="application/json", **headers)


def deploy_errors() -> list:
    return [message for message in run_checks(include_deployment_checks=True) if message.id == "rapport.E001"]


def assert_untouched(contact: Contact) -> None:
    contact.refresh_from_db()
    assert contact.status == Contact.Status.SUBSCRIBED
    assert not Activity.objects.filter(contact=contact).exclude(kind=Activity.Kind.SUBSCRIBED).exists()


@pytest.mark.parametrize("esp", ["postmark", "sendgrid", "brevo"])
@override_settings(EMAIL_BACKEND=SMTP, ANYMAIL={"WEBHOOK_SECRET": SECRET})
def test_no_esp_webhook_is_mounted_when_mail_goes_out_over_smtp(client, esp):
    contact = ContactFactory()
    response = post(client, f"/esp/{esp}/tracking/", json.dumps(postmark_bounce(contact.email, 1)))
    assert response.status_code == 404
    assert_untouched(contact)


@override_settings(EMAIL_BACKEND=esp_backend("postmark"), ANYMAIL={"WEBHOOK_SECRET": SECRET})
def test_only_the_configured_esp_is_mounted(client):
    assert post(client, "/esp/sendgrid/tracking/", "[]").status_code == 404
    assert post(client, "/esp/no-such-esp/tracking/", "[]").status_code == 404


@pytest.mark.parametrize("esp", ["postmark", "sendgrid", "brevo"])
def test_a_configured_esp_without_a_secret_refuses_every_webhook(client, esp):
    contact = ContactFactory()
    with override_settings(EMAIL_BACKEND=esp_backend(esp), ANYMAIL={}):
        response = post(client, f"/esp/{esp}/tracking/", json.dumps(postmark_bounce(contact.email, 1)), auth=None)
    assert response.status_code == 403
    assert response.json() == {"error": "webhook secret not configured"}
    assert_untouched(contact)


@override_settings(EMAIL_BACKEND=esp_backend("postmark"), ANYMAIL={"WEBHOOK_SECRET": SECRET})
def test_a_webhook_with_the_wrong_basic_auth_is_refused(client):
    contact = ContactFactory()
    response = post(client, "/esp/postmark/tracking/", json.dumps(postmark_bounce(contact.email, 1)), auth="hook:guess")
    assert response.status_code == 403
    assert_untouched(contact)


@override_settings(EMAIL_BACKEND=esp_backend("mailgun"), ANYMAIL={"WEBHOOK_SECRET": SECRET})
def test_mailgun_needs_its_signing_key_even_with_basic_auth(client):
    assert post(client, "/esp/mailgun/tracking/", "{}").status_code == 403


@pytest.mark.parametrize("debug", [False, True])
def test_a_webhook_with_malformed_json_is_a_400_not_a_server_error(client, settings, debug):
    settings.DEBUG = debug
    settings.EMAIL_BACKEND = esp_backend("postmark")
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET}
    response = post(client, "/esp/postmark/tracking/", '{"RecordType": "Bounce", ')
    assert response.status_code == 400
    assert response.json() == {"error": "malformed payload"}


@override_settings(EMAIL_BACKEND=esp_backend("postmark"), ANYMAIL={"WEBHOOK_SECRET": SECRET})
def test_a_signed_webhook_of_the_configured_esp_is_processed(client):
    contact = ContactFactory()
    assert post(client, "/esp/postmark/tracking/", json.dumps(postmark_bounce(contact.email, 7))).status_code == 200
    contact.refresh_from_db()
    assert contact.status == Contact.Status.BOUNCED


@override_settings(EMAIL_BACKEND=esp_backend("postmark"), ANYMAIL={})
def test_check_deploy_reports_an_esp_without_a_webhook_secret():
    errors = deploy_errors()
    assert {error.msg.split()[3] for error in errors} == {"/esp/postmark/tracking/", "/esp/postmark/inbound/"}
    assert "ANYMAIL_WEBHOOK_SECRET" in errors[0].hint


@override_settings(EMAIL_BACKEND=esp_backend("mailgun"), ANYMAIL={"WEBHOOK_SECRET": SECRET})
def test_check_deploy_names_the_signing_key_an_esp_requires():
    hints = {error.hint for error in deploy_errors()}
    assert hints == {"Set ANYMAIL_MAILGUN_WEBHOOK_SIGNING_KEY or ANYMAIL_MAILGUN_API_KEY (see README, Security)."}


@pytest.mark.parametrize(
    "backend, anymail",
    [
        (SMTP, {}),
        (esp_backend("postmark"), {"WEBHOOK_SECRET": SECRET}),
        (esp_backend("mailgun"), {"MAILGUN_WEBHOOK_SIGNING_KEY": "k"}),
    ],
)
def test_check_deploy_is_quiet_when_every_mounted_webhook_has_a_secret(backend, anymail):
    with override_settings(EMAIL_BACKEND=backend, ANYMAIL=anymail):
        assert deploy_errors() == []
