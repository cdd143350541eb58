"""The demo signup form `seed_demo` creates for its newsletter list."""

from typing import Any

from contacts.models import MailingList
from signups.models import SignupForm, SignupFormList

DEMO_LIST = "demo-newsletter"
DEMO_FORM = "newsletter"


def create_demo_form(*, lists: dict[str, MailingList], **kwargs: Any) -> None:
    """The `newsletter` form (double opt-in) for the demo newsletter list; found before it is created."""
    if DEMO_LIST not in lists or SignupForm.objects.filter(slug=DEMO_FORM).exists():
        return
    form = SignupForm.objects.create(
        name="Our newsletter",
        slug=DEMO_FORM,
        introduction="News from the shop once a month: new arrivals, offers for subscribers, nothing else.",
        profile_fields=["first_name"],
        consent_text=(
            "I agree to receive the newsletter by email. I can unsubscribe at any time with the link in "
            "every email. We keep my address and the date I confirmed as proof of my consent."
        ),
    )
    SignupFormList.objects.create(form=form, mailing_list=lists[DEMO_LIST], double_opt_in=True)
