"""The contacts admin: role permissions, listing, filters, bulk actions, import, export, segments."""

import csv
import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import load_workbook

from contacts.models import Activity, Contact, CustomField, ImportJob, Subscription, Suppression
from tests.factories import (
    ActivityFactory,
    ContactFactory,
    MailingListFactory,
    SegmentFactory,
    SubscriptionFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db
CONTACTS = "wagtailsnippets_contacts_contact"


def refused(response) -> bool:
    """Wagtail answers a permission failure with 403, or with a redirect to the dashboard and a message."""
    return response.status_code == 403 or (response.status_code == 302 and response["Location"] in ("/admin/",))


def client_for(client, user):
    client.force_login(user)
    return client


def edit_data(contact: Contact, **changes) -> dict:
    fields = ["first_name", "last_name", "company", "job_title", "phone", "industry", "region", "city", "country"]
    data = {name: getattr(contact, name) for name in [*fields, "language", "time_zone", "customer_type", "notes"]}
    return {**data, **changes}


# --- Permissions ----------------------------------------------------------------------------------------


def test_staff_without_a_role_cannot_see_contacts(client):
    response = client_for(client, UserFactory(username="nobody", is_staff=True)).get(reverse(f"{CONTACTS}:list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("wagtailadmin_login"))


def test_sales_cannot_edit_a_contact_someone_else_owns(client, salesperson):
    contact = ContactFactory(owner=UserFactory(username="other"))
    response = client_for(client, salesperson).post(
        reverse(f"{CONTACTS}:edit", args=[contact.pk]), edit_data(contact, first_name="Hacked")
    )
    assert refused(response)
    assert Contact.objects.get(pk=contact.pk).first_name != "Hacked"


def test_sales_cannot_add_a_note_to_a_contact_someone_else_owns(client, salesperson):
    contact = ContactFactory()
    response = client_for(client, salesperson).post(
        reverse("contacts_admin:add_note", args=[contact.pk]), {"text": "x"}
    )
    assert refused(response)
    assert not Activity.objects.exists()


def test_sales_cannot_open_lists_or_imports(client, salesperson):
    client = client_for(client, salesperson)
    assert refused(client.get(reverse("wagtailsnippets_contacts_mailinglist:list")))
    assert refused(client.get(reverse("wagtailsnippets_contacts_importjob:add")))


@pytest.mark.parametrize(
    ("action", "refusal"),
    [
        ("unsubscribe", "You are not allowed to change these contacts"),
        ("tag", "You are not allowed to change these contacts"),
        ("add_to_list", "You are not allowed to change these contacts"),
        ("delete", "have permission to delete this contact"),
    ],
)
def test_sales_cannot_run_bulk_actions(client, salesperson, action, refusal):
    """The confirmation names the contacts as not theirs to change, and confirming changes nothing."""
    contact = ContactFactory(owner=salesperson)
    client = client_for(client, salesperson)
    page = client.get(bulk_url(action, contact)).content.decode()
    refusal = page.split(refusal, 1)
    assert len(refusal) == 2 and contact.email in refusal[1]
    client.post(bulk_url(action, contact), {"tag": "fair-2026", "mailing_list": MailingListFactory().pk})
    contact = Contact.objects.get(pk=contact.pk)
    assert (contact.status, list(contact.tags.names()), contact.subscriptions.count()) == (
        Contact.Status.SUBSCRIBED,
        [],
        0,
    )


def test_sales_edit_of_own_contact_changes_only_profile_fields(client, salesperson):
    contact = ContactFactory(owner=salesperson, email="ann@example.com", grade="B")
    data = edit_data(contact, first_name="Annie", notes="Met at the fair", email="evil@example.com", grade="A")
    data["status"] = "unsubscribed"
    response = client_for(client, salesperson).post(reverse(f"{CONTACTS}:edit", args=[contact.pk]), data)
    assert response.status_code == 302, response.context["form"].errors
    contact.refresh_from_db()
    assert (contact.first_name, contact.notes) == ("Annie", "Met at the fair")
    assert (contact.email, contact.grade, contact.status) == ("ann@example.com", "B", Contact.Status.SUBSCRIBED)
    assert contact.activities.get().kind == Activity.Kind.PROFILE


def test_sales_sees_any_contact_page_with_its_history(client, salesperson):
    contact = ContactFactory()
    ActivityFactory(contact=contact, kind=Activity.Kind.NOTE, details={"text": "Called about renewal"})
    response = client_for(client, salesperson).get(reverse(f"{CONTACTS}:inspect", args=[contact.pk]))
    assert response.status_code == 200
    assert "Called about renewal" in response.content.decode()


def test_sales_adds_a_note_to_own_contact(client, salesperson):
    contact = ContactFactory(owner=salesperson)
    client_for(client, salesperson).post(
        reverse("contacts_admin:add_note", args=[contact.pk]), {"text": "Wants a demo"}
    )
    note = contact.activities.get()
    assert (note.kind, note.details["text"], note.created_by) == (Activity.Kind.NOTE, "Wants a demo", salesperson)


def test_marketer_edits_any_contact_including_grade_and_owner(client, marketer, salesperson):
    contact = ContactFactory(email="ann@example.com", owner=None)
    data = {**edit_data(contact), "email": "ann@example.com", "grade": "A", "source": "manual"}
    data.update({"owner": salesperson.pk, "tags": "vip", "custom_fields": "{}"})
    response = client_for(client, marketer).post(reverse(f"{CONTACTS}:edit", args=[contact.pk]), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    contact.refresh_from_db()
    assert (contact.grade, contact.owner, list(contact.tags.names())) == ("A", salesperson, ["vip"])


def test_marketer_cannot_create_a_contact_with_a_misspelt_address(client, marketer):
    data = {**edit_data(Contact()), "email": "ann@gmial.com", "source": "manual", "custom_fields": "{}", "tags": ""}
    response = client_for(client, marketer).post(reverse(f"{CONTACTS}:add"), data)
    assert "Did you mean ann@gmail.com?" in response.content.decode()
    assert not Contact.objects.exists()


# --- Listing ---------------------------------------------------------------------------------------------


def test_contact_listing_query_count_does_not_grow_with_rows(client, marketer, django_assert_max_num_queries):
    for number in range(40):
        ContactFactory(email=f"p{number}@example.com", owner=marketer)
    with django_assert_max_num_queries(30):
        assert client_for(client, marketer).get(reverse(f"{CONTACTS}:list")).status_code == 200


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=unsubscribed", {"bob@example.com"}),
        ("grade=A", {"ann@example.com"}),
        ("tag=vip", {"ann@example.com"}),
        ("industry=retail", {"ann@example.com"}),
        ("region=ontario", {"bob@example.com"}),
        ("standing=at_risk", {"bob@example.com"}),
        ("q=globex", {"bob@example.com"}),
    ],
)
def test_contact_listing_filters(client, marketer, query, expected):
    ContactFactory(email="ann@example.com", grade="A", industry="Retail", company="Acme").tags.add("vip")
    ContactFactory(
        email="bob@example.com",
        status=Contact.Status.UNSUBSCRIBED,
        region="Ontario",
        standing=Contact.Standing.AT_RISK,
        company="Globex",
    )
    response = client_for(client, marketer).get(reverse(f"{CONTACTS}:list") + "?" + query)
    listed = {contact.email for contact in response.context["object_list"]}
    assert listed == expected


def test_contact_listing_filters_by_list_and_owner(client, marketer, salesperson):
    mailing_list = MailingListFactory()
    SubscriptionFactory(contact=ContactFactory(email="ann@example.com"), mailing_list=mailing_list)
    ContactFactory(email="bob@example.com", owner=salesperson)
    client = client_for(client, marketer)
    by_list = client.get(reverse(f"{CONTACTS}:list") + f"?mailing_list={mailing_list.pk}")
    by_owner = client.get(reverse(f"{CONTACTS}:list") + f"?owner={salesperson.pk}")
    assert [contact.email for contact in by_list.context["object_list"]] == ["ann@example.com"]
    assert [contact.email for contact in by_owner.context["object_list"]] == ["bob@example.com"]


# --- Bulk actions -------------------------------------------------------------------------------------------


def bulk_url(action: str, *contacts: Contact) -> str:
    """Done, a bulk action returns to the contact listing (``next``); refused, it never does."""
    ids = "&".join(f"id={contact.pk}" for contact in contacts)
    listing = reverse(f"{CONTACTS}:list")
    return reverse("wagtail_bulk_action", args=["contacts", "contact", action]) + f"?next={listing}&{ids}"


def test_bulk_add_to_list_skips_unsubscribed_contacts(client, marketer):
    mailing_list = MailingListFactory()
    keen, gone = ContactFactory(), ContactFactory(status=Contact.Status.UNSUBSCRIBED)
    client_for(client, marketer).post(bulk_url("add_to_list", keen, gone), {"mailing_list": mailing_list.pk})
    assert list(Subscription.objects.values_list("contact_id", flat=True)) == [keen.pk]


def test_bulk_tag_and_unsubscribe(client, marketer):
    ann, bob = ContactFactory(), ContactFactory()
    client = client_for(client, marketer)
    client.post(bulk_url("tag", ann, bob), {"tag": "fair-2026"})
    client.post(bulk_url("unsubscribe", bob))
    assert set(Contact.objects.filter(tags__name="fair-2026").values_list("pk", flat=True)) == {ann.pk, bob.pk}
    assert Contact.objects.get(pk=bob.pk).status == Contact.Status.UNSUBSCRIBED


def test_bulk_delete(client, marketer):
    contact = ContactFactory()
    client_for(client, marketer).post(bulk_url("delete", contact))
    assert not Contact.objects.exists()


# --- Import, export, segments, re-validation ------------------------------------------------------------------


def test_import_upload_map_run_and_error_report(
    client, marketer, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.IMPORT_UPLOAD_ROOT = tmp_path
    client = client_for(client, marketer)
    upload = SimpleUploadedFile("people.csv", b"Courriel,Nom\nann@example.com,Ann\n=bad,X\n", content_type="text/csv")
    response = client.post(reverse("wagtailsnippets_contacts_importjob:add"), {"file": upload, "check_dns": ""})
    job = ImportJob.objects.get()
    assert response["Location"] == reverse("contacts_admin:import_map", args=[job.pk])
    assert "ann@example.com" in client.get(response["Location"]).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(response["Location"], {"column_0": "email", "column_1": "first_name"})
    job.refresh_from_db()
    assert (job.status, job.rows_total, job.created, len(job.errors)) == (ImportJob.Status.DONE, 2, 1, 1)
    assert Contact.objects.get().first_name == "Ann"
    progress = client.get(reverse("wagtailsnippets_contacts_importjob:inspect", args=[job.pk])).content.decode()
    assert "Download the error report" in progress
    report = client.get(reverse("contacts_admin:import_errors", args=[job.pk]))
    rows = list(csv.reader(io.StringIO(b"".join(report.streaming_content).decode().lstrip("\ufeff"))))
    assert rows[1][:2] == ["3", "'=bad"]


def test_import_mapping_needs_an_email_column(client, marketer, settings, tmp_path):
    settings.IMPORT_UPLOAD_ROOT = tmp_path
    client = client_for(client, marketer)
    upload = SimpleUploadedFile("people.csv", b"a,b\nann@example.com,Ann\n", content_type="text/csv")
    client.post(reverse("wagtailsnippets_contacts_importjob:add"), {"file": upload})
    job = ImportJob.objects.get()
    response = client.post(reverse("contacts_admin:import_map", args=[job.pk]), {"column_1": "first_name"})
    assert "Map exactly one column to email." in response.content.decode()
    assert ImportJob.objects.get().status == ImportJob.Status.DRAFT


def test_export_needs_the_export_permission(client, salesperson):
    mailing_list = MailingListFactory()
    response = client_for(client, salesperson).get(reverse("contacts_admin:export", args=["list", mailing_list.pk]))
    assert refused(response)


def test_list_export_downloads_members_with_formulas_neutralised(client, marketer):
    mailing_list = MailingListFactory()
    SubscriptionFactory(mailing_list=mailing_list, contact=ContactFactory(email="ann@example.com", company="=1+1"))
    SubscriptionFactory(mailing_list=mailing_list, status=Subscription.Status.UNSUBSCRIBED)
    response = client_for(client, marketer).post(
        reverse("contacts_admin:export", args=["list", mailing_list.pk]),
        {"columns": ["email", "company"], "format": "csv"},
    )
    body = b"".join(response.streaming_content).decode().lstrip("\ufeff")
    assert list(csv.reader(io.StringIO(body))) == [["email", "company"], ["ann@example.com", "'=1+1"]]


def test_segment_live_count(client, marketer):
    ContactFactory(industry="Retail")
    ContactFactory(industry="Finance")
    rules = {"match": "all", "rules": [{"field": "industry", "op": "equals", "value": "Retail"}]}
    response = client_for(client, marketer).post(
        reverse("contacts_admin:segment_count"), json.dumps(rules), content_type="application/json"
    )
    assert response.json() == {"count": 1}


def test_segment_live_count_reports_bad_rules(client, marketer):
    response = client_for(client, marketer).post(
        reverse("contacts_admin:segment_count"),
        json.dumps({"rules": [{"field": "nope"}]}),
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "unknown field" in response.json()["error"]


def test_segment_edit_page_shows_the_count_and_refuses_bad_rules(client, marketer):
    segment = SegmentFactory(rules={"match": "all", "rules": []})
    client = client_for(client, marketer)
    url = reverse("wagtailsnippets_contacts_segment:edit", args=[segment.pk])
    assert 'id="segment-count"' in client.get(url).content.decode()
    response = client.post(url, {"name": "x", "description": "", "rules": '{"match": "most"}'})
    assert "Invalid rules" in response.content.decode()


def test_revalidate_list_cleans_bad_addresses_in_the_background(
    client, marketer, dns_stub, django_capture_on_commit_callbacks
):
    mailing_list = MailingListFactory()
    dead = SubscriptionFactory(mailing_list=mailing_list, contact=ContactFactory(email="a@gone.example.net")).contact
    with django_capture_on_commit_callbacks(execute=True):
        client_for(client, marketer).post(reverse("contacts_admin:revalidate_list", args=[mailing_list.pk]))
    assert Contact.objects.get(pk=dead.pk).status == Contact.Status.CLEANED


def test_contact_listing_filters_by_custom_field(client, marketer):
    ContactFactory(email="ann@example.com", custom_fields={"plan": "pro"})
    ContactFactory(email="bob@example.com", custom_fields={"plan": "free"})
    response = client_for(client, marketer).get(reverse(f"{CONTACTS}:list") + "?custom=plan%3Dpro")
    assert [contact.email for contact in response.context["object_list"]] == ["ann@example.com"]


def test_interrupted_import_can_be_run_again(client, marketer, settings, tmp_path, django_capture_on_commit_callbacks):
    settings.IMPORT_UPLOAD_ROOT = tmp_path
    job = ImportJob(original_name="p.csv", check_dns=False, status=ImportJob.Status.RUNNING, mapping={"email": "email"})
    job.file.save("p.csv", SimpleUploadedFile("p.csv", b"email\nann@example.com\n"), save=False)
    job.save()
    with django_capture_on_commit_callbacks(execute=True):
        client_for(client, marketer).post(reverse("contacts_admin:import_retry", args=[job.pk]))
    job.refresh_from_db()
    assert (job.status, job.created) == (ImportJob.Status.DONE, 1)


def test_every_contacts_admin_page_renders_for_a_marketer(client, marketer, settings, tmp_path):
    settings.IMPORT_UPLOAD_ROOT = tmp_path
    contact = ContactFactory()
    mailing_list, segment = MailingListFactory(), SegmentFactory()
    job = ImportJob(original_name="p.csv", errors=[{"row": 2, "email": "x", "reason": "invalid_syntax"}])
    job.file.save("p.csv", SimpleUploadedFile("p.csv", b"email\nann@example.com\n"), save=False)
    job.save()
    urls = [
        reverse(f"{CONTACTS}:list"),
        reverse(f"{CONTACTS}:add"),
        reverse(f"{CONTACTS}:edit", args=[contact.pk]),
        reverse(f"{CONTACTS}:inspect", args=[contact.pk]),
        reverse("wagtailsnippets_contacts_mailinglist:list"),
        reverse("wagtailsnippets_contacts_mailinglist:edit", args=[mailing_list.pk]),
        reverse("wagtailsnippets_contacts_segment:add"),
        reverse("wagtailsnippets_contacts_suppression:add"),
        reverse("wagtailsnippets_contacts_customfield:list"),
        reverse("wagtailsnippets_contacts_importjob:list"),
        reverse("wagtailsnippets_contacts_importjob:inspect", args=[job.pk]),
        reverse("contacts_admin:import_map", args=[job.pk]),
        reverse("contacts_admin:export", args=["segment", segment.pk]),
        reverse("contacts_admin:revalidate_list", args=[mailing_list.pk]),
        bulk_url("add_to_list", contact),
        bulk_url("tag", contact),
        bulk_url("unsubscribe", contact),
    ]
    client = client_for(client, marketer)
    assert {url: client.get(url).status_code for url in urls} == dict.fromkeys(urls, 200)


def test_marketer_adds_a_domain_suppression_through_the_service(client, marketer):
    client_for(client, marketer).post(
        reverse("wagtailsnippets_contacts_suppression:add"),
        {"email": "", "domain": "@Blocked.example.org", "reason": "manual", "note": ""},
    )
    assert list(Suppression.objects.values_list("domain", "source")) == [("blocked.example.org", "admin")]


def test_export_form_offers_the_fields_to_choose(client, marketer):
    CustomField.objects.create(key="plan", label="Plan")
    response = client_for(client, marketer).get(reverse("contacts_admin:export", args=["segment", SegmentFactory().pk]))
    page = response.content.decode()
    assert 'name="columns" value="email"' in page
    assert 'value="custom.plan"' in page


def test_segment_export_as_xlsx(client, marketer):
    ContactFactory(email="ann@example.com", industry="Retail", first_name="+cmd")
    ContactFactory(email="bob@example.com", industry="Finance")
    segment = SegmentFactory(
        rules={"match": "all", "rules": [{"field": "industry", "op": "equals", "value": "Retail"}]}
    )
    response = client_for(client, marketer).post(
        reverse("contacts_admin:export", args=["segment", segment.pk]),
        {"columns": ["email", "first_name"], "format": "xlsx"},
    )
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    assert [[cell.value for cell in row] for row in sheet.iter_rows()] == [
        ["email", "first_name"],
        ["ann@example.com", "'+cmd"],
    ]
