"""The emails a signup sends: the double opt-in confirmation and a list's welcome. Both go
through the transactional lane (campaigns/transactional.py), never the campaign throttle,
so they leave within seconds even while a campaign is sending."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from campaigns.delivery import Outcome
from campaigns.transactional import send_transactional
from contacts.models import Contact
from contacts.tokens import Purpose, TokenData, make_token
from signups import abuse
from signups.models import PendingSignup, WelcomeEmail

log = logging.getLogger(__name__)


def confirmation_token(pending: PendingSignup) -> str:
    return make_token(TokenData(Purpose.SIGNUP, pending.pk, link_index=pending.nonce))


def confirmation_url(pending: PendingSignup) -> str:
    return settings.SITE_URL + reverse("signups_confirm", args=[pending.form.slug, confirmation_token(pending)])


def confirmation_email(pending: PendingSignup) -> tuple[str, str]:
    """Subject and text of the confirmation email: marketer-written text and our own words
    only, nothing a visitor typed (a name full of spam must never reach a stranger)."""
    subject = f"Please confirm your subscription: {pending.form.name}"
    text = (
        f"Someone, hopefully you, asked to receive emails from {pending.form.name} at this address.\n\n"
        f"To confirm, open this link and press the button:\n{confirmation_url(pending)}\n\n"
        "If it was not you, ignore this email: you will not hear from us again, and the request "
        f"is deleted after {settings.SIGNUP_PENDING_DAYS} days.\n"
    )
    return subject, text


def send_confirmation(pending_id: int) -> str:
    """Claim the pending signup by a state change, spend one unit of the hourly budget, and
    send. Returns the state it ended in; a signup someone else claimed is left alone."""
    claimed = PendingSignup.objects.filter(pk=pending_id, state=PendingSignup.State.PENDING).update(
        state=PendingSignup.State.SENDING
    )
    if not claimed:
        return "not claimed"
    pending = PendingSignup.objects.select_related("form").get(pk=pending_id)
    if not abuse.take_confirmation_budget():
        log.warning("signup confirmation held: SIGNUP_CONFIRMATIONS_PER_HOUR spent")
        return _finish(pending, PendingSignup.State.HELD)
    subject, text = confirmation_email(pending)
    try:
        result = send_transactional(pending.email, subject, text)
    except Exception:
        log.exception("signup confirmation not sent")
        return _finish(pending, PendingSignup.State.FAILED)
    if result.outcome is not Outcome.SENT:
        log.warning("signup confirmation refused: %s %s", result.code, result.detail)
        return _finish(pending, PendingSignup.State.FAILED)
    return _finish(pending, PendingSignup.State.SENT)


def _finish(pending: PendingSignup, state: str) -> str:
    sent_at = timezone.now() if state == PendingSignup.State.SENT else None
    PendingSignup.objects.filter(pk=pending.pk, state=PendingSignup.State.SENDING).update(state=state, sent_at=sent_at)
    return state


def send_welcome(contact_id: int, welcome_id: int) -> None:
    contact = Contact.objects.filter(pk=contact_id).first()
    welcome = WelcomeEmail.objects.filter(pk=welcome_id).first()
    if contact is None or welcome is None or contact.status != Contact.Status.SUBSCRIBED:
        return
    send_transactional(contact.email, welcome.subject, welcome.body)


def purge_expired(now=None) -> int:
    """Delete signups older than SIGNUP_PENDING_DAYS, confirmed or not (a confirmed one's
    consent has its own record); their tokens stop working with them."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.SIGNUP_PENDING_DAYS)
    deleted, _ = PendingSignup.objects.filter(created_at__lt=cutoff).delete()
    return deleted
