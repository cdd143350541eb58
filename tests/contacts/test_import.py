"""Contact import: file formats, every error path, dedupe, status protection and re-run safety."""

import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from openpyxl import Workbook

from contacts.importer import ImportFileError, import_file
from contacts.models import Activity, Contact, CustomField, Subscription
from contacts.services import suppress
from tests.factories import ContactFactory, MailingListFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db


def write(tmp_path: Path, text: str, encoding: str = "utf-8", name: str = "contacts.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


# --- Whole-file errors --------------------------------------------------------------------


def test_file_without_an_email_column_is_refused(tmp_path):
    with pytest.raises(ImportFileError, match="no email column"):
        import_file(write(tmp_path, "name,phone\nAnn,123\n"), check_dns=False)


def test_binary_file_is_refused_as_unreadable(tmp_path):
    path = tmp_path / "photo.csv"
    path.write_bytes(bytes(range(256)) * 40)
    with pytest.raises(ImportFileError, match="cannot read the file as text"):
        import_file(path, check_dns=False)


def test_file_that_changes_encoding_midway_stops_with_the_line_number(tmp_path):
    good = "".join(f"p{n}@example.com\n" for n in range(5000))
    path = tmp_path / "mixed.csv"
    path.write_bytes(("email\n" + good).encode() + b"caf\xe9@example.com\n")
    with pytest.raises(ImportFileError, match="line 5002 is not valid utf-8"):
        import_file(path, check_dns=False)


def test_file_over_the_size_limit_is_refused(tmp_path, settings):
    settings.CONTACTS_IMPORT_MAX_BYTES = 1024
    path = write(tmp_path, "email\n" + "".join(f"p{n}@example.com\n" for n in range(200)))
    with pytest.raises(ImportFileError, match="file too large"):
        import_file(path, check_dns=False)
    assert not Contact.objects.exists()


def test_broken_xlsx_is_refused(tmp_path):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"PK\x03\x04" + b"not really a zip")
    with pytest.raises(ImportFileError, match="not a readable XLSX"):
        import_file(path, check_dns=False)


def test_command_exits_non_zero_with_the_reason(tmp_path):
    with pytest.raises(CommandError, match="no email column"):
        call_command("import_contacts", str(write(tmp_path, "name\nAnn\n")), "--no-dns", "--json")


def test_command_refuses_an_unknown_list(tmp_path):
    with pytest.raises(CommandError, match="no mailing list with slug 'nope'"):
        call_command("import_contacts", str(write(tmp_path, "email\na@example.com\n")), "--list", "nope")


# --- Row errors --------------------------------------------------------------------------------


def test_bad_rows_are_reported_with_row_number_address_and_reason_and_good_rows_still_import(tmp_path):
    path = write(
        tmp_path,
        "email,first_name\nann@example.com,Ann\nnot-an-address,X\n,NoMail\nbob@gmial.com,Bob\n"
        "temp@mailinator.com,T\ncy@example.com,Cy\n",
    )
    summary = import_file(path, check_dns=False)
    assert [(error["row"], error["email"]) for error in summary.errors] == [
        (3, "not-an-address"),
        (4, ""),
        (5, "bob@gmial.com"),
        (6, "temp@mailinator.com"),
    ]
    assert summary.errors[0]["reason"].startswith("invalid_syntax")
    assert summary.errors[1]["reason"] == "no email address"
    assert summary.errors[2]["reason"] == "typo: did you mean bob@gmail.com?"
    assert summary.errors[3]["reason"] == "disposable"
    assert set(Contact.objects.values_list("email", flat=True)) == {"ann@example.com", "cy@example.com"}


def test_row_with_more_fields_than_the_header_is_reported_as_malformed(tmp_path):
    path = write(
        tmp_path, "email,first_name\nann@example.com,Ann\nbob@example.com,Bob,extra,cells\ncy@example.com,Cy\n"
    )
    summary = import_file(path, check_dns=False)
    assert summary.errors == [{"row": 3, "email": "", "reason": "malformed row: 4 fields, the header has 2"}]
    assert summary.created == 2


def test_oversized_field_is_reported_and_the_rows_after_it_still_import(tmp_path):
    path = write(tmp_path, f'email,first_name\nann@example.com,"{"x" * 200_000}"\ncy@example.com,Cy\n')
    summary = import_file(path, check_dns=False)
    assert summary.errors[0]["row"] == 2
    assert "field larger than field limit" in summary.errors[0]["reason"]
    assert list(Contact.objects.values_list("email", flat=True)) == ["cy@example.com"]


def test_bad_grade_and_bad_typed_custom_value_are_row_errors(tmp_path):
    CustomField.objects.create(key="seats", label="Seats", kind=CustomField.Kind.NUMBER)
    path = write(tmp_path, "email,grade,seats\nann@example.com,Z,1\nbob@example.com,A,many\n")
    summary = import_file(path, check_dns=False)
    assert [error["reason"] for error in summary.errors] == [
        "grade must be one of A, B, C",
        "custom field seats: not a number: 'many'",
    ]


def test_domains_that_do_not_exist_are_rejected_and_slow_ones_kept_unverified(tmp_path, dns_stub):
    path = write(tmp_path, "email\nann@example.com\nbob@no-such-domain.example.net\ncy@slow.example.net\n")
    summary = import_file(path)
    assert summary.errors == [{"row": 3, "email": "bob@no-such-domain.example.net", "reason": "no_such_domain"}]
    assert dict(Contact.objects.values_list("email", "verification")) == {
        "ann@example.com": Contact.Verification.VERIFIED,
        "cy@slow.example.net": Contact.Verification.UNVERIFIED,
    }


# --- Formats ---------------------------------------------------------------------------------------


def test_gb18030_file_with_chinese_headers_is_read(tmp_path):
    path = write(tmp_path, "邮箱,公司,城市\nzhang@example.com,华为,深圳\n", encoding="gb18030")
    import_file(path, check_dns=False)
    assert Contact.objects.values_list("company", "city").get(email="zhang@example.com") == ("华为", "深圳")


def test_latin1_file_is_read(tmp_path):
    path = write(tmp_path, "email,first_name,last_name\njose@example.com,José,Müller\n", encoding="latin-1")
    import_file(path, check_dns=False)
    assert Contact.objects.get().full_name == "José Müller"


def test_utf8_bom_and_semicolons_are_handled(tmp_path):
    path = write(tmp_path, "\ufeffE-mail;First Name\nann@example.com;Ann\n")
    import_file(path, check_dns=False)
    assert Contact.objects.values_list("email", "first_name").get() == ("ann@example.com", "Ann")


def test_tab_separated_file_is_handled(tmp_path):
    import_file(write(tmp_path, "email\tcity\nann@example.com\tLyon\n"), check_dns=False)
    assert Contact.objects.get().city == "Lyon"


def test_xlsx_file_is_read_with_typed_cells(tmp_path):
    CustomField.objects.create(key="renewal", label="Renewal", kind=CustomField.Kind.DATE)
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Email", "Phone", "renewal"])
    sheet.append(["Ann@Example.com", 5551234, __import__("datetime").datetime(2027, 3, 1)])
    path = tmp_path / "contacts.xlsx"
    workbook.save(path)
    summary = import_file(path, check_dns=False)
    contact = Contact.objects.get()
    assert (summary.created, contact.email, contact.phone) == (1, "ann@example.com", "5551234")
    assert contact.custom_fields == {"renewal": "2027-03-01"}


# --- Dedupe, updates, re-runs ---------------------------------------------------------------------


def test_duplicates_inside_the_file_are_merged_into_one_contact(tmp_path):
    path = write(tmp_path, "email,first_name,city,tags\nann@example.com,Ann,,vip\nANN@example.com,,Paris,lead\n")
    summary = import_file(path, check_dns=False)
    contact = Contact.objects.get()
    assert (summary.created, summary.skipped) == (1, 1)
    assert (contact.first_name, contact.city, set(contact.tags.names())) == ("Ann", "Paris", {"vip", "lead"})


def test_duplicates_in_different_chunks_are_merged_too(tmp_path):
    path = write(tmp_path, "email,city\nann@example.com,Paris\nbob@example.com,\nann@example.com,Lyon\n")
    summary = import_file(path, check_dns=False, chunk_size=2)
    assert (summary.created, summary.updated, summary.skipped) == (2, 0, 1)
    assert Contact.objects.get(email="ann@example.com").city == "Lyon"


def test_existing_contact_is_updated_and_blank_cells_keep_what_we_know(tmp_path):
    ContactFactory(email="ann@example.com", first_name="Ann", company="Acme")
    summary = import_file(write(tmp_path, "email,first_name,company\nAnn@example.com,,Globex\n"), check_dns=False)
    contact = Contact.objects.get()
    assert (summary.created, summary.updated) == (0, 1)
    assert (contact.first_name, contact.company) == ("Ann", "Globex")


def test_rerun_creates_no_duplicates(tmp_path):
    mailing_list = MailingListFactory()
    path = write(tmp_path, "email,tags\nann@example.com,vip\nbob@example.com,vip\n")
    import_file(path, check_dns=False, mailing_list=mailing_list)
    again = import_file(path, check_dns=False, mailing_list=mailing_list)
    assert (again.created, again.updated, again.unchanged, again.skipped) == (0, 0, 2, 2)
    assert Contact.objects.count() == 2
    assert Subscription.objects.count() == 2
    assert Contact.objects.get(email="ann@example.com").tags.count() == 1


def test_import_interrupted_after_a_chunk_completes_cleanly_when_rerun(tmp_path):
    path = write(tmp_path, "email\n" + "".join(f"p{n}@example.com\n" for n in range(10)))

    def crash(summary):
        raise RuntimeError("worker killed")

    with pytest.raises(RuntimeError):
        import_file(path, check_dns=False, chunk_size=4, on_progress=crash)
    assert Contact.objects.count() == 4
    summary = import_file(path, check_dns=False, chunk_size=4)
    assert (summary.created, summary.unchanged, Contact.objects.count()) == (6, 4, 10)


def test_counts_add_up_to_the_rows(tmp_path):
    path = write(tmp_path, "email\nann@example.com\n\nann@example.com\nbad\nbob@example.com\n")
    summary = import_file(path, check_dns=False)
    assert summary.created + summary.updated + summary.skipped + len(summary.errors) == summary.rows == 5


# --- Lists and status -----------------------------------------------------------------------------


def test_unsubscribed_contact_is_not_resubscribed_by_an_import(tmp_path):
    mailing_list = MailingListFactory()
    contact = ContactFactory(email="ann@example.com", status=Contact.Status.UNSUBSCRIBED)
    SubscriptionFactory(contact=contact, mailing_list=mailing_list, status=Subscription.Status.UNSUBSCRIBED)
    import_file(write(tmp_path, "email\nann@example.com\n"), check_dns=False, mailing_list=mailing_list)
    contact.refresh_from_db()
    assert contact.status == Contact.Status.UNSUBSCRIBED
    assert Subscription.objects.get().status == Subscription.Status.UNSUBSCRIBED


def test_unsubscribed_contact_is_not_added_to_a_new_list(tmp_path):
    ContactFactory(email="ann@example.com", status=Contact.Status.UNSUBSCRIBED)
    import_file(write(tmp_path, "email\nann@example.com\n"), check_dns=False, mailing_list=MailingListFactory())
    assert not Subscription.objects.exists()


def test_suppressed_address_and_domain_are_not_added_to_the_list(tmp_path):
    suppress(email="ann@example.com")
    suppress(domain="blocked.example.org")
    path = write(tmp_path, "email\nann@example.com\nbob@blocked.example.org\ncy@example.com\n")
    import_file(path, check_dns=False, mailing_list=MailingListFactory())
    assert list(Subscription.objects.values_list("contact__email", flat=True)) == ["cy@example.com"]


def test_double_opt_in_list_gets_pending_subscriptions(tmp_path):
    mailing_list = MailingListFactory(double_opt_in=True)
    import_file(write(tmp_path, "email\nann@example.com\n"), check_dns=False, mailing_list=mailing_list)
    assert Subscription.objects.get().status == Subscription.Status.PENDING


def test_new_contacts_record_import_consent_and_history(tmp_path):
    import_file(write(tmp_path, "email\nann@example.com\n"), check_dns=False)
    contact = Contact.objects.get()
    assert (contact.source, contact.consent_method, contact.email_domain) == ("import", "import", "example.com")
    assert contact.activities.get().kind == "imported"


def test_command_json_prints_the_summary(tmp_path, capsys):
    mailing_list = MailingListFactory(slug="news")
    path = write(tmp_path, "email\nann@example.com\nbad\n")
    call_command("import_contacts", str(path), "--list", "news", "--no-dns", "--json")
    assert json.loads(capsys.readouterr().out) == {
        "rows": 2,
        "created": 1,
        "updated": 0,
        "skipped": 0,
        "errors": [{"row": 3, "email": "bad", "reason": "invalid_syntax: An email address must have an @-sign."}],
        "duplicates": 0,
        "unchanged": 0,
        "error_count": 1,
    }
    assert mailing_list.subscriptions.count() == 1


def test_rerun_of_an_unchanged_file_reports_every_row_unchanged_not_updated(tmp_path):
    path = write(tmp_path, "email,city,tags\nann@example.com,Paris,vip\nbob@example.com,Lyon,\n")
    import_file(path, check_dns=False)
    again = import_file(path, check_dns=False)
    assert (again.updated, again.unchanged, again.skipped, again.duplicates) == (0, 2, 2, 0)


def test_rerun_that_only_adds_a_tag_counts_the_contact_updated(tmp_path):
    import_file(write(tmp_path, "email,tags\nann@example.com,\n"), check_dns=False)
    summary = import_file(write(tmp_path, "email,tags\nann@example.com,vip\n"), check_dns=False)
    assert (summary.updated, summary.unchanged) == (1, 0)


def test_duplicates_inside_the_file_are_counted_apart_from_unchanged_contacts(tmp_path):
    ContactFactory(email="cy@example.com")
    path = write(tmp_path, "email\nann@example.com\nANN@example.com\ncy@example.com\n\n")
    summary = import_file(path, check_dns=False)
    assert (summary.created, summary.duplicates, summary.unchanged, summary.skipped) == (1, 1, 1, 3)


def test_rerun_of_an_unchanged_file_adds_no_history(tmp_path):
    path = write(tmp_path, "email,city\nann@example.com,Paris\nbob@example.com,Lyon\n")
    import_file(path, check_dns=False)
    import_file(path, check_dns=False)
    assert Activity.objects.count() == 2


def test_rerun_with_a_changed_row_writes_only_that_contact(tmp_path):
    import_file(write(tmp_path, "email,city\nann@example.com,Paris\nbob@example.com,Lyon\n"), check_dns=False)
    summary = import_file(write(tmp_path, "email,city\nann@example.com,Paris\nbob@example.com,Nice\n"), check_dns=False)
    assert (summary.updated, summary.unchanged) == (1, 1)
    assert Contact.objects.get(email="bob@example.com").city == "Nice"
    assert Activity.objects.filter(contact__email="bob@example.com").count() == 2
    assert Activity.objects.filter(contact__email="ann@example.com").count() == 1
