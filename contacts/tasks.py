"""Celery tasks of the contacts app: thin wrappers that take ids and call the services.

Nothing imports this module but Celery's autodiscovery: services enqueue these by name
(config/enqueue.py)."""

from celery import shared_task

from contacts import importer, services


@shared_task(ignore_result=True)
def run_import_job(job_id: int) -> None:
    importer.run_job(job_id)


@shared_task(ignore_result=True)
def revalidate_list(list_id: int) -> None:
    services.revalidate_list(list_id)
