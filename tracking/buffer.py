"""The event buffer: opens and clicks go into a Redis stream at request time and are
drained into Activity in batches (tracking.services.drain_events).

A stream with a consumer group, rather than a list, so a drain that dies between reading
and committing leaves its entries pending; the next drain claims them again, and the
stream entry id doubles as the Activity.event_id that makes re-ingestion harmless.
"""

from __future__ import annotations

import json
import os
import socket
from functools import cache
from typing import Any

import redis
import redis.lock
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

STREAM = "rapport:events"
GROUP = "drain"
# Entries a dead drain left pending are taken over after this long.
CLAIM_IDLE_MS = 60_000


@cache
def client() -> redis.Redis:
    """One connection pool per process; short timeouts so a dead Redis costs the
    request milliseconds, not seconds, before the database fallback takes over."""
    return redis.Redis.from_url(
        settings.REDIS_URL, socket_connect_timeout=0.25, socket_timeout=1.0, health_check_interval=30
    )


def push(event: dict[str, Any]) -> bool:
    """Append one event; False when Redis is unavailable (the caller falls back to the DB)."""
    try:
        client().xadd(STREAM, {"e": json.dumps(event, separators=(",", ":"))})
    except redis.RedisError:
        return False
    return True


def _ensure_group(conn: redis.Redis) -> None:
    try:
        conn.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    except redis.ResponseError as error:
        if "BUSYGROUP" not in str(error):
            raise


def _consumer() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def read_batch(count: int) -> list[tuple[str, dict[str, Any]]]:
    """Up to ``count`` events as (entry id, event): first ones a dead drain left pending,
    then new ones. They stay pending until :func:`ack`."""
    conn = client()
    _ensure_group(conn)
    _, claimed, _ = conn.xautoclaim(STREAM, GROUP, _consumer(), CLAIM_IDLE_MS, "0-0", count=count)
    entries = list(claimed)
    if len(entries) < count:
        response = conn.xreadgroup(GROUP, _consumer(), {STREAM: ">"}, count=count - len(entries))
        for _, stream_entries in response or []:
            entries.extend(stream_entries)
    return [(_text(entry_id), json.loads(fields[b"e"])) for entry_id, fields in entries if fields]


def ack(entry_ids: list[str]) -> None:
    """Forget entries whose events are committed to the database."""
    if entry_ids:
        conn = client()
        with conn.pipeline(transaction=False) as pipe:
            pipe.xack(STREAM, GROUP, *entry_ids)
            pipe.xdel(STREAM, *entry_ids)
            pipe.execute()


def backlog() -> int:
    """Events waiting in the stream (new and pending)."""
    return client().xlen(STREAM)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


@receiver(setting_changed)
def _reset_client(*, setting: str, **kwargs) -> None:
    if setting == "REDIS_URL":
        client.cache_clear()


def drain_lock() -> redis.lock.Lock:
    """Held by the drain that is running, so beat ticks do not pile up concurrent drains
    whose engagement updates would contend for the same contact rows."""
    return client().lock("rapport:events:drain-lock", timeout=600)
