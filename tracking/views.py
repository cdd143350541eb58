"""Recipient-facing endpoints. They never show an error page for our own failures: the
pixel is always served and a known link always redirects; recording problems are logged."""

import logging

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods, require_safe

from config.security import PUBLIC_REFERRER_POLICY, WEB_VERSION_CSP, public_page
from contacts.tokens import Purpose, TokenData, make_token
from tracking import answers, services
from tracking.forms import PreferencesForm

log = logging.getLogger(__name__)


@require_safe
def open_pixel(request: HttpRequest, token: str) -> HttpResponse:
    try:
        services.track_open(token, services.visitor_from(request.META))
    except Exception:
        log.exception("open not recorded")
    response = HttpResponse(services.PIXEL, content_type="image/gif")
    response["Cache-Control"] = services.NO_STORE
    response["Referrer-Policy"] = PUBLIC_REFERRER_POLICY  # as tracking/fastpath.py answers
    return response


@require_safe
def click(request: HttpRequest, token: str) -> HttpResponse:
    target = services.track_click(token, services.visitor_from(request.META))
    if target is None:
        raise Http404("unknown link")
    response = HttpResponseRedirect(target)
    response["Cache-Control"] = services.NO_STORE
    response["Referrer-Policy"] = PUBLIC_REFERRER_POLICY  # as tracking/fastpath.py answers
    return response


@require_safe
@public_page(WEB_VERSION_CSP)
def web_version(request: HttpRequest, token: str) -> HttpResponse:
    html = services.web_version(token)
    if html is None:
        raise Http404("unknown message")
    response = HttpResponse(html)
    response["Cache-Control"] = "private, no-store"
    return response


@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
@public_page()
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET asks for confirmation and changes nothing. A POST whose body is
    ``List-Unsubscribe=One-Click`` comes from the mailbox provider (RFC 8058) and carries
    no CSRF token, so it is honoured at once; every other POST is the page's own form and
    goes through the CSRF check."""
    found = services.contact_for(token, Purpose.UNSUBSCRIBE)
    if found is None:
        raise Http404("unknown token")
    contact, data = found
    if request.method == "POST" and request.POST.get("List-Unsubscribe") == "One-Click":
        services.unsubscribe(contact, data, source="one-click")
        return HttpResponse("Unsubscribed.", content_type="text/plain")
    return csrf_protect(_unsubscribe_page)(request, contact, data)


def _unsubscribe_page(request: HttpRequest, contact, data: TokenData) -> HttpResponse:
    done = None
    if request.method == "POST":
        if request.POST.get("action") == "resubscribe":
            done = "resubscribed" if services.resubscribe(contact) else "not_resubscribed"
        else:
            services.unsubscribe(contact, data, source="link")
            done = "unsubscribed"
    preferences = make_token(TokenData(Purpose.PREFERENCES, contact.pk, data.message_id, data.campaign_id))
    context = {
        "contact": contact,
        "done": done,
        "preferences_token": preferences,
        "sender_name": services.sender_name(data.campaign_id),
    }
    return render(request, "tracking/unsubscribe.html", context)


@require_http_methods(["GET", "HEAD", "POST"])
@public_page()
def preferences(request: HttpRequest, token: str) -> HttpResponse:
    found = services.contact_for(token, Purpose.PREFERENCES)
    if found is None:
        raise Http404("unknown token")
    contact, data = found
    saved = False
    if request.method == "POST":
        # No instance: validating would write the answers into ``contact`` before the service compares them.
        form = PreferencesForm(request.POST)
        if form.is_valid():
            services.update_preferences(
                contact,
                lists=list(form.cleaned_data["lists"]),
                frequency=form.cleaned_data["frequency"],
                pause_days=form.cleaned_data["pause_days"],
                profile=form.profile(),
            )
            saved = True
    else:
        initial = {"lists": services.subscribed_list_ids(contact), "pause_days": 0}
        form = PreferencesForm(instance=contact, initial=initial)
    unsubscribe_token = make_token(TokenData(Purpose.UNSUBSCRIBE, contact.pk, data.message_id, data.campaign_id))
    context = {
        "contact": contact,
        "form": form,
        "saved": saved,
        "unsubscribe_token": unsubscribe_token,
        "preferences_token": token,
        "sender_name": services.sender_name(data.campaign_id),
    }
    return render(request, "tracking/preferences.html", context)


@require_http_methods(["GET", "HEAD", "POST"])
@public_page()
def answer(request: HttpRequest, token: str) -> HttpResponse:
    """A satisfaction answer: GET thanks and records it unless a link scanner fetched it
    (tracking/answers.py); the comment form's POST (CSRF-checked) always records it."""
    found = services.contact_for(token, Purpose.ANSWER)
    if found is None or answers.answer_for(found[1]) is None:
        raise Http404("unknown token")
    contact, data = found
    saved = False
    if request.method == "POST":
        answers.record_answer(contact, data, comment=request.POST.get("comment", "").strip())
        saved = True
    elif request.method == "GET" and answers.is_person(request.META.get("HTTP_USER_AGENT", "")):
        answers.record_answer(contact, data)
    scale, score = answers.answer_for(data)
    context = {"saved": saved, "scale": scale, "score": score, "sender_name": services.sender_name(data.campaign_id)}
    response = render(request, "tracking/answer.html", context)
    response["Cache-Control"] = "private, no-store"
    return response
