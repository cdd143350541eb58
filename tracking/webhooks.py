"""Mounting and authentication of django-anymail's ESP webhooks under /esp/.

Anymail accepts any POST to any ESP's webhook when no secret is configured (it only logs an
``AnymailInsecureWebhookWarning``), and a webhook that can bounce, suppress or unsubscribe
any address must never be open to the web. So:

- only the ESP that ``EMAIL_URL`` names is mounted; every other path under /esp/ is a 404;
- a webhook whose secret (basic auth in ``WEBHOOK_SECRET`` or the ESP's own signature key)
  is not configured refuses every request; anymail then checks the secret it has;
- a payload that fails to parse is a 400 and a failed check a 403, both as a short JSON
  error rather than a 500 or a debug page.

The events themselves are handled in tracking/esp.py.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from anymail import urls as anymail_urls
from anymail.exceptions import AnymailError, AnymailWebhookValidationFailure
from anymail.utils import get_anymail_setting
from anymail.webhooks.mailgun import MailgunBaseWebhookView
from anymail.webhooks.mandrill import MandrillSignatureMixin
from anymail.webhooks.postal import PostalBaseWebhookView
from anymail.webhooks.resend import SvixWebhookValidationMixin
from anymail.webhooks.sendgrid import SendGridBaseWebhookView
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import URLPattern, URLResolver
from django.urls.exceptions import Resolver404
from django.urls.resolvers import RegexPattern
from django.views.decorators.csrf import csrf_exempt

log = logging.getLogger(__name__)

ANYMAIL_BACKEND_PREFIX = "anymail.backends."


class BadPayloadError(Exception):
    """The ESP's request body could not be read as the ESP's payload."""


def configured_esp() -> str | None:
    """The anymail ESP that sends our mail (``EMAIL_URL=postmark://``), else None."""
    backend = settings.EMAIL_BACKEND
    if not backend.startswith(ANYMAIL_BACKEND_PREFIX):
        return None
    return backend.removeprefix(ANYMAIL_BACKEND_PREFIX).split(".")[0]


def _signature_settings(view_class: type) -> tuple[tuple[str, ...], bool]:
    """The anymail settings holding the ESP's signature key for this view (any one of them
    enables the check), and whether anymail requires it (else basic auth may stand in)."""
    if issubclass(view_class, MailgunBaseWebhookView):
        return ("webhook_signing_key", "api_key"), True  # anymail falls back to the API key
    if issubclass(view_class, (MandrillSignatureMixin, PostalBaseWebhookView)):
        return ("webhook_key",), True
    if issubclass(view_class, SvixWebhookValidationMixin):
        return (view_class._secret_setting_name,), False
    if issubclass(view_class, SendGridBaseWebhookView):
        return (view_class.key_setting_name,), False
    return (), False


def _anymail_setting(name: str, esp_name: str | None = None) -> str:
    return get_anymail_setting(name, esp_name=esp_name, default=None) or ""


def missing_secret(view_class: type) -> str | None:
    """The setting to add before this webhook may be used; None when it is secured."""
    names, required = _signature_settings(view_class)
    esp_name = view_class.esp_name
    if any(_anymail_setting(name, esp_name) for name in names):
        return None
    prefix = "ANYMAIL_" + esp_name.upper().replace(" ", "_") + "_"
    signature = " or ".join(prefix + name.upper() for name in names)
    if required:
        return signature
    if _anymail_setting("webhook_secret"):
        return None
    return " or ".join(filter(None, ["ANYMAIL_WEBHOOK_SECRET", signature]))


def _belongs_to(pattern: URLPattern, esp: str) -> bool:
    return str(pattern.pattern).removeprefix("^").startswith(f"{esp}/")


@functools.cache
def _guarded(view_class: type) -> type:
    """The anymail view with its parse errors turned into :class:`BadPayloadError`, so they are
    told apart from a failure of our own event handling (a 500 the ESP retries)."""
    return type(view_class.__name__, (_PayloadErrors, view_class), {"__module__": __name__})


class _PayloadErrors:
    def run_validators(self, request: HttpRequest) -> None:
        with _as_bad_payload():
            super().run_validators(request)

    def parse_events(self, request: HttpRequest) -> list:
        with _as_bad_payload():
            return list(super().parse_events(request))


@contextmanager
def _as_bad_payload() -> Iterator[None]:
    try:
        yield
    except AnymailWebhookValidationFailure:
        raise
    except (ValueError, KeyError, TypeError, AttributeError, AnymailError) as error:
        raise BadPayloadError(str(error)[:200]) from error


@functools.cache
def esp_resolver(esp: str) -> URLResolver:
    """Anymail's webhook URLs of one ESP (tracking and inbound), relative to /esp/."""
    patterns = [
        URLPattern(
            pattern.pattern,
            _guarded(pattern.callback.view_class).as_view(**pattern.callback.view_initkwargs),
            name=pattern.name,
        )
        for pattern in anymail_urls.urlpatterns
        if _belongs_to(pattern, esp)
    ]
    return URLResolver(RegexPattern(r"^"), patterns)


def _error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


@csrf_exempt
def esp_webhook(request: HttpRequest, path: str) -> HttpResponse:
    """Every request under /esp/: to the configured ESP's anymail view when it is secured."""
    esp = configured_esp()
    try:
        match = esp_resolver(esp).resolve(path) if esp else None
    except Resolver404:
        match = None
    if match is None:
        return _error(404, "no such webhook")
    view_class = match.func.view_class
    missing = missing_secret(view_class)
    if missing:
        log.error("%s webhook refused: set %s", view_class.esp_name, missing)
        return _error(403, "webhook secret not configured")
    try:
        return match.func(request, *match.args, **match.kwargs)
    except AnymailWebhookValidationFailure as failure:
        log.warning("%s webhook refused: %s", view_class.esp_name, failure)
        return _error(403, "webhook authentication failed")
    except BadPayloadError as bad:
        log.warning("%s webhook with a bad payload: %s", view_class.esp_name, bad)
        return _error(400, "malformed payload")


def unsecured_webhooks(esp: str) -> dict[str, str]:
    """The mounted webhooks of ``esp`` that refuse every request, each with the setting it
    needs (for the deploy check)."""
    found = {}
    for pattern in esp_resolver(esp).url_patterns:
        missing = missing_secret(pattern.callback.view_class)
        if missing:
            found[f"/esp/{pattern.pattern}"] = missing
    return found
