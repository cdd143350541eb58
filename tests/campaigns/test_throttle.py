"""The Redis throttle: global bucket, per-domain buckets, hourly and warm-up caps."""

from __future__ import annotations

from datetime import date

import pytest
import redis

from campaigns.throttle import PREFIX, Limit, Note, Throttle, warmup_cap


@pytest.fixture(autouse=True)
def clean_buckets(settings):
    client = redis.Redis.from_url(settings.REDIS_URL)
    for key in client.scan_iter(f"{PREFIX}:*"):
        client.delete(key)


def test_a_throttled_domain_does_not_use_up_the_global_rate(settings):
    settings.SEND_RATE_PER_SECOND, settings.DOMAIN_RATE_LIMITS = 1000, {"slow.example": 0.5}
    throttle = Throttle()

    assert throttle.take("slow.example").allowed
    refused = throttle.take("slow.example")
    others = [throttle.take("fast.example") for _ in range(20)]

    assert refused.blocked_by is Limit.DOMAIN and refused.wait > 1
    assert all(decision.allowed for decision in others)


def test_global_rate_gives_each_message_the_next_slot(settings):
    settings.SEND_RATE_PER_SECOND = 1
    throttle = Throttle()

    waits = [throttle.take("example.com").wait for _ in range(5)]

    assert [round(wait) for wait in waits] == [0, 1, 2, 3, 4]


def test_hourly_cap_blocks_until_the_next_hour(settings):
    settings.SEND_RATE_PER_SECOND, settings.SEND_RATE_PER_HOUR = 1000, 2
    throttle = Throttle()

    decisions = [throttle.take("example.com") for _ in range(3)]

    assert [d.blocked_by for d in decisions] == [Limit.NONE, Limit.NONE, Limit.HOURLY]


def test_warm_up_cap_grows_daily_and_ends_with_the_schedule(settings):
    settings.SEND_WARMUP_DAILY_CAPS, settings.SEND_WARMUP_START = [50, 100, 200], "2026-01-01"

    caps = [warmup_cap(date(2026, 1, day)) for day in (1, 2, 3, 4)]

    assert caps == [50, 100, 200, None]


def test_only_a_message_that_got_its_token_is_marked_on_the_wire(settings):
    settings.SEND_RATE_PER_SECOND, settings.DOMAIN_RATE_LIMITS = 1000, {"slow.example": 0.5}
    throttle, note = Throttle(), Note("rapport:claim:test-journal")
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.delete(note.key)

    note.wire = 1
    throttle.take("slow.example", note)
    note.accepted.append(1)
    note.wire = 2
    refused = throttle.take("slow.example", note)

    assert refused.blocked_by is Limit.DOMAIN
    assert client.hgetall(note.key) == {b"1": b"s"}
