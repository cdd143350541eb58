"""The person's own pages, from the preference centre: a copy of their data by an expiring
emailed link, and erasure after a confirmation step."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from contacts.models import Contact
from contacts.tokens import Purpose, TokenData, make_token
from privacy.models import DataExport, DataRequest
from tests.privacy.conftest import ADDRESS, archive

pytestmark = pytest.mark.django_db


def preferences_token(contact: Contact) -> str:
    return make_token(TokenData(Purpose.PREFERENCES, contact.pk))


@pytest.fixture
def smtp(smtp, settings):
    settings.SITE_URL = "https://rapport.example.com"
    return smtp


@pytest.mark.parametrize(
    "url",
    ["/p/{forged}/data/", "/p/{forged}/data/delete/", "/data/{forged}", "/p/{other_purpose}/data/"],
)
def test_a_forged_or_wrong_purpose_token_is_not_found(client, person, url):
    other_purpose = make_token(TokenData(Purpose.UNSUBSCRIBE, person.contact.pk))
    forged = preferences_token(person.contact)[:-2] + "AA"

    response = client.get(url.format(forged=forged, other_purpose=other_purpose))

    assert response.status_code == 404


def test_an_expired_download_link_is_not_found(client, person, settings, tmp_path):
    stored = DataExport.objects.create(
        contact=person.contact, file="exports/old.zip", expires_at=timezone.now() - timedelta(minutes=1)
    )
    token = make_token(TokenData(Purpose.EXPORT, person.contact.pk, message_id=stored.pk))

    assert client.get(f"/data/{token}").status_code == 404


def test_the_preference_centre_links_to_the_data_page(client, person):
    token = preferences_token(person.contact)

    page = client.get(f"/p/{token}").content.decode()

    assert f'href="/p/{token}/data/"' in page


@pytest.mark.parametrize("path", ["/p/{token}/data/", "/p/{token}/data/delete/"])
def test_the_forms_post_with_an_origin_a_browser_will_send(client, person, path):
    # Under "no-referrer" a browser posts with "Origin: null", which the CSRF check refuses.
    response = client.get(path.format(token=preferences_token(person.contact)))

    assert response["Referrer-Policy"] == "same-origin"
    assert "form-action 'self'" in response["Content-Security-Policy"]


def test_opening_the_delete_page_changes_nothing(client, person):
    response = client.get(f"/p/{preferences_token(person.contact)}/data/delete/")

    assert response.status_code == 200 and b"Yes, delete my data" in response.content
    assert Contact.objects.filter(email=ADDRESS).exists()
    assert not DataRequest.objects.exists()


def test_the_confirmation_post_erases_the_person(client, person):
    response = client.post(f"/p/{preferences_token(person.contact)}/data/delete/")

    assert b"Your data is deleted" in response.content
    assert not Contact.objects.filter(email=ADDRESS).exists()
    assert DataRequest.objects.get().channel == DataRequest.Channel.PERSON


def test_once_erased_the_persons_pages_are_gone(client, person):
    url = f"/p/{preferences_token(person.contact)}/data/delete/"
    client.post(url)

    assert client.get(url).status_code == 404


def test_send_me_my_data_emails_a_link_that_downloads_the_archive(
    client, person, smtp, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/p/{preferences_token(person.contact)}/data/")

    [message] = smtp.parsed()
    assert message["To"] == ADDRESS and message["List-Unsubscribe"] is None
    url = re.search(r"https://rapport\.example\.com(/data/\S+)", message.get_body(("plain",)).get_content())[1]
    download = client.get(url)
    assert download.status_code == 200
    assert "profile.json" in archive(b"".join(download.streaming_content))


def test_asking_twice_within_the_hour_sends_one_email(client, person, smtp, django_capture_on_commit_callbacks):
    url = f"/p/{preferences_token(person.contact)}/data/"
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url)
    with django_capture_on_commit_callbacks(execute=True):
        second = client.post(url)

    assert len(smtp.handler.messages) == 1
    assert b"within the last hour" in second.content
