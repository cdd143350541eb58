"""One-line reasons for command-line failures (DESIGN: every command exits non-zero with a
one-line reason). manage.py turns any exception a command lets escape into one of these
lines; ``--traceback`` still shows the whole traceback."""

from __future__ import annotations

from collections.abc import Iterator

import redis
from django.conf import settings
from django.db import DatabaseError
from kombu.exceptions import OperationalError as BrokerError

MISSING_TABLE_HINTS = ("no such table", "does not exist")


def _chain(error: BaseException) -> Iterator[BaseException]:
    """The error and the errors it was raised from or while handling, innermost last."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def reason(error: BaseException) -> str:
    """Why a command failed, in one line, naming what to fix when it is a known cause."""
    for link in _chain(error):
        if isinstance(link, (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, BrokerError)):
            return f"cannot reach Redis at {settings.REDIS_URL} ({_first_line(link)}); start it or set REDIS_URL"
        if isinstance(link, DatabaseError):
            if any(hint in str(link) for hint in MISSING_TABLE_HINTS):
                return f"the database is not set up ({_first_line(link)}); run `python manage.py migrate`"
            return f"database error: {_first_line(link)}"
    return f"{type(error).__name__}: {_first_line(error)}"


def check_redis() -> None:
    """Raise redis' ConnectionError at once when Redis is down, instead of letting Celery
    retry for half a minute (logging a traceback each time) before it gives up."""
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    finally:
        client.close()
