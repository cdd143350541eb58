"""The preference centre form: lists, frequency, a pause and the profile fields a contact may edit."""

from django import forms

from contacts.models import Contact, MailingList


class PreferencesForm(forms.ModelForm):
    """A contact's instance only fills the form in: services.update_preferences applies the answers."""

    lists = forms.ModelMultipleChoiceField(
        queryset=MailingList.objects.filter(is_public=True),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Send me",
    )
    pause_days = forms.TypedChoiceField(
        choices=[(0, "Don't pause"), (30, "Pause for 30 days"), (90, "Pause for 90 days")],
        coerce=int,
        initial=0,
        widget=forms.RadioSelect,
        label="Take a break",
    )

    class Meta:
        model = Contact
        fields = ["frequency", *Contact.SELF_SERVICE_FIELDS]
        widgets = {"frequency": forms.RadioSelect}
        labels = {"frequency": "How often"}

    def profile_fields(self) -> list[forms.BoundField]:
        return [self[field] for field in Contact.SELF_SERVICE_FIELDS]

    def profile(self) -> dict[str, str]:
        return {field: self.cleaned_data[field] for field in Contact.SELF_SERVICE_FIELDS}
