import json

from django.core.management.base import BaseCommand, CommandError

from campaigns.models import Campaign
from reports import feeds, services


class Command(BaseCommand):
    help = "Print a campaign's report: delivery, bounces, complaints, opens and clicks (human and machine apart)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("campaign_id", type=int)
        parser.add_argument("--json", action="store_true", dest="as_json", help="one JSON document on stdout")

    def handle(self, *args, campaign_id: int, as_json: bool = False, **options) -> None:
        if not Campaign.objects.filter(pk=campaign_id).exists():
            raise CommandError(f"no campaign with id {campaign_id}")
        feeds.catch_up()
        report = services.campaign_report(campaign_id)
        if as_json:
            self.stdout.write(_dumps(report))
            return
        for name in ("sent", "delivered", "failed", "complaints", "unsubscribes"):
            self.stdout.write(f"{name:>13}: {report[name]}")
        self.stdout.write(f"{'bounced':>13}: {report['bounced']['hard']} hard, {report['bounced']['soft']} soft")
        for name in ("opens", "clicks"):
            figures = report[name]
            self.stdout.write(
                f"{name:>13}: {figures['unique_human']} people ({figures['unique']} with machines), "
                f"{figures['total_human']} human of {figures['total']} in all"
            )


def _dumps(report: dict) -> str:
    return json.dumps(report, ensure_ascii=False)
