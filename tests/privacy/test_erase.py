"""Erasure: nothing names the person afterwards, totals stay, and the address never comes back."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from campaigns.models import Message
from config.redis import client as redis_client
from contacts import engagement, importer
from contacts.erased import address_hash
from contacts.models import Activity, Contact, Suppression
from contacts.services import is_suppressed
from privacy.models import DataRequest
from tests.privacy.conftest import ADDRESS, FIRST, LAST, database_hits, file_hits
from tracking import buffer

pytestmark = pytest.mark.django_db


def erase() -> None:
    call_command("erase_contact", ADDRESS, "--yes", stdout=io.StringIO())


def test_erasure_without_yes_is_refused_and_changes_nothing(person):
    with pytest.raises(CommandError, match="add --yes"):
        call_command("erase_contact", ADDRESS)

    assert Contact.objects.get(pk=person.contact.pk).email == ADDRESS


def test_no_table_and_no_file_names_the_person_after_erasure(person, settings, tmp_path):
    erase()

    assert database_hits(ADDRESS, FIRST, LAST) == []
    roots = [settings.IMPORT_UPLOAD_ROOT, settings.MEDIA_ROOT, tmp_path / "log"]
    assert file_hits(roots, ADDRESS, FIRST, LAST) == []


def test_files_keep_the_lines_about_other_people(person, tmp_path):
    erase()

    assert "ann@example.org,Ann,Lee" in person.import_file.read_text()
    assert (tmp_path / "log" / "rapport.log").read_text() == "INFO drain ok\n"


def test_the_persons_events_waiting_in_redis_are_dropped_and_no_one_elses(person):
    erase()

    waiting = [json.loads(fields[b"e"])["c"] for _, fields in redis_client().xrange(buffer.STREAM)]
    assert waiting == [person.contact.pk + 1000]


def test_campaign_totals_and_history_rows_do_not_change(person):
    before = engagement.campaign_counts(person.campaign_id)
    rows = Activity.objects.filter(contact=person.contact).count()

    erase()

    assert engagement.campaign_counts(person.campaign_id) == before
    assert Activity.objects.filter(contact=person.contact).count() == rows
    assert Message.objects.get(contact=person.contact).domain == "example.com"


def test_the_click_keeps_its_link_number_and_loses_its_query_string(person):
    erase()

    click = Activity.objects.get(contact=person.contact, kind=Activity.Kind.CLICKED)
    assert (click.link_url, click.details) == ("https://shop.example.com/cart", {"link": 2})


def test_the_contact_is_left_anonymous_and_never_mailed(person):
    erase()

    contact = Contact.objects.get(pk=person.contact.pk)
    assert contact.email == f"erased-{contact.pk}@invalid" and contact.full_name == ""
    assert not Contact.objects.sendable().filter(pk=contact.pk).exists()
    assert list(contact.tags.names()) == []


def test_the_address_is_kept_only_as_a_hash_on_the_suppression_list(person):
    erase()

    assert not Suppression.objects.filter(email=ADDRESS).exists()
    assert Suppression.objects.get(email_hash=address_hash(ADDRESS)).reason == Suppression.Reason.LEGAL
    assert is_suppressed(ADDRESS.upper())


def test_a_later_import_does_not_bring_the_person_back(person, tmp_path):
    erase()
    upload = tmp_path / "again.csv"
    upload.write_text(f"email,first_name\n{ADDRESS},{FIRST}\nnew@example.org,New\n")

    summary = importer.import_file(upload, check_dns=False)

    assert summary.created == 1 and summary.errors[0]["email"] == ""
    assert not Contact.objects.filter(email=ADDRESS).exists()


def test_the_audit_row_holds_no_personal_data(person):
    erase()

    request = DataRequest.objects.get()
    recorded = json.dumps([request.kind, request.channel, request.contact_id, request.rows, str(request)])
    for personal in (ADDRESS, FIRST, LAST, address_hash(ADDRESS), "203.0.113.9", "Lyon"):
        assert personal.lower() not in recorded.lower()
    assert request.rows["contacts.activity"] == 4


def test_the_admin_erases_only_after_the_confirmation_post(client, marketer, person):
    client.force_login(marketer)
    url = reverse("privacy_admin:erase", args=[person.contact.pk])

    page = client.get(url)
    assert page.status_code == 200 and Contact.objects.filter(email=ADDRESS).exists()

    client.post(url)
    assert not Contact.objects.filter(email=ADDRESS).exists()
    assert DataRequest.objects.get().requested_by == marketer


def test_the_admin_form_refuses_an_erased_address(person):
    erase()
    form_class = Contact.snippet_viewset.get_form_class()

    form = form_class(data={"email": ADDRESS, "source": "manual"})

    assert "erased at their request" in " ".join(form.errors.get("email", []))
