"""Forms of the contacts admin. Saving goes through the services; forms only validate."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from wagtail.admin.forms import WagtailAdminModelForm

from contacts import exporter, importer
from contacts.custom_fields import CustomFieldsMixin
from contacts.models import Contact, ImportJob, MailingList
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
        return verdict.normalized


class SegmentForm(WagtailAdminModelForm):
    def clean_rules(self) -> dict[str, Any]:
        rules = self.cleaned_data["rules"] or {}
        try:
            compile_rules(rules)
        except SegmentError as error:
            raise ValidationError(f"Invalid rules: {error}") from None
        return rules


class ImportUploadForm(forms.ModelForm):
    class Meta:
        model = ImportJob
        fields = ["file", "mailing_list", "check_dns"]

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith((".csv", ".txt", ".tsv", ".xlsx")):
            raise ValidationError("Upload a .csv or .xlsx file.")
        return upload


class ImportMappingForm(forms.Form):
    """One choice per column of the uploaded file; exactly one column must be the email."""

    def __init__(self, *args: Any, header: list[str], initial_mapping: dict[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = importer.mapping_choices()
        self.header = header
        for index, column in enumerate(header):
            self.fields[f"column_{index}"] = forms.ChoiceField(
                label=column or f"(column {index + 1})",
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
