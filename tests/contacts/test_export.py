"""Export: chosen fields, custom fields and tags, and neutralised formula cells."""

import csv
import io

import pytest
from openpyxl import load_workbook

from contacts.exporter import ExportError, csv_chunks, neutralise, write_xlsx
from contacts.models import Contact, CustomField
from tests.factories import ContactFactory, SegmentFactory

pytestmark = pytest.mark.django_db


def exported_csv(queryset, fields) -> list[list[str]]:
    return list(csv.reader(io.StringIO("".join(csv_chunks(queryset, fields)).lstrip("\ufeff"))))


def test_unknown_field_is_refused():
    with pytest.raises(ExportError, match="password"):
        exported_csv(Contact.objects.all(), ["email", "password"])


@pytest.mark.parametrize("dangerous", ['=HYPERLINK("http://evil")', "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"])
def test_cells_that_start_a_formula_are_neutralised(dangerous):
    assert neutralise(dangerous) == "'" + dangerous


def test_ordinary_values_are_left_alone():
    assert [neutralise("Ann"), neutralise(12), neutralise("a=b")] == ["Ann", 12, "a=b"]


def test_csv_export_has_the_chosen_fields_and_escapes_formulas():
    CustomField.objects.create(key="plan", label="Plan")
    contact = ContactFactory(email="ann@example.com", company="=cmd|' /C calc'!A0", custom_fields={"plan": "pro"})
    contact.tags.add("vip", "b2b")
    assert exported_csv(Contact.objects.all(), ["email", "company", "custom.plan", "tags"]) == [
        ["email", "company", "custom.plan", "tags"],
        ["ann@example.com", "'=cmd|' /C calc'!A0", "pro", "b2b, vip"],
    ]


def test_segment_export_contains_only_its_members():
    ContactFactory(email="ann@example.com", industry="Retail")
    ContactFactory(email="bob@example.com", industry="Finance")
    segment = SegmentFactory(
        rules={"match": "all", "rules": [{"field": "industry", "op": "equals", "value": "Retail"}]}
    )
    assert exported_csv(Contact.objects.in_segment(segment), ["email"]) == [["email"], ["ann@example.com"]]


def test_export_reads_tags_once_per_chunk_not_per_contact(django_assert_max_num_queries):
    for number in range(30):
        ContactFactory(email=f"p{number}@example.com").tags.add("t")
    with django_assert_max_num_queries(3):
        assert len(exported_csv(Contact.objects.all(), ["email", "tags"])) == 31


def test_xlsx_export_stores_formula_text_as_plain_text(tmp_path):
    ContactFactory(email="ann@example.com", first_name="@SUM(1+1)")
    path = write_xlsx(Contact.objects.all(), ["email", "first_name"], tmp_path / "out.xlsx")
    sheet = load_workbook(path).active
    assert [[cell.value for cell in row] for row in sheet.iter_rows()] == [
        ["email", "first_name"],
        ["ann@example.com", "'@SUM(1+1)"],
    ]
    assert sheet["B2"].data_type == "s"
