"""Celery tasks of the send pipeline: thin wrappers taking ids; the work is in the modules they call.

Only Celery's autodiscovery imports this module; the rest of the app enqueues these tasks
by name through campaigns.queue.
"""

from celery import shared_task

from campaigns import claims, reputation, sender, services


@shared_task
def start_campaign(campaign_id: int) -> bool:
    return services.start(campaign_id)


@shared_task
def send_batch(campaign_id: int, batch: int) -> None:
    sender.send_batch(campaign_id, batch)


@shared_task
def tick() -> None:
    """Every few seconds from beat: due campaigns, dead workers' claims, stalled sends, A/B winners,
    and the reputation guard."""
    services.start_due()
    claims.reclaim_expired_leases()
    claims.redispatch_stalled()
    services.decide_due_ab_tests()
    reputation.guard_sending_campaigns()
