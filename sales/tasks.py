"""Celery tasks of the deals / lost customers / grades half of sales: thin wrappers for beat."""

from celery import shared_task

from sales import grades, lost


@shared_task(ignore_result=True)
def detect_lost_customers() -> None:
    lost.detect_lost_customers()


@shared_task(ignore_result=True)
def apply_grade_rules() -> None:
    grades.apply_nightly()
