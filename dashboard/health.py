"""/healthz: is the database reachable, is Redis reachable, do opens and clicks reach the history.

In dashboard, the top app, because it asks every app below how it is doing."""

import time

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from config.redis import probe_client
from tracking import buffer


def _timed(check) -> dict:
    started = time.perf_counter()
    try:
        check()
    except Exception as error:  # a health check reports every failure, never raises
        return {"ok": False, "error": f"{type(error).__name__}: {error}"}
    return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _check_redis() -> None:
    client = probe_client(timeout=1)
    try:
        client.ping()
    finally:
        client.close()


class EventsStuckError(Exception):
    """Tracking events are not reaching the history."""


def _check_events() -> None:
    problem = buffer.problem()
    if problem:
        raise EventsStuckError(problem)


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    checks = {
        "database": _timed(_check_database),
        "redis": _timed(_check_redis),
        "events": _timed(_check_events),
    }
    healthy = all(check["ok"] for check in checks.values())
    return JsonResponse({"status": "ok" if healthy else "error", "checks": checks}, status=200 if healthy else 503)
