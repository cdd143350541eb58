"""Celery tasks of the send pipeline: thin wrappers taking ids; the work is in pipeline/services."""

from celery import shared_task

from campaigns import pipeline, reputation, services


@shared_task
def start_campaign(campaign_id: int) -> bool:
    return services.start(campaign_id)


@shared_task
def send_batch(campaign_id: int, batch: int) -> None:
    pipeline.send_batch(campaign_id, batch)


@shared_task
def tick() -> None:
    """Every few seconds from beat: due campaigns, dead workers' claims, stalled sends, A/B winners,
    and the reputation guard."""
    services.start_due()
    pipeline.reclaim_expired_leases()
    pipeline.redispatch_stalled()
    services.decide_due_ab_tests()
    reputation.guard_sending_campaigns()
