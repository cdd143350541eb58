"""What keeps bots off the signup forms: a hidden honeypot field, a signed timestamp that
proves the form was open long enough, per-network and per-address rate limits and an
hourly budget of confirmation emails (all counted in Redis), and ALTCHA's self-hosted
proof-of-work challenge (no third-party service, so it works offline and from China)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import altcha
import redis
from django.conf import settings
from django.core import signing

from campaigns import throttle

HONEYPOT_FIELD = "website"
TIMESTAMP_FIELD = "ts"
CHALLENGE_FIELD = "altcha"
_TIMESTAMP_SALT = "signups.form-opened"
# A form left open longer than this is stale: fetch a fresh one (stops replaying one old token).
_TIMESTAMP_MAX_AGE = 24 * 3600
_CHALLENGE_SECONDS = 600


def _key(purpose: str) -> bytes:
    return hmac.new(f"rapport.signups.{purpose}".encode(), settings.SECRET_KEY.encode(), hashlib.sha256).digest()


def ip_hash(ip: str) -> str:
    """A salted HMAC of the visitor's IP address: counts and consents never store the address."""
    return hmac.new(_key("ip"), ip.encode(), hashlib.sha256).hexdigest()


def _address_hash(email: str) -> str:
    return hmac.new(_key("address"), email.lower().encode(), hashlib.sha256).hexdigest()


# --- Timing ---------------------------------------------------------------------------------------


def form_timestamp(opened_at: float | None = None) -> str:
    """The signed moment a form was served (now, unless given); a POST sends it back."""
    return signing.dumps(opened_at or time.time(), salt=_TIMESTAMP_SALT)


def filled_in_time(token: str, now: float | None = None) -> bool:
    """Whether the form was served at least SIGNUP_MIN_SECONDS ago (and not too long ago)."""
    try:
        opened = float(signing.loads(token, salt=_TIMESTAMP_SALT, max_age=_TIMESTAMP_MAX_AGE))
    except (signing.BadSignature, TypeError, ValueError):
        return False
    return (now or time.time()) - opened >= settings.SIGNUP_MIN_SECONDS


# --- Rate limits and the hourly budget --------------------------------------------------------------


def _client() -> redis.Redis:
    return throttle.client()


def _count(key: str, window: int) -> int:
    """Add one to a fixed-window counter and return the new count."""
    pipe = _client().pipeline()
    pipe.incr(key)
    pipe.expire(key, window, nx=True)
    return int(pipe.execute()[0])


def within_rate_limits(ip: str, email: str) -> bool:
    """Count this POST against its network (per minute) and its address (per hour).

    Both counters move on every POST, so a bot cycling addresses from one network and a
    bot hammering one address from many networks are both cut off."""
    minute, hour = int(time.time() // 60), int(time.time() // 3600)
    per_ip = _count(f"signups:ip:{ip_hash(ip)}:{minute}", 60)
    per_address = _count(f"signups:addr:{_address_hash(email)}:{hour}", 3600)
    return per_ip <= settings.SIGNUP_RATE_PER_IP_PER_MINUTE and per_address <= settings.SIGNUP_RATE_PER_ADDRESS_PER_HOUR


def _budget_key() -> str:
    return f"signups:budget:{int(time.time() // 3600)}"


def confirmation_budget_spent() -> bool:
    """Whether this hour's budget is gone (a read: the sender still takes its unit atomically)."""
    return int(_client().get(_budget_key()) or 0) >= settings.SIGNUP_CONFIRMATIONS_PER_HOUR


def take_confirmation_budget() -> bool:
    """One confirmation email from this hour's global budget; False once it is spent."""
    return _count(_budget_key(), 3600) <= settings.SIGNUP_CONFIRMATIONS_PER_HOUR


# --- Proof of work (ALTCHA) -------------------------------------------------------------------------


def new_challenge() -> dict:
    """A signed ALTCHA challenge for the widget (PBKDF2/SHA-256, verified without state)."""
    challenge = altcha.create_challenge(
        algorithm="PBKDF2/SHA-256",
        cost=settings.SIGNUP_CHALLENGE_COST,
        expires_at=int(time.time()) + _CHALLENGE_SECONDS,
        hmac_secret=_key("altcha"),
    )
    return challenge.to_dict()


def challenge_solved(payload: str) -> bool:
    """A genuine, unexpired, correctly solved challenge, used once (its signature is then spent)."""
    if not payload or len(payload) > 4096:
        return False
    result = altcha.verify_solution(payload, _key("altcha"))
    if not result.verified:
        return False
    # Spent by the challenge's nonce, not the payload's bytes, which could be re-encoded.
    nonce = json.loads(base64.b64decode(payload))["challenge"]["parameters"]["nonce"]
    return bool(_client().set(f"signups:altcha:{nonce}", 1, nx=True, ex=_CHALLENGE_SECONDS))
