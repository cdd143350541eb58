"""A lean WSGI handler for the open pixel and the click redirect.

These two URLs take the bulk of the traffic (an "open storm" after a large send) and need
nothing Django's request cycle offers: no session, user, messages, CSRF or URL resolver.
Going through it costs most of the CPU of each request, so config/wsgi.py hands GET/HEAD
requests for /t/o/<token> and /t/c/<token> straight to :func:`handle`. The views in
tracking/views.py serve the same URLs under the test client and runserver; both call the
same services, so the recorded events and the answers are the same.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core.handlers.wsgi import WSGIRequest
from django.db import close_old_connections
from django.http.request import split_domain_port, validate_host
from django.utils.encoding import iri_to_uri

from config.security import PUBLIC_REFERRER_POLICY
from tracking import services

log = logging.getLogger(__name__)

OPEN_PREFIX, CLICK_PREFIX = "/t/o/", "/t/c/"
FAST_METHODS = {"GET", "HEAD"}
PIXEL_HEADERS = [
    ("Content-Type", "image/gif"),
    ("Content-Length", str(len(services.PIXEL))),
    ("Cache-Control", services.NO_STORE),
]
NOT_FOUND, SERVER_ERROR, BAD_REQUEST = b"Not Found", b"Server Error", b"Bad Request"

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
    secure = is_secure(environ)
    refusal = _refusal(environ, secure)
    if refusal is not None:
        status, headers, body = refusal
    else:
        # As Django's handler does around each request: drop a database connection that is
        # broken or past CONN_MAX_AGE (a click may look its link up, a Redis outage writes
        # the event straight to the database).
        close_old_connections()
        try:
            status, headers, body = _open(environ, token) if prefix == OPEN_PREFIX else _click(environ, token)
        finally:
            close_old_connections()
    start_response(status, headers + security_headers(secure))
    return [b"" if environ.get("REQUEST_METHOD") == "HEAD" else body]


def is_secure(environ: dict[str, Any]) -> bool:
    """As ``HttpRequest.is_secure()``: our proxy's header when one is configured, else the scheme."""
    if settings.SECURE_PROXY_SSL_HEADER:
        header, value = settings.SECURE_PROXY_SSL_HEADER
        if header in environ:
            return environ[header].split(",")[0].strip() == value
    return environ.get("wsgi.url_scheme") == "https"


def _refusal(environ: dict[str, Any], secure: bool) -> tuple[str, list[tuple[str, str]], bytes] | None:
    """What Django's middleware would answer instead of the view: 400 for a Host not in
    ALLOWED_HOSTS, the redirect to https under SECURE_SSL_REDIRECT."""
    if not _host_allowed(_raw_host(environ), tuple(settings.ALLOWED_HOSTS), settings.DEBUG):
        logging.getLogger("django.security.DisallowedHost").warning(
            "Invalid HTTP_HOST header on a tracking URL: %r", _raw_host(environ)
        )
        return "400 Bad Request", _text_headers(BAD_REQUEST), BAD_REQUEST
    if settings.SECURE_SSL_REDIRECT and not secure:
        # Rare (a proxy normally sends only https here), so Django's request object is affordable.
        request = WSGIRequest(environ)
        location = f"https://{settings.SECURE_SSL_HOST or request.get_host()}{request.get_full_path()}"
        return "301 Moved Permanently", [("Location", iri_to_uri(location)), ("Content-Length", "0")], b""
    return None


def _raw_host(environ: dict[str, Any]) -> str:
    if settings.USE_X_FORWARDED_HOST and "HTTP_X_FORWARDED_HOST" in environ:
        return environ["HTTP_X_FORWARDED_HOST"]
    return environ.get("HTTP_HOST") or f"{environ.get('SERVER_NAME', '')}:{environ.get('SERVER_PORT', '')}"


@functools.lru_cache(maxsize=256)
def _host_allowed(host: str, allowed_hosts: tuple[str, ...], debug: bool) -> bool:
    """As ``HttpRequest.get_host()`` decides, remembered: a site sees few distinct hosts, and
    matching them against ALLOWED_HOSTS on every hit would cost more than the rest of it."""
    if debug and not allowed_hosts:
        allowed_hosts = (".localhost", "127.0.0.1", "[::1]")
    domain, _ = split_domain_port(host)
    return bool(domain) and validate_host(domain, allowed_hosts)


def security_headers(secure: bool) -> list[tuple[str, str]]:
    """The headers Django's SecurityMiddleware adds to every other response (HSTS on https
    only, as it does); the token in these URLs is never sent on as a Referer."""
    headers = [("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", PUBLIC_REFERRER_POLICY)]
    if settings.SECURE_HSTS_SECONDS and secure:
        hsts = f"max-age={settings.SECURE_HSTS_SECONDS}"
        if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS:
            hsts += "; includeSubDomains"
        if settings.SECURE_HSTS_PRELOAD:
            hsts += "; preload"
        headers.append(("Strict-Transport-Security", hsts))
    return headers


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
