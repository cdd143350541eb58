"""Campaign report sections beyond the roll-ups' headline: the A/B verdict and results per list."""

from __future__ import annotations

from typing import Any

from django.db import connection

from campaigns.models import Campaign, Message
from contacts.models import Activity, MailingList, Subscription
from reports import services, tables
from reports.models import MessageSeen
from reports.rollup import BITS, BOUNCED, HUMAN
from reports.tables import Table

Kind = Activity.Kind
# Fewer people than this delivered in any arm and a difference in rates is mostly chance.
AB_MIN_DELIVERED = 100
METRIC_NAMES = {"opens": ("open_rate", "human open rate"), "clicks": ("click_rate", "human click rate")}


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}%"


def ab_verdict(campaign: Campaign, arms: list[dict[str, Any]]) -> tuple[str | None, str]:
    """The leading arm on the campaign's winning metric and a sentence saying why (or why not yet)."""
    key, name = METRIC_NAMES.get(campaign.ab_metric, METRIC_NAMES["opens"])
    if len(arms) < 2:
        return None, "No winner yet: fewer than two arms have been sent."
    fewest = min(arm["delivered"] for arm in arms)
    if fewest < AB_MIN_DELIVERED:
        return None, (
            f"No winner yet: an arm has {fewest:,} delivered, fewer than the {AB_MIN_DELIVERED:,} "
            f"needed to compare {name}s."
        )
    ranked = sorted(arms, key=lambda arm: (-(arm[key] or 0), arm["variant"]))
    best, runner_up = ranked[0], ranked[1]
    if not best[key]:
        return None, f"No winner yet: no arm has a {name} above zero."
    if (best[key] or 0) == (runner_up[key] or 0):
        return None, f"No winner: {best['label']} and {runner_up['label']} tie on {name}, {_pct(best[key])}."
    each = "each" if all(arm["delivered"] == fewest for arm in arms) else "or more each"
    return best["label"], (
        f"{best['label']} won on {name}, {_pct(best[key])} vs {_pct(runner_up[key])}, over {fewest:,} delivered {each}."
    )


def variants_table(campaign: Campaign) -> Table:
    headers = ["Arm", "Sent", "Delivered", "Opened", "Open rate", "Clicked", "Click rate", "Winner"]
    table = Table("variants", "A/B test arms", headers, chart="bar", series=(3, 5))
    arms = services.variants(campaign)
    winner, table.note = ab_verdict(campaign, arms)
    if campaign.ab_winner is not None:
        table.note += f" The rest of the audience was sent {'ABCD'[campaign.ab_winner]}."
    for arm in arms:
        rates = _pct(arm["open_rate"]), _pct(arm["click_rate"])
        mark = (
            f"won on {METRIC_NAMES.get(campaign.ab_metric, METRIC_NAMES['opens'])[1]}" if arm["label"] == winner else ""
        )
        table.add(arm["label"], arm["sent"], arm["delivered"], arm["opened"], rates[0], arm["clicked"], rates[1], mark)
    return table


def per_list(campaign: Campaign) -> list[dict[str, Any]]:
    """Sent, delivered and people who opened/clicked, per included list, in one grouped query over the
    campaign's messages and their roll-up bits (a contact on two lists counts in both)."""
    list_ids = list(campaign.include_lists.values_list("pk", flat=True))
    if not list_ids:
        return []
    sql = f"""
        SELECT sub.mailing_list_id, COUNT(*),
               SUM(CASE WHEN (seen.flags & %s) <> 0 THEN 1 ELSE 0 END),
               SUM(CASE WHEN (seen.flags & %s) <> 0 THEN 1 ELSE 0 END),
               SUM(CASE WHEN (seen.flags & %s) <> 0 THEN 1 ELSE 0 END)
        FROM {Subscription._meta.db_table} sub
        JOIN {Message._meta.db_table} m ON m.contact_id = sub.contact_id AND m.campaign_id = %s
        JOIN {MessageSeen._meta.db_table} seen ON seen.campaign_id = m.campaign_id AND seen.subject = m.id
        WHERE sub.mailing_list_id IN ({", ".join(["%s"] * len(list_ids))}) AND (seen.flags & %s) <> 0
        GROUP BY sub.mailing_list_id"""  # noqa: S608 - table names from models, values bound
    bits = [BITS[BOUNCED], BITS[Kind.OPENED] << HUMAN, BITS[Kind.CLICKED] << HUMAN]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*bits, campaign.pk, *list_ids, BITS[Kind.SENT]])
        counts = {row[0]: row[1:] for row in cursor.fetchall()}
    names = dict(MailingList.objects.filter(pk__in=list_ids).values_list("pk", "name"))
    result = []
    for list_id in sorted(list_ids, key=lambda pk: names[pk].lower()):
        sent, bounced, opened, clicked = (int(value or 0) for value in counts.get(list_id, (0, 0, 0, 0)))
        delivered = sent - bounced
        result.append(
            {
                "list": names[list_id],
                "sent": sent,
                "delivered": delivered,
                "opened": opened,
                "clicked": clicked,
                "open_rate": services.rate(opened, delivered),
                "click_rate": services.rate(clicked, delivered),
            }
        )
    return result


def lists_table(campaign: Campaign) -> Table:
    headers = ["List", "Sent", "Delivered", "People who opened", "Open rate", "People who clicked", "Click rate"]
    table = Table("lists", "Results per list of the audience", headers, chart="bar", series=(3, 5))
    table.note = "A contact on several of the campaign's lists counts in each; deleted contacts are not shown."
    for row in per_list(campaign):
        table.add(
            row["list"],
            row["sent"],
            row["delivered"],
            row["opened"],
            _pct(row["open_rate"]),
            row["clicked"],
            _pct(row["click_rate"]),
        )
    return table


def campaign_tables(campaign: Campaign) -> list[Table]:
    report = services.campaign_report(campaign.pk)
    deferred = services.deferred(campaign.pk)
    result = [
        tables.delivery(campaign, report, deferred),
        tables.engagement(campaign, report),
        tables.over_time(campaign),
        tables.links(campaign, report),
        tables.domains(report),
        tables.devices(campaign),
    ]
    if campaign.ab_test_share:
        result.append(variants_table(campaign))
    result.append(lists_table(campaign))
    answered = services.answers(campaign.pk)
    if answered:
        result.append(tables.answers(answered))
    return result
