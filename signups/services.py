"""Signing up through a form, and confirming by double opt-in.

The rules that matter: a signup never reveals whether the address was known (every outcome
answers the same); an address that is already subscribed gets nothing; one that bounced,
complained or is suppressed is never mailed; one that unsubscribed may come back, but only
by confirming from its inbox (double opt-in even on single opt-in lists); and the profile of
an existing contact is never changed by what a visitor typed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from contacts.models import Activity, Contact, MailingList, Subscription
from contacts.services import confirm, is_suppressed, record, subscribe
from contacts.tokens import Purpose, read_token
from signups import abuse
from signups.models import Consent, PendingSignup, SignupForm, SignupFormList, WelcomeEmail
from signups.tasks import send_confirmation, send_welcome

log = logging.getLogger(__name__)

NEVER_MAILED = {Contact.Status.BOUNCED, Contact.Status.COMPLAINED, Contact.Status.CLEANED}
# Another confirmation for the same address and form within this window is not sent: a
# visitor pressing twice, or someone mail-bombing an address, gets one email.
RESEND_AFTER = timedelta(minutes=30)


@dataclass
class Signup:
    form: SignupForm
    email: str  # normalised
    ip_hash: str
    profile: dict[str, str] = field(default_factory=dict)
    chosen_list_ids: list[int] | None = None  # None: the visitor was not asked


def offered_lists(form: SignupForm) -> list[SignupFormList]:
    """The lists a visitor may tick: the form's public ones."""
    return [row for row in form.form_lists.select_related("mailing_list") if row.mailing_list.is_public]


def _target_rows(signup: Signup) -> list[SignupFormList]:
    rows = list(signup.form.form_lists.select_related("mailing_list"))
    if signup.form.visitor_chooses_lists and signup.chosen_list_ids is not None:
        chosen = set(signup.chosen_list_ids)
        rows = [row for row in rows if not row.mailing_list.is_public or row.mailing_list_id in chosen]
    return rows


@transaction.atomic
def submit(signup: Signup) -> None:
    """Act on one signup POST that passed the abuse checks. Returns nothing on purpose: the
    caller answers the same whatever happened here."""
    contact = Contact.objects.filter(email=signup.email).first()
    if (contact is not None and contact.status in NEVER_MAILED) or is_suppressed(signup.email):
        return
    rows = _target_rows(signup)
    if contact is not None:
        joined = set(
            Subscription.objects.filter(
                contact=contact, status=Subscription.Status.SUBSCRIBED, mailing_list__in=[r.mailing_list for r in rows]
            ).values_list("mailing_list_id", flat=True)
        )
        rows = [row for row in rows if row.mailing_list_id not in joined]
    if not rows:
        return
    # An address that unsubscribed comes back only from its own inbox.
    returning = contact is not None and contact.status == Contact.Status.UNSUBSCRIBED
    confirm_rows = [row for row in rows if row.double_opt_in or row.mailing_list.double_opt_in or returning]
    at_once = [row for row in rows if row not in confirm_rows]
    if at_once:
        contact = contact or _new_contact(signup)
        _join(contact, [row.mailing_list for row in at_once], signup.form, signup.form.consent_version)
        _record_consent(contact, signup.form, signup.form.consent_version, at_once, signup.ip_hash, timezone.now())
    if confirm_rows:
        _ask_for_confirmation(signup, confirm_rows)


def _new_contact(signup: Signup) -> Contact:
    contact, _ = Contact.objects.get_or_create(
        email=signup.email, defaults={**signup.profile, "source": Contact.Source.FORM}
    )
    return contact


def _ask_for_confirmation(signup: Signup, rows: list[SignupFormList]) -> None:
    recent = PendingSignup.objects.filter(
        email=signup.email,
        form=signup.form,
        created_at__gt=timezone.now() - RESEND_AFTER,
        state__in=[PendingSignup.State.PENDING, PendingSignup.State.SENDING, PendingSignup.State.SENT],
    )
    if recent.exists():
        return
    # Once the hour's budget is spent, a flood's signups are recorded as held without a task
    # each, so the transactional queue stays free for the mail people are waiting for.
    held = abuse.confirmation_budget_spent()
    pending = PendingSignup.objects.create(
        form=signup.form,
        email=signup.email,
        profile=signup.profile,
        list_ids=[row.mailing_list_id for row in rows],
        consent_version=signup.form.consent_version,
        ip_hash=signup.ip_hash,
        state=PendingSignup.State.HELD if held else PendingSignup.State.PENDING,
    )
    if not held:
        transaction.on_commit(lambda: send_confirmation.delay(pending.pk))


# --- Confirming -----------------------------------------------------------------------------------


def pending_for(slug: str, token: str) -> PendingSignup | None:
    """The pending signup a genuine confirmation token names, or None."""
    data = read_token(token, Purpose.SIGNUP)
    if data is None:
        return None
    return (
        PendingSignup.objects.select_related("form")
        .filter(pk=data.contact_id, nonce=data.link_index, form__slug=slug)
        .first()
    )


@transaction.atomic
def confirm_signup(pending: PendingSignup) -> bool:
    """The address owner pressed the button. Returns False for a signup already confirmed."""
    now = timezone.now()
    claimed = (
        PendingSignup.objects.filter(pk=pending.pk)
        .exclude(state=PendingSignup.State.CONFIRMED)
        .update(state=PendingSignup.State.CONFIRMED, confirmed_at=now)
    )
    if not claimed:
        return False
    contact = Contact.objects.filter(email=pending.email).first()
    if (contact is not None and contact.status in NEVER_MAILED) or is_suppressed(pending.email):
        return True
    if contact is None:
        contact = Contact.objects.create(email=pending.email, source=Contact.Source.FORM, **_profile(pending))
    elif contact.status == Contact.Status.UNSUBSCRIBED:
        _come_back(contact, pending.form)
    lists = list(MailingList.objects.filter(pk__in=pending.list_ids))
    joined = _join(contact, lists, pending.form, pending.consent_version)
    rows = list(SignupFormList.objects.filter(form=pending.form, mailing_list__in=lists))
    _record_consent(contact, pending.form, pending.consent_version, rows, pending.ip_hash, pending.created_at, now)
    Contact.objects.filter(pk=contact.pk).update(confirmed_at=now)
    summary = f"Confirmed the signup on {pending.form.name} (consent version {pending.consent_version})"
    record(contact, Activity.Kind.CONFIRMED, details={"summary": summary, "form": pending.form.slug})
    _send_welcomes(contact, joined)
    return True


def _profile(pending: PendingSignup) -> dict[str, str]:
    return {name: value for name, value in pending.profile.items() if name in Contact.PROFILE_FIELDS}


def _come_back(contact: Contact, form: SignupForm) -> None:
    """An unsubscribed contact confirmed a new signup from its inbox: subscribed again."""
    now = timezone.now()
    if Contact.objects.filter(pk=contact.pk, status=Contact.Status.UNSUBSCRIBED).update(
        status=Contact.Status.SUBSCRIBED, status_changed_at=now
    ):
        contact.status = Contact.Status.SUBSCRIBED
        record(
            contact,
            Activity.Kind.SUBSCRIBED,
            details={"summary": f"Subscribed again by confirming the form {form.name}", "form": form.slug},
        )


def _join(contact: Contact, lists: list[MailingList], form: SignupForm, version: int) -> list[MailingList]:
    """Subscribe, confirmed, to each list; returns the lists newly joined."""
    joined = []
    label = f"{form.slug} v{version}"
    existing = {
        sub.mailing_list_id: sub for sub in Subscription.objects.filter(contact=contact, mailing_list__in=lists)
    }
    for mailing_list in lists:
        subscription = existing.get(mailing_list.pk)
        if subscription is None:
            subscribe(contact, mailing_list, source="signup form", form=label, confirmed=True)
        elif subscription.status == Subscription.Status.PENDING:
            confirm(subscription)
        elif subscription.status == Subscription.Status.UNSUBSCRIBED:
            Subscription.objects.filter(pk=subscription.pk).update(
                status=Subscription.Status.SUBSCRIBED, confirmed_at=timezone.now(), unsubscribed_at=None
            )
            record(contact, Activity.Kind.SUBSCRIBED, details={"list": mailing_list.slug, "source": "signup form"})
        else:
            continue
        joined.append(mailing_list)
    return joined


def _record_consent(contact, form, version, rows, ip_hash, signed_up_at, confirmed_at=None) -> Consent:
    double = any(row.double_opt_in or row.mailing_list.double_opt_in for row in rows) and confirmed_at is not None
    return Consent.objects.create(
        contact=contact,
        form=form,
        form_slug=form.slug,
        consent_version=version,
        list_ids=[row.mailing_list_id for row in rows],
        double_opt_in=double,
        ip_hash=ip_hash,
        signed_up_at=signed_up_at,
        confirmed_at=confirmed_at or signed_up_at,
    )


def _send_welcomes(contact: Contact, lists: list[MailingList]) -> None:
    for welcome_id in WelcomeEmail.objects.filter(mailing_list__in=lists).values_list("pk", flat=True):
        transaction.on_commit(lambda welcome_id=welcome_id: send_welcome.delay(contact.pk, welcome_id))
