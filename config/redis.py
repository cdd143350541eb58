"""The process's Redis clients, one connection pool each, shared by every app (config may be imported by any).

Two flavours because callers differ in what a slow Redis may cost them: workers (throttle,
send journal, drains) wait for an answer; a request (tracking pixel, click) gives up within
milliseconds and falls back to the database.
"""

from functools import cache

import redis
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver


@cache
def client() -> redis.Redis:
    """For workers and commands: no socket timeout, a Lua script or a lock waits as long as it needs."""
    return redis.Redis.from_url(settings.REDIS_URL)


@cache
def request_client() -> redis.Redis:
    """For request handlers: short timeouts, so a dead Redis costs the request milliseconds, not seconds."""
    return redis.Redis.from_url(
        settings.REDIS_URL, socket_connect_timeout=0.25, socket_timeout=1.0, health_check_interval=30
    )


def probe_client(timeout: float) -> redis.Redis:
    """A one-off client for a health probe, outside the shared pools; the caller closes it."""
    return redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=timeout, socket_timeout=timeout)


@receiver(setting_changed)
def _reset_clients(*, setting: str, **kwargs) -> None:
    if setting == "REDIS_URL":
        client.cache_clear()
        request_client.cache_clear()
