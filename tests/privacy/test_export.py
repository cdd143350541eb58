"""A person's data as one archive: every table that names them, as JSON and CSV."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from contacts.models import Activity
from contacts.roles import ensure_groups
from privacy.models import DataRequest
from tests.contacts.test_roles import allowed
from tests.factories import ContactFactory, UserFactory
from tests.privacy.conftest import ADDRESS, FIRST, LAST, archive, table

pytestmark = pytest.mark.django_db


def export_file(tmp_path, email: str = ADDRESS) -> dict[str, bytes]:
    out = tmp_path / "out.zip"
    call_command("export_contact", email, "--out", str(out))
    return archive(out.read_bytes())


def test_an_unknown_address_is_refused_with_a_reason(tmp_path):
    with pytest.raises(CommandError, match=r"no contact with the address nobody@example\.com"):
        call_command("export_contact", "nobody@example.com", "--out", str(tmp_path / "out.zip"))


def test_the_archive_holds_profile_consents_lists_history_messages_notes_and_tasks(person, tmp_path):
    files = export_file(tmp_path)

    [profile] = table(files, "profile")
    assert (profile["email"], profile["first_name"], profile["tags"]) == (ADDRESS, FIRST, "zebulons-friends")
    assert profile["custom_fields"] == {"nickname": "Zeb the great"}
    assert table(files, "consents")[0]["ip"] == "203.0.113.9"
    assert len(table(files, "subscriptions")) == 1
    assert {row["kind"] for row in table(files, "history")} >= {"sent", "clicked", "note", "profile"}
    assert table(files, "messages")[0]["campaign_id"] == person.campaign_id
    assert [row["text"] for row in table(files, "notes")] == [
        f"{FIRST} prefers calls",
        f"Met {FIRST} {LAST} at the fair",
    ]
    assert table(files, "tasks")[0]["title"] == f"Call {FIRST}"
    for name in ("profile", "consents", "subscriptions", "history", "messages", "notes", "tasks"):
        assert f"{name}.csv" in files


def test_tables_of_other_apps_are_found_by_their_foreign_key_to_the_contact(person, tmp_path):
    files = export_file(tmp_path)

    assert table(files, "tracking_returnedmail")[0]["recipients"] == [ADDRESS]


def test_csv_cells_cannot_run_as_spreadsheet_formulas(tmp_path):
    ContactFactory(email="eve@example.com", first_name='=HYPERLINK("http://evil.example")')

    profile_csv = export_file(tmp_path, "eve@example.com")["profile.csv"].decode("utf-8-sig")

    assert "'=HYPERLINK" in profile_csv


def test_sales_cannot_download_a_persons_data(client, person):
    ensure_groups()
    client.force_login(UserFactory(username="sales", groups=["Sales"]))

    response = client.get(reverse("privacy_admin:download", args=[person.contact.pk]))

    assert not allowed(response)
    assert not DataRequest.objects.exists()


def test_a_marketer_downloads_the_archive_and_the_request_is_recorded(client, marketer, person):
    client.force_login(marketer)

    response = client.get(reverse("privacy_admin:download", args=[person.contact.pk]))

    files = archive(b"".join(response.streaming_content))
    assert response["Content-Type"] == "application/zip" and "history.json" in files
    request = DataRequest.objects.get()
    assert (request.kind, request.channel, request.requested_by) == ("export", "admin", marketer)
    assert request.rows["contacts.activity"] == 4
    assert Activity.objects.filter(contact=person.contact, kind=Activity.Kind.EXPORTED).count() == 1


@pytest.mark.parametrize(("role", "shown"), [("Marketers", True), ("Sales", False)])
def test_the_contact_page_offers_export_and_erasure_to_marketers_only(client, person, role, shown):
    ensure_groups()
    client.force_login(UserFactory(username=role.lower(), groups=[role]))

    page = client.get(reverse("wagtailsnippets_contacts_contact:inspect", args=[person.contact.pk])).content.decode()

    assert (reverse("privacy_admin:download", args=[person.contact.pk]) in page) is shown
    assert (reverse("privacy_admin:erase", args=[person.contact.pk]) in page) is shown
