"""Erased addresses: a person whose data was erased is kept only as a keyed hash of the
address in the suppression list, so that the address is recognised (and refused) when an
import, a form or an admin brings it back, without Rapport storing it.

The key is ERASURE_HASH_KEY (derived from SECRET_KEY when unset). It must never change:
with another key every erased address would be forgotten, and could be mailed again.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

from django.conf import settings

from contacts.models import Suppression

_SALT = b"rapport.contacts.erased.v1"


def _key() -> bytes:
    secret = settings.ERASURE_HASH_KEY or settings.SECRET_KEY
    return hmac.new(_SALT, secret.encode(), hashlib.sha256).digest()


def address_hash(email: str) -> str:
    """HMAC-SHA256 of the normalised address, as 64 hex digits."""
    return hmac.new(_key(), email.strip().lower().encode(), hashlib.sha256).hexdigest()


def erased_among(emails: Iterable[str]) -> set[str]:
    """Those of ``emails`` that belong to an erased person (one query for the whole lot)."""
    hashes = {address_hash(email): email for email in emails}
    if not hashes:
        return set()
    found = Suppression.objects.filter(email_hash__in=list(hashes)).values_list("email_hash", flat=True)
    return {hashes[digest] for digest in found}


def is_erased(email: str) -> bool:
    return bool(erased_among([email]))
