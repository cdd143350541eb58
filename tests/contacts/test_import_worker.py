"""An import job run by a real Celery worker process through the Redis broker."""

import pytest
from django.core.files.base import ContentFile

from config.celery import app
from contacts.models import Contact, ImportJob
from tests.conftest import wait_until


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.filterwarnings("ignore::celery.exceptions.AlwaysEagerIgnored")
def test_a_real_worker_runs_a_queued_import_job(start_worker):
    job = ImportJob(original_name="people.csv", check_dns=False, status=ImportJob.Status.QUEUED)
    job.file.save("people.csv", ContentFile(b"email,first_name\nann@example.com,Ann\nbroken,X\n"), save=False)
    job.save()
    try:
        start_worker()
        app.send_task("contacts.tasks.run_import_job", args=[job.pk])  # through the broker, not eagerly
        # Generous bound: a worker process starting on a busy 2-core machine can take a minute.
        wait_until(lambda: ImportJob.objects.get(pk=job.pk).status == ImportJob.Status.DONE, message="import")
        job.refresh_from_db()
        assert (job.rows_total, job.created, [error["row"] for error in job.errors]) == (2, 1, [3])
        assert Contact.objects.get().first_name == "Ann"
    finally:
        job.file.delete(save=False)
