"""Thin Celery wrappers around the report feeds."""

from celery import shared_task

from reports import feeds, growth_rollup

# A run stops after this many id ranges so a backlog cannot pin a worker; the next tick carries on.
CATCH_UP_MAX_STEPS = 50


@shared_task(ignore_result=True)
def catch_up() -> int:
    return feeds.catch_up(max_steps=CATCH_UP_MAX_STEPS) + growth_rollup.catch_up()


@shared_task(ignore_result=True)
def recount_growth() -> int:
    return growth_rollup.rebuild()
