"""Signup tests run in-process (eager Celery) against the real test Redis, with the
challenge off unless a test turns it on, and no DNS (the one thing off this machine)."""

from __future__ import annotations

import time

import pytest

from campaigns import throttle
from signups import abuse


@pytest.fixture(autouse=True)
def signup_settings(settings):
    settings.EMAIL_CHECK_DNS = False
    settings.SIGNUP_CHALLENGE = False
    settings.SIGNUP_CHALLENGE_COST = 50
    # Rate-limit and budget counters of an earlier test must not count against this one.
    redis = throttle.client()
    for key in redis.scan_iter("signups:*"):
        redis.delete(key)
    return settings


def form_data(email: str = "ann@example.com", **fields) -> dict:
    """What a person's browser posts: the stamp of a form opened ten seconds ago."""
    return {
        "email": email,
        "first_name": "Ann",
        abuse.TIMESTAMP_FIELD: abuse.form_timestamp(time.time() - 10),
        **fields,
    }
