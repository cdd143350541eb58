"""The event buffer: opens and clicks go into a Redis stream at request time and are
drained into Activity in batches (tracking.services.drain_events).

A stream with a consumer group, rather than a list, so a drain that dies between reading
and committing leaves its entries pending; the next drain claims them again, and the
stream entry id doubles as the Activity.event_id that makes re-ingestion harmless.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time

import redis
import redis.lock

from config.redis import request_client
from tracking.events import TrackedEvent

STREAM = "rapport:events"
GROUP = "drain"
# Entries a dead drain left pending are taken over after this long.
CLAIM_IDLE_MS = 60_000
# Failures of the drains since the last one that succeeded: count, time and error of the last.
DRAIN_STATUS = "rapport:events:drain-status"
# /healthz turns red after this many failed drains in a row (one every TRACKING_DRAIN_SECONDS)...
DRAIN_FAILURES_UNHEALTHY = 3
# ...or when the oldest event waiting in the buffer is older than this.
BACKLOG_MAX_AGE_SECONDS = 300


def push(event: TrackedEvent) -> bool:
    """Append one event; False when Redis is unavailable (the caller falls back to the DB)."""
    try:
        request_client().xadd(STREAM, {"e": json.dumps(event.to_wire(), separators=(",", ":"))})
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


def read_batch(count: int) -> list[tuple[str, TrackedEvent]]:
    """Up to ``count`` events as (entry id, event): first ones a dead drain left pending,
    then new ones. They stay pending until :func:`ack`."""
    conn = request_client()
    _ensure_group(conn)
    _, claimed, _ = conn.xautoclaim(STREAM, GROUP, _consumer(), CLAIM_IDLE_MS, "0-0", count=count)
    entries = list(claimed)
    if len(entries) < count:
        response = conn.xreadgroup(GROUP, _consumer(), {STREAM: ">"}, count=count - len(entries))
        for _, stream_entries in response or []:
            entries.extend(stream_entries)
    return [
        (_text(entry_id), TrackedEvent.from_wire(json.loads(fields[b"e"]))) for entry_id, fields in entries if fields
    ]


def ack(entry_ids: list[str]) -> None:
    """Forget entries whose events are committed to the database."""
    if entry_ids:
        conn = request_client()
        with conn.pipeline(transaction=False) as pipe:
            pipe.xack(STREAM, GROUP, *entry_ids)
            pipe.xdel(STREAM, *entry_ids)
            pipe.execute()


def backlog() -> int:
    """Events waiting in the stream (new and pending)."""
    return request_client().xlen(STREAM)


def record_drain_failure(error: BaseException) -> None:
    """Noted for /healthz; a Redis that is down itself is reported there directly."""
    with contextlib.suppress(redis.RedisError), request_client().pipeline(transaction=True) as pipe:
        pipe.hincrby(DRAIN_STATUS, "failures", 1)
        pipe.hset(DRAIN_STATUS, mapping={"at": int(time.time()), "error": f"{type(error).__name__}: {error}"[:500]})
        pipe.execute()


def record_drain_success() -> None:
    request_client().delete(DRAIN_STATUS)


def oldest_age_seconds() -> float | None:
    """How long the oldest event still in the stream has waited (its id is its arrival time)."""
    oldest = request_client().xrange(STREAM, count=1)
    if not oldest:
        return None
    arrived_ms = int(_text(oldest[0][0]).partition("-")[0])
    return max(0.0, time.time() - arrived_ms / 1000)


def problem() -> str | None:
    """Why opens and clicks are not reaching the history, in one sentence; None when they are."""
    status = {_text(key): _text(value) for key, value in request_client().hgetall(DRAIN_STATUS).items()}
    failures = int(status.get("failures", 0))
    if failures >= DRAIN_FAILURES_UNHEALTHY:
        return f"the event drain failed {failures} times in a row, last: {status.get('error', '?')}"
    age = oldest_age_seconds()
    if age is not None and age > BACKLOG_MAX_AGE_SECONDS:
        return (
            f"the oldest of {backlog()} tracking events has waited {round(age / 60)} min "
            "(is a Celery worker with beat running?)"
        )
    return None


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def drain_lock() -> redis.lock.Lock:
    """Held by the drain that is running, so beat ticks do not pile up concurrent drains
    whose engagement updates would contend for the same contact rows."""
    return request_client().lock("rapport:events:drain-lock", timeout=600)
