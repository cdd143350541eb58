"""The preference centre form: lists, frequency, a pause and the profile fields a contact may edit."""

from django import forms

from contacts.models import Contact, MailingList
from tracking.services import PROFILE_FIELDS


class PreferencesForm(forms.Form):
    lists = forms.ModelMultipleChoiceField(
        queryset=MailingList.objects.filter(is_public=True),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Send me",
    )
    frequency = forms.ChoiceField(choices=Contact.Frequency.choices, widget=forms.RadioSelect, label="How often")
    pause_days = forms.TypedChoiceField(
        choices=[(0, "Don't pause"), (30, "Pause for 30 days"), (90, "Pause for 90 days")],
        coerce=int,
        initial=0,
        widget=forms.RadioSelect,
        label="Take a break",
    )
    first_name = forms.CharField(max_length=100, required=False)
    last_name = forms.CharField(max_length=100, required=False)
    company = forms.CharField(max_length=200, required=False)
    job_title = forms.CharField(max_length=200, required=False)
    phone = forms.CharField(max_length=50, required=False)
    city = forms.CharField(max_length=100, required=False)
    country = forms.CharField(max_length=100, required=False)

    def profile_fields(self) -> list[forms.BoundField]:
        return [self[field] for field in PROFILE_FIELDS]

    def profile(self) -> dict[str, str]:
        return {field: self.cleaned_data[field] for field in PROFILE_FIELDS}
