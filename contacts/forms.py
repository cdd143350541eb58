"""Forms of the contacts admin. Saving goes through the services; forms only validate."""

from __future__ import annotations

import codecs
import json
from pathlib import Path
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from wagtail.admin.forms import WagtailAdminModelForm

from contacts import exporter, import_read, importer
from contacts.custom_fields import CustomFieldsMixin
from contacts.erased import is_erased
from contacts.models import Contact, MailingList
from contacts.segments import SegmentError, compile_rules
from contacts.validation import validate_address


class ContactForm(CustomFieldsMixin, WagtailAdminModelForm):
    """The address is normalised and checked (syntax, disposable, typo) before it is stored;
    custom fields are edited as typed fields, never as JSON."""

    def clean_email(self) -> str:
        verdict = validate_address(self.cleaned_data["email"], check_dns=False)
        if not verdict.valid:
            hint = f" Did you mean {verdict.suggestion}?" if verdict.suggestion else ""
            raise ValidationError(f"Not a usable address: {verdict.reason}.{hint}")
        duplicate = Contact.objects.filter(email=verdict.normalized).exclude(pk=self.instance.pk)
        if duplicate.exists():
            raise ValidationError("A contact with this address already exists.")
        if is_erased(verdict.normalized):
            raise ValidationError("This person's data was erased at their request: the address cannot be added again.")
        return verdict.normalized


class SegmentForm(WagtailAdminModelForm):
    def clean_rules(self) -> dict[str, Any]:
        rules = self.cleaned_data["rules"] or {}
        try:
            compile_rules(rules)
        except SegmentError as error:
            raise ValidationError(f"Invalid rules: {error}") from None
        return rules


# What browsers and spreadsheet programs send for these files; Windows labels CSV as Excel.
TEXT_TABLE_TYPES = frozenset(
    {
        "text/csv",
        "text/x-csv",
        "text/comma-separated-values",
        "text/plain",
        "text/tab-separated-values",
        "application/csv",
        "application/vnd.ms-excel",
        "application/octet-stream",
    }
)
IMPORT_CONTENT_TYPES = {
    ".xlsx": frozenset(
        {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "application/octet-stream"}
    ),
    **dict.fromkeys((".csv", ".tsv", ".txt"), TEXT_TABLE_TYPES),
}


class ImportUploadForm(WagtailAdminModelForm):
    """The upload step: a .csv/.xlsx file whose declared type and first bytes agree with its extension."""

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        extension = Path(upload.name).suffix.lower()
        if extension not in IMPORT_CONTENT_TYPES:
            raise ValidationError("Upload a .csv or .xlsx file.")
        content_type = (upload.content_type or "application/octet-stream").split(";")[0].strip().lower()
        if content_type not in IMPORT_CONTENT_TYPES[extension]:
            raise ValidationError(f"A {extension} file cannot be of type {content_type}.")
        if upload.size > settings.CONTACTS_IMPORT_MAX_BYTES:
            raise ValidationError(
                f"The file is too large ({upload.size} bytes; limit {settings.CONTACTS_IMPORT_MAX_BYTES})."
            )
        upload.seek(0)
        head = upload.read(8192)
        upload.seek(0)
        if (extension == ".xlsx") != head.startswith(b"PK\x03\x04"):
            kind = "an XLSX workbook" if extension == ".xlsx" else "a text file"
            raise ValidationError(f"The file's content is not {kind}, as its name says.")
        if extension != ".xlsx" and b"\x00" in head and not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            raise ValidationError("The file's content is not text: it contains NUL bytes.")
        return upload


class ImportMappingForm(forms.Form):
    """One choice per column of the uploaded file; exactly one column must be the email."""

    def __init__(self, *args: Any, header: list[str], initial_mapping: dict[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = importer.mapping_choices()
        self.header = header
        for index, column in enumerate(header):
            self.fields[f"column_{index}"] = forms.ChoiceField(
                label=import_read.shorten(column) or f"(column {index + 1})",
                choices=choices,
                required=False,
                initial=initial_mapping.get(column, ""),
            )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        targets = [cleaned.get(f"column_{index}") for index in range(len(self.header))]
        chosen = [target for target in targets if target]
        if chosen.count("email") != 1:
            raise ValidationError("Map exactly one column to email.")
        if len(chosen) != len(set(chosen)):
            raise ValidationError("Each field can take only one column.")
        return cleaned

    def mapping(self) -> dict[str, str]:
        return {
            column: self.cleaned_data[f"column_{index}"]
            for index, column in enumerate(self.header)
            if self.cleaned_data.get(f"column_{index}")
        }


class ExportForm(forms.Form):
    columns = forms.MultipleChoiceField(
        widget=forms.CheckboxSelectMultiple, initial=["email", "first_name", "last_name"]
    )
    format = forms.ChoiceField(choices=[("csv", "CSV"), ("xlsx", "Excel (XLSX)")], initial="csv")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["columns"].choices = exporter.field_choices()


class AddToListForm(forms.Form):
    mailing_list = forms.ModelChoiceField(queryset=MailingList.objects.all(), label="List")


class TagForm(forms.Form):
    tag = forms.CharField(max_length=100)


class NoteForm(forms.Form):
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=5000, label="Add a note")


def rules_from_request(body: bytes) -> dict[str, Any]:
    """Segment rules posted by the live-count script, as JSON."""
    try:
        rules = json.loads(body or b"{}")
    except ValueError:
        raise SegmentError("not JSON") from None
    if not isinstance(rules, dict):
        raise SegmentError("rules must be a JSON object")
    return rules
