"""The public signup endpoints: /f/<slug>/ (a page, an embeddable form's target, and JSON),
its ALTCHA challenge, and the confirmation page whose button (a POST) confirms.

The form endpoint is CSRF-exempt on purpose: embedded forms post from other sites, which
cannot hold our CSRF cookie. The honeypot, the signed fill-time, the proof-of-work challenge
and the Redis rate limits protect it instead, and it only ever sends an email that asks the
address owner to confirm."""

from __future__ import annotations

import json

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse, QueryDict
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods, require_safe

from config.security import with_public_headers
from signups import abuse, services
from signups.forms import VisitorForm
from signups.models import SignupForm
from tracking.services import visitor_from

# Our own script and the ALTCHA widget (its workers run from blob: URLs), our own
# challenge endpoint, inline styles; a form may post only here.
SIGNUP_PAGE_CSP = (
    "default-src 'none'; script-src 'self'; worker-src 'self' blob:; connect-src 'self'; "
    "style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
_CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type, Accept",
    "Access-Control-Max-Age": "600",
}


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "") or request.content_type == "application/json"


def _cors(response: HttpResponse) -> HttpResponse:
    for name, value in _CORS.items():
        response[name] = value
    return response


def _posted(request: HttpRequest) -> QueryDict:
    """The POSTed fields, from a form body or a JSON object (sites posting themselves)."""
    if request.content_type != "application/json":
        return request.POST
    data = QueryDict(mutable=True)
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        body = {}
    for key, value in body.items() if isinstance(body, dict) else ():
        if isinstance(value, list):
            data.setlist(key, [str(item) for item in value])
        else:
            data[key] = str(value)
    return data


def _client_ip(request: HttpRequest) -> str:
    return visitor_from(request.META).ip


@csrf_exempt
@never_cache
@require_http_methods(["GET", "HEAD", "POST", "OPTIONS"])
def signup(request: HttpRequest, slug: str) -> HttpResponse:
    form_model = get_object_or_404(SignupForm, slug=slug)
    if request.method == "OPTIONS":
        return _cors(HttpResponse(status=204))
    wants_json = _wants_json(request)
    if request.method == "POST":
        form = VisitorForm(form_model, _posted(request))
        outcome, status = _handle(request, form)
    else:
        form, outcome, status = (
            VisitorForm(form_model, initial={abuse.TIMESTAMP_FIELD: abuse.form_timestamp()}),
            "",
            200,
        )
    if wants_json:
        return _cors(JsonResponse(_as_json(form_model, form, outcome), status=status))
    if outcome == "done" and form_model.redirect_url:
        return HttpResponseRedirect(form_model.redirect_url)
    if outcome and outcome != "done":
        form.data = form.data.copy()
        form.data[abuse.TIMESTAMP_FIELD] = abuse.form_timestamp()
    context = {
        "signup_form": form_model,
        "form": form,
        "outcome": outcome,
        "message": MESSAGES.get(outcome, ""),
    }
    return with_public_headers(render(request, "signups/form.html", context, status=status), SIGNUP_PAGE_CSP)


def _handle(request: HttpRequest, form: VisitorForm) -> tuple[str, int]:
    """("done", 200) for every signup we accept or silently drop; otherwise a reason."""
    if form.is_bot():
        return "done", 200
    if not form.is_valid():
        return "invalid", 400
    if not form.filled_in_time():
        return "too_fast", 400
    if not form.challenge_solved():
        return "challenge", 400
    if not abuse.within_rate_limits(_client_ip(request), form.cleaned_data["email"]):
        return "rate_limited", 429
    services.submit(
        services.Signup(
            form=form.signup_form,
            email=form.cleaned_data["email"],
            ip_hash=abuse.ip_hash(_client_ip(request)),
            profile=form.profile(),
            chosen_list_ids=form.cleaned_data.get("lists"),
        )
    )
    return "done", 200


MESSAGES = {
    "invalid": "Please correct the fields marked below.",
    "too_fast": "That was quicker than we expected. Please wait a moment and send the form again.",
    "challenge": "We could not check that you are a person. Please wait for the check to finish and send again.",
    "rate_limited": "Too many signups from your network just now. Please try again in a few minutes.",
}


def _as_json(form_model: SignupForm, form: VisitorForm, outcome: str) -> dict:
    if outcome == "done":
        return {"ok": True, "message": form_model.thank_you_text, "redirect": form_model.redirect_url or None}
    if outcome:
        return {"ok": False, "error": outcome, "message": MESSAGES[outcome], "fields": form.errors.get_json_data()}
    return {
        "name": form_model.name,
        "fields": [
            {"name": name, "label": str(field.label), "required": field.required}
            for name, field in form.fields.items()
            if name not in {abuse.HONEYPOT_FIELD, abuse.TIMESTAMP_FIELD, abuse.CHALLENGE_FIELD, "lists"}
        ],
        "lists": [
            {"id": row.mailing_list_id, "name": row.mailing_list.name} for row in services.offered_lists(form_model)
        ]
        if form_model.visitor_chooses_lists
        else [],
        "consent_text": form_model.consent_text,
        "consent_version": form_model.consent_version,
        "ts": abuse.form_timestamp(),
        "honeypot": abuse.HONEYPOT_FIELD,
        "challenge": reverse("signups_challenge", args=[form_model.slug]) if _challenge_on() else None,
    }


def _challenge_on() -> bool:
    return settings.SIGNUP_CHALLENGE


@never_cache
@require_safe
def challenge(request: HttpRequest, slug: str) -> HttpResponse:
    get_object_or_404(SignupForm, slug=slug)
    if not _challenge_on():
        raise Http404("the challenge is off")
    return _cors(JsonResponse(abuse.new_challenge()))


@require_http_methods(["GET", "HEAD", "POST"])
@csrf_protect
@never_cache
def confirm(request: HttpRequest, slug: str, token: str) -> HttpResponse:
    """GET shows a button and changes nothing (mail scanners follow links); the POST confirms."""
    pending = services.pending_for(slug, token)
    if pending is None:
        raise Http404("unknown or expired confirmation")
    already = pending.state == pending.State.CONFIRMED
    if request.method == "POST":
        services.confirm_signup(pending)
    context = {"signup_form": pending.form, "done": request.method == "POST" or already}
    response = with_public_headers(render(request, "signups/confirm.html", context))
    # Without a referrer the browser sends "Origin: null" with the button's POST, which the
    # CSRF check refuses; same-origin keeps the token-bearing URL on our own site.
    response["Referrer-Policy"] = "same-origin"
    return response
