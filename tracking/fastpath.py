"""A lean WSGI handler for the open pixel and the click redirect.

These two URLs take the bulk of the traffic (an "open storm" after a large send) and need
nothing Django's request cycle offers: no session, user, messages, CSRF or URL resolver.
Going through it costs most of the CPU of each request, so config/wsgi.py hands GET/HEAD
requests for /t/o/<token> and /t/c/<token> straight to :func:`handle`. The views in
tracking/views.py serve the same URLs under the test client and runserver; both call the
same services, so the recorded events and the answers are the same.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from django.db import close_old_connections
from django.utils.encoding import iri_to_uri

from tracking import services

log = logging.getLogger(__name__)

OPEN_PREFIX, CLICK_PREFIX = "/t/o/", "/t/c/"
FAST_METHODS = {"GET", "HEAD"}
PIXEL_HEADERS = [
    ("Content-Type", "image/gif"),
    ("Content-Length", str(len(services.PIXEL))),
    ("Cache-Control", services.NO_STORE),
    ("X-Content-Type-Options", "nosniff"),
]
NOT_FOUND, SERVER_ERROR = b"Not Found", b"Server Error"

WSGIApp = Callable[[dict[str, Any], Callable], Iterable[bytes]]


def token_of(environ: dict[str, Any]) -> tuple[str, str] | None:
    """(prefix, token) when the request is one the fast path serves; None hands it to Django
    (other methods get their 405 there, a token with a slash its 404, like the URL pattern)."""
    if environ.get("REQUEST_METHOD") not in FAST_METHODS:
        return None
    path = environ.get("PATH_INFO", "")
    for prefix in (OPEN_PREFIX, CLICK_PREFIX):
        if path.startswith(prefix):
            token = path[len(prefix) :]
            return (prefix, token) if token and "/" not in token else None
    return None


def dispatcher(django_app: WSGIApp) -> WSGIApp:
    """The site's WSGI application: tracking hits to :func:`handle`, everything else to Django."""

    def application(environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        found = token_of(environ)
        if found is None:
            return django_app(environ, start_response)
        return handle(environ, start_response, *found)

    return application


def handle(environ: dict[str, Any], start_response: Callable, prefix: str, token: str) -> Iterable[bytes]:
    # As Django's handler does around each request: drop a database connection that is
    # broken or past CONN_MAX_AGE (a click may look its link up, a Redis outage writes
    # the event straight to the database).
    close_old_connections()
    try:
        status, headers, body = _open(environ, token) if prefix == OPEN_PREFIX else _click(environ, token)
    finally:
        close_old_connections()
    start_response(status, headers)
    return [b"" if environ.get("REQUEST_METHOD") == "HEAD" else body]


def _open(environ: dict[str, Any], token: str) -> tuple[str, list[tuple[str, str]], bytes]:
    try:
        services.track_open(token, services.visitor_from(environ))
    except Exception:
        log.exception("open not recorded")
    return "200 OK", PIXEL_HEADERS, services.PIXEL


def _click(environ: dict[str, Any], token: str) -> tuple[str, list[tuple[str, str]], bytes]:
    try:
        target = services.track_click(token, services.visitor_from(environ))
    except Exception:
        log.exception("click not served")
        return "500 Internal Server Error", _text_headers(SERVER_ERROR), SERVER_ERROR
    if target is None:
        return "404 Not Found", _text_headers(NOT_FOUND), NOT_FOUND
    # As HttpResponseRedirect does: a link with non-ASCII characters is sent percent-encoded.
    headers = [("Location", iri_to_uri(target)), ("Content-Length", "0"), ("Cache-Control", services.NO_STORE)]
    return "302 Found", headers, b""


def _text_headers(body: bytes) -> list[tuple[str, str]]:
    return [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))]
