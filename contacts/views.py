"""Admin views of the contacts app that are not plain viewset pages: import mapping and
progress, error reports, exports, notes, list re-validation and the live segment count.
Each checks its permission and hands the work to a service."""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_POST
from django.views.generic import FormView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.views.generic.permissions import PermissionCheckedMixin
from wagtail.snippets.views.snippets import CreateView, EditView, InspectView

from config.enqueue import enqueue_on_commit
from contacts import exporter, import_read, import_states, importer, services
from contacts.forms import ExportForm, ImportMappingForm, NoteForm, rules_from_request
from contacts.models import Contact, ImportJob, MailingList, Segment
from contacts.segments import SegmentError, compile_rules

ERRORS_PER_PAGE = 50


def _inspect_url(instance) -> str:
    return reverse(instance.snippet_viewset.get_url_name("inspect"), args=[instance.pk])


# --- Import ---------------------------------------------------------------------------------------


class ImportUploadView(CreateView):
    """Step 1: upload. The job waits in draft until its columns are mapped."""

    def save_instance(self) -> ImportJob:
        job = self.form.save(commit=False)
        job.original_name = Path(self.request.FILES["file"].name).name[:255]
        job.created_by = self.request.user
        job.save()
        return job

    def get_success_url(self) -> str:
        return reverse("contacts_admin:import_map", args=[self.object.pk])

    def get_context_data(self, **kwargs) -> dict:
        return {
            **super().get_context_data(**kwargs),
            "sample_url": reverse("contacts_admin:import_sample"),
            "columns": importer.mapping_choices()[1:],
            "max_rows": f"{settings.CONTACTS_IMPORT_MAX_ROWS:,}",
            "max_columns": f"{settings.CONTACTS_IMPORT_MAX_COLUMNS:,}",
            "max_megabytes": settings.CONTACTS_IMPORT_MAX_BYTES // (1024 * 1024),
        }


class ImportEditView(EditView):
    """An upload is not edited once made (its file is private and already mapped): show its progress page."""

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        return redirect(reverse(ImportJob.snippet_viewset.get_url_name("inspect"), args=[kwargs["pk"]]))


SAMPLE_CSV = (
    "email,first_name,last_name,company,city,grade,tags\r\n"
    'ann@example.com,Ann,Lee,Acme,Paris,A,"vip,newsletter"\r\n'
    "bob@example.org,Bob,,Globex,Lyon,,\r\n"
)


@permission_required("contacts.add_importjob", raise_exception=True)
def import_sample(request: HttpRequest) -> HttpResponse:
    """A small CSV with the columns an import understands, to fill in."""
    response = HttpResponse("\ufeff" + SAMPLE_CSV, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="contacts-sample.csv"'
    return response


class ImportMappingView(PermissionCheckedMixin, WagtailAdminTemplateMixin, FormView):
    """Step 2: preview the first rows and map each column to a field, then start the import."""

    model = ImportJob
    permission_required = "add"
    form_class = ImportMappingForm
    template_name = "contacts/import_map.html"
    page_title = "Map columns"
    header_icon = "upload"

    def get_breadcrumbs_items(self) -> list[dict]:
        imports = ImportJob.snippet_viewset
        return [
            *self.breadcrumbs_items,
            {
                "url": reverse(imports.get_url_name("list")),
                "label": str(ImportJob._meta.verbose_name_plural).capitalize(),
            },
            {"url": "", "label": f"{self.page_title}: {self.job.original_name}"},
        ]

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        self.job = get_object_or_404(ImportJob, pk=kwargs["pk"], status=ImportJob.Status.DRAFT)
        try:
            self.header, self.rows = importer.preview(self.job)
        except import_read.ImportFileError as error:
            self.header, self.rows, self.file_error = [], [], str(error)
        else:
            self.file_error = ""
        return super().dispatch(request, *args, **kwargs)

    def get_form_kwargs(self) -> dict:
        return {
            **super().get_form_kwargs(),
            "header": self.header,
            "initial_mapping": importer.auto_mapping(self.header),
        }

    def get_context_data(self, **kwargs) -> dict:
        return {
            **super().get_context_data(**kwargs),
            "job": self.job,
            "columns": [import_read.shorten(column) for column in self.header],
            "rows": self.rows,
            "file_error": self.file_error,
        }

    def form_valid(self, form: ImportMappingForm) -> HttpResponse:
        with transaction.atomic():
            import_states.queue_import(self.job, form.mapping())
        return redirect(_inspect_url(self.job))


class ImportProgressView(InspectView):
    """Step 3: progress (the page refreshes itself until the job is finished) and the error report."""

    template_name = "contacts/import_progress.html"
    page_title = "Import"

    def get_fields(self) -> list[str]:
        return ["original_name", "mailing_list", "status", "rows_done", "created", "updated", "error_count"]

    def get_context_data(self, **kwargs) -> dict:
        context = super().get_context_data(**kwargs)
        job = self.object
        context["job"] = job
        context["blank"] = max(job.skipped - job.duplicates - job.unchanged, 0)
        context["error_page"] = Paginator(job.errors, ERRORS_PER_PAGE).get_page(self.request.GET.get("errors"))
        context["running"] = job.status in (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING)
        context["percent"] = min(100, round(100 * job.rows_done / job.rows_total)) if job.rows_total else 0
        context["errors_url"] = reverse("contacts_admin:import_errors", args=[job.pk])
        context["retry_url"] = reverse("contacts_admin:import_retry", args=[job.pk])
        context["can_retry"] = bool(job.file) and job.status in (ImportJob.Status.FAILED, ImportJob.Status.RUNNING)
        return context


@require_POST
@permission_required("contacts.add_importjob", raise_exception=True)
def import_retry(request: HttpRequest, pk: int) -> HttpResponse:
    """Run a failed or interrupted import again; the upserts make a second run harmless."""
    job = get_object_or_404(ImportJob, pk=pk)
    if import_states.queue_import(job, job.mapping):
        messages.success(request, "The import was started again.")
    return redirect(_inspect_url(job))


@permission_required("contacts.view_importjob", raise_exception=True)
def import_error_report(request: HttpRequest, pk: int) -> HttpResponse:
    """Every row an import refused, as CSV (row, email, reason), streamed from the report the import wrote."""
    job = get_object_or_404(ImportJob, pk=pk)
    filename = f"import-{job.pk}-errors.csv"
    if job.error_report:
        response = FileResponse(job.error_report.open("rb"), as_attachment=True, filename=filename)
        response["Content-Type"] = "text/csv; charset=utf-8"
        return response
    # Jobs imported before reports were written to files keep their errors on the row.
    response = StreamingHttpResponse(_error_rows(job.errors), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _error_rows(errors: list[dict]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["row", "email", "reason"])
    yield "\ufeff" + buffer.getvalue()
    for error in errors:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([error["row"], exporter.neutralise(error["email"]), exporter.neutralise(error["reason"])])
        yield buffer.getvalue()


# --- Export ------------------------------------------------------------------------------------------


@permission_required("contacts.export_contact", raise_exception=True)
def export_contacts(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    """Export a list's subscribed members or a segment's contacts, with the fields chosen."""
    if kind == "list":
        source = get_object_or_404(MailingList, pk=pk)
        queryset = Contact.objects.filter(subscriptions__mailing_list=source, subscriptions__status="subscribed")
    elif kind == "segment":
        source = get_object_or_404(Segment, pk=pk)
        queryset = Contact.objects.in_segment(source)
    else:
        raise PermissionDenied
    form = ExportForm(request.POST or None)
    if request.method != "POST" or not form.is_valid():
        context = {"form": form, "source": source, "page_title": f"Export {source}", "header_icon": "download"}
        return TemplateResponse(request, "contacts/export.html", context)
    fields, name = form.cleaned_data["columns"], f"{kind}-{source.pk}"
    if form.cleaned_data["format"] == "csv":
        response = StreamingHttpResponse(exporter.csv_chunks(queryset, fields), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
        return response
    # Written to a temporary file first: openpyxl needs the whole workbook before it can zip it.
    handle = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115 - FileResponse closes it when sent
    exporter.write_xlsx(queryset, fields, handle)
    handle.seek(0)
    return FileResponse(handle, as_attachment=True, filename=f"{name}.xlsx")


# --- Contact page, lists, segments ----------------------------------------------------------------------


@require_POST
@permission_required("contacts.change_contact", raise_exception=True)
def add_note(request: HttpRequest, pk: int) -> HttpResponse:
    contact = get_object_or_404(Contact, pk=pk)
    if not Contact.snippet_viewset.permission_policy.user_has_permission_for_instance(request.user, "change", contact):
        raise PermissionDenied
    form = NoteForm(request.POST)
    if form.is_valid():
        services.add_note(contact, form.cleaned_data["text"], request.user)
        messages.success(request, "Note added.")
    else:
        messages.error(request, "The note was empty or too long.")
    return redirect(_inspect_url(contact))


@permission_required("contacts.change_mailinglist", raise_exception=True)
def revalidate_list(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks for confirmation; POST re-checks the list's addresses in the background."""
    mailing_list = get_object_or_404(MailingList, pk=pk)
    if request.method == "POST":
        enqueue_on_commit("contacts.tasks.revalidate_list", mailing_list.pk)
        messages.success(request, f"Re-validating the addresses of {mailing_list} in the background.")
        return redirect(reverse(mailing_list.snippet_viewset.get_url_name("edit"), args=[mailing_list.pk]))
    context = {"mailing_list": mailing_list, "page_title": "Re-validate addresses", "header_icon": "check"}
    return TemplateResponse(request, "contacts/revalidate_confirm.html", context)


@require_POST
@permission_required("contacts.view_segment", raise_exception=True)
def segment_count(request: HttpRequest) -> JsonResponse:
    """Live count while a segment is edited: the rules (JSON body) in, the number of contacts out."""
    try:
        rules = rules_from_request(request.body)
        return JsonResponse({"count": Contact.objects.filter(compile_rules(rules)).count()})
    except SegmentError as error:
        return JsonResponse({"error": str(error)}, status=400)
