"""`seed_demo` also creates the `newsletter` signup form, double opt-in, and stays safe to run twice."""

import pytest
from django.core.management import call_command

from signups.models import SignupForm

pytestmark = pytest.mark.django_db


def test_seed_demo_creates_the_newsletter_form_once_with_double_opt_in():
    call_command("seed_demo", "--contacts", "3", stdout=None)
    call_command("seed_demo", "--contacts", "3", stdout=None)

    form = SignupForm.objects.get(slug="newsletter")
    (row,) = form.form_lists.all()
    assert row.mailing_list.slug == "demo-newsletter" and row.double_opt_in
