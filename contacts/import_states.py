"""An import job's states: queued (after commit), claimed by one worker, progress, finished or failed."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from config.enqueue import enqueue_on_commit
from contacts.models import (
    Activity,
    ImportJob,
)

Kind = Activity.Kind


IMPORT_TASK = "contacts.tasks.run_import_job"


def queue_import(job: ImportJob, mapping: dict[str, str]) -> bool:
    """Save the column mapping and start the import after commit; False if the job already ran."""
    # A job whose file the retention policy deleted cannot run again.
    queued = (
        ImportJob.objects.filter(
            pk=job.pk, status__in=[ImportJob.Status.DRAFT, ImportJob.Status.FAILED, ImportJob.Status.RUNNING]
        )
        .exclude(file="")
        .update(status=ImportJob.Status.QUEUED, mapping=mapping, failure="")
    )
    if queued:
        enqueue_on_commit(IMPORT_TASK, job.pk)
    return bool(queued)


def claim_import(job_id: int) -> ImportJob | None:
    """Take a queued job to running; None when another delivery of the task took it first."""
    if not ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.QUEUED).update(
        status=ImportJob.Status.RUNNING, started_at=timezone.now(), rows_done=0, rows_total=0
    ):
        return None
    return ImportJob.objects.select_related("mailing_list").get(pk=job_id)


def record_import_progress(job_id: int, **counts: Any) -> None:
    """Counts of a running job (rows_total, rows_done, created...), for its progress page."""
    ImportJob.objects.filter(pk=job_id).update(**counts)


def finish_import(job_id: int, *, error_report: str, **counts: Any) -> None:
    ImportJob.objects.filter(pk=job_id).update(
        status=ImportJob.Status.DONE, error_report=error_report, finished_at=timezone.now(), **counts
    )


def fail_import(job_id: int, failure: str) -> None:
    ImportJob.objects.filter(pk=job_id).update(
        status=ImportJob.Status.FAILED, failure=failure, finished_at=timezone.now()
    )
