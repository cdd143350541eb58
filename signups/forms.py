"""The visitor's form, built from a SignupForm, and the admin form that edits one."""

from __future__ import annotations

from django import forms
from django.conf import settings
from wagtail.admin.forms import WagtailAdminModelForm

from contacts.models import Contact
from contacts.validation import validate_address
from signups import abuse
from signups.models import PROFILE_FIELD_CHOICES, SignupForm
from signups.services import offered_lists


class VisitorForm(forms.Form):
    """Email, the profile fields the form asks for, its public lists when the visitor
    chooses, the honeypot, the signed timestamp and (when on) the challenge payload."""

    email = forms.CharField(
        max_length=254, label="Email address", widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )

    def __init__(self, signup_form: SignupForm, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.signup_form = signup_form
        for name in signup_form.profile_fields:
            if name in Contact.PROFILE_FIELDS:
                model_field = Contact._meta.get_field(name)
                self.fields[name] = forms.CharField(
                    label=model_field.verbose_name.capitalize(),
                    max_length=model_field.max_length,
                    required=name in signup_form.required_fields,
                )
        if signup_form.visitor_chooses_lists:
            choices = [(row.mailing_list_id, row.mailing_list.name) for row in offered_lists(signup_form)]
            self.fields["lists"] = forms.TypedMultipleChoiceField(
                choices=choices, coerce=int, widget=forms.CheckboxSelectMultiple, label="Send me", required=True
            )
        self.fields[abuse.HONEYPOT_FIELD] = forms.CharField(required=False)
        self.fields[abuse.TIMESTAMP_FIELD] = forms.CharField(required=False, widget=forms.HiddenInput)
        if settings.SIGNUP_CHALLENGE:
            self.fields[abuse.CHALLENGE_FIELD] = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean_email(self) -> str:
        verdict = validate_address(self.cleaned_data["email"])
        if not verdict.valid:
            raise forms.ValidationError(
                (verdict.suggestion and f"Did you mean {verdict.suggestion}?") or "Please check this address."
            )
        return verdict.normalized

    def profile_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.signup_form.profile_fields if name in self.fields]

    def profile(self) -> dict[str, str]:
        return {
            name: self.cleaned_data[name] for name in self.signup_form.profile_fields if self.cleaned_data.get(name)
        }

    def is_bot(self) -> bool:
        return bool(self.data.get(abuse.HONEYPOT_FIELD))

    def filled_in_time(self) -> bool:
        return abuse.filled_in_time(self.data.get(abuse.TIMESTAMP_FIELD, ""))

    def challenge_solved(self) -> bool:
        return not settings.SIGNUP_CHALLENGE or abuse.challenge_solved(self.data.get(abuse.CHALLENGE_FIELD, ""))


class SignupFormAdminForm(WagtailAdminModelForm):
    profile_fields = forms.MultipleChoiceField(
        choices=PROFILE_FIELD_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Asked for besides the email address.",
    )
    required_fields = forms.MultipleChoiceField(
        choices=PROFILE_FIELD_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Of the fields asked for, which a visitor must fill in.",
    )

    def clean(self) -> dict:
        cleaned = super().clean()
        missing = set(cleaned.get("required_fields", [])) - set(cleaned.get("profile_fields", []))
        if missing:
            self.add_error("required_fields", "A required field must also be asked for.")
        return cleaned
