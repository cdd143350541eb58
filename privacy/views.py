"""Admin actions on a person (export download, erasure with a confirmation page) and the
person's own pages, reached from the preference centre with its token: "send me my data"
(an emailed, expiring link) and "delete my data" (a confirmation step, then erasure)."""

from __future__ import annotations

import functools
from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_safe

from config.security import public_page
from contacts.models import Contact
from contacts.tokens import Purpose
from privacy import services
from privacy.erasure import placeholder
from privacy.models import DataRequest
from tracking.services import contact_for, sender_name

ZIP = "application/zip"
# The person's pages post forms to themselves. Under "no-referrer" a browser sends such a POST
# with "Origin: null", which Django's CSRF check refuses; "same-origin" keeps the token in the
# address from reaching any other site all the same.
FORM_REFERRER_POLICY = "same-origin"


def form_page(view: Callable) -> Callable:
    """Outside public_page(): its headers, with the referrer policy a self-posting form needs."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        response = view(request, *args, **kwargs)
        response["Referrer-Policy"] = FORM_REFERRER_POLICY
        return response

    return wrapped


def _contact_page(contact: Contact) -> str:
    return reverse(Contact.snippet_viewset.get_url_name("inspect"), args=[contact.pk])


# --- Admin ----------------------------------------------------------------------------------------


@require_safe
@permission_required("privacy.export_person_data", raise_exception=True)
def admin_export(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    """Everything about the contact as a zip archive, streamed as it is written."""
    contact = get_object_or_404(Contact, pk=pk)
    chunks = services.export_archive(contact, channel=DataRequest.Channel.ADMIN, user=request.user)
    response = StreamingHttpResponse(chunks, content_type=ZIP)
    response["Content-Disposition"] = f'attachment; filename="{services.archive_name(contact)}"'
    return response


@require_http_methods(["GET", "HEAD", "POST"])
@permission_required("privacy.erase_person_data", raise_exception=True)
def admin_erase(request: HttpRequest, pk: int) -> HttpResponse:
    """GET explains and asks; POST erases."""
    contact = get_object_or_404(Contact, pk=pk)
    if request.method == "POST":
        services.erase(contact, channel=DataRequest.Channel.ADMIN, user=request.user)
        messages.success(request, f"Contact #{contact.pk} was erased. Only an anonymous record is left.")
        return redirect(_contact_page(contact))
    context = {
        "contact": contact,
        "contact_url": _contact_page(contact),
        "page_title": "Erase this person's data",
        "header_icon": "bin",
    }
    return TemplateResponse(request, "privacy/erase_confirm.html", context)


# --- The person's own pages ------------------------------------------------------------------------


def _person(token: str) -> tuple[Contact, dict]:
    found = contact_for(token, Purpose.PREFERENCES)
    # An erased person has no data left to send or delete.
    if found is None or found[0].email == placeholder(found[0].pk):
        raise Http404("unknown token")
    contact, data = found
    return contact, {"contact": contact, "token": token, "sender_name": sender_name(data.campaign_id)}


@require_http_methods(["GET", "HEAD", "POST"])
@form_page
@public_page()
def my_data(request: HttpRequest, token: str) -> HttpResponse:
    """The person's data page: send me my data (POST), or go on to delete it."""
    contact, context = _person(token)
    if request.method == "POST":
        context["requested"] = True
        context["sent_now"] = services.request_export(contact)
    return render(request, "privacy/my_data.html", context)


@require_http_methods(["GET", "HEAD", "POST"])
@form_page
@public_page()
def delete_my_data(request: HttpRequest, token: str) -> HttpResponse:
    """GET asks for confirmation and changes nothing (link scanners follow links); POST erases."""
    contact, context = _person(token)
    if request.method == "POST":
        services.erase(contact, channel=DataRequest.Channel.PERSON)
        context["erased"] = True
    return render(request, "privacy/delete_my_data.html", context)


@require_safe
@public_page()
def download(request: HttpRequest, token: str) -> FileResponse:
    """The archive behind an emailed link, while the link lasts."""
    stored = services.export_for_token(token)
    if stored is None:
        raise Http404("unknown or expired link")
    response = FileResponse(stored.file.open("rb"), as_attachment=True, filename="your-data.zip", content_type=ZIP)
    response["Cache-Control"] = "private, no-store"
    return response
