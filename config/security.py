"""Response headers of the pages anyone on the web can open: the web version, the unsubscribe
and preference pages, and error pages. They carry a personal token in their URL and show
content we did not all write (a campaign's raw HTML), so they get a strict
Content-Security-Policy and send no Referer to any other site."""

from __future__ import annotations

import functools
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.views import defaults

# Our own pages: an inline stylesheet and same-origin forms, nothing else.
PUBLIC_PAGE_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
# A campaign as a web page: a sandbox (no script, an opaque origin, so no cookie and no
# same-origin request) whose links may still open in a new tab; images and styles from anywhere.
WEB_VERSION_CSP = (
    "sandbox allow-popups allow-popups-to-escape-sandbox; default-src 'none'; "
    "img-src https: http: data:; style-src 'unsafe-inline' https: http:; font-src https: http: data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
# Not "no-referrer": under it browsers post our own forms with "Origin: null", which Django's
# CSRF check refuses. "same-origin" still keeps the token in the URL from every other site.
PUBLIC_REFERRER_POLICY = "same-origin"


def with_public_headers(response: HttpResponse, policy: str = PUBLIC_PAGE_CSP) -> HttpResponse:
    response["Content-Security-Policy"] = policy
    response["Referrer-Policy"] = PUBLIC_REFERRER_POLICY
    return response


def public_page(policy: str = PUBLIC_PAGE_CSP) -> Callable:
    """View decorator: the response gets ``policy`` and the referrer policy (error pages raised by
    the view get them from the handlers below)."""

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            return with_public_headers(view(request, *args, **kwargs), policy)

        return wrapped

    return decorator


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    return with_public_headers(defaults.bad_request(request, exception))


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    return with_public_headers(defaults.permission_denied(request, exception))


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    return with_public_headers(defaults.page_not_found(request, exception))


def server_error(request: HttpRequest) -> HttpResponse:
    return with_public_headers(defaults.server_error(request))
