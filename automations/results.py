"""Per-email results on a journey's flow page. The figures come from the reports app, which sits
above automations: it fills them through the ``rapport_campaign_results`` hook defined here,
``hook(campaign_ids, user) -> {campaign_id: {"sent", "opened", "clicked", "report_url"}}``
(opened and clicked count people, machine activity left out; a user who may not read reports
gets nothing)."""

from __future__ import annotations

from typing import Any

from wagtail import hooks

HOOK = "rapport_campaign_results"


def email_results(emails: list[dict[str, Any]], user) -> list[dict[str, Any]]:
    """``emails`` (services.email_campaigns: every version and pass of each email step) with their
    figures added: "sent", "opened", "clicked" and "report_url", None (and the link empty) when
    no app reports them to this user."""
    found: dict[int, dict[str, Any]] = {}
    for hook in hooks.get_hooks(HOOK):
        found.update(hook([row["campaign"] for row in emails], user))
    blank = {"sent": None, "opened": None, "clicked": None, "report_url": ""}
    return [{**row, **blank, **found.get(row["campaign"], {})} for row in emails]
