import time

from django.core.management.base import BaseCommand, CommandError

from campaigns import progress, services
from campaigns.models import Campaign
from config.cli import check_redis, reason

FINAL = {Campaign.Status.SENT, Campaign.Status.CANCELLED, Campaign.Status.FAILED}


class Command(BaseCommand):
    help = "Queue a campaign for sending now; --wait shows progress and returns when it is finished."

    def add_arguments(self, parser) -> None:
        parser.add_argument("campaign_id", type=int)
        parser.add_argument("--wait", action="store_true", help="Show progress until the campaign is finished.")
        parser.add_argument("--interval", type=float, default=1.0, help="Seconds between progress lines.")

    def handle(self, *args, campaign_id: int, wait: bool, interval: float, **options) -> None:
        campaign = Campaign.objects.filter(pk=campaign_id).first()
        if campaign is None:
            raise CommandError(f"no campaign {campaign_id}")
        if campaign.status in {Campaign.Status.DRAFT, Campaign.Status.SCHEDULED}:
            try:
                check_redis()
            except Exception as error:
                raise CommandError(reason(error)) from None
            try:
                services.send_now(campaign)
            except services.TransitionError as error:
                raise CommandError(str(error)) from None
            self.stdout.write(f"campaign {campaign_id} queued")
        elif not wait or campaign.status in FINAL:
            raise CommandError(
                f"campaign {campaign_id} is {campaign.status}; only a draft or scheduled one can be sent"
            )
        if wait:
            self._wait(campaign, interval)

    def _wait(self, campaign: Campaign, interval: float) -> None:
        while True:
            campaign.refresh_from_db()
            report = progress.progress(campaign)
            rate = f"{report['rate_per_second']}/s" if report["rate_per_second"] is not None else "-/s"
            eta = f"{report['eta_seconds']}s" if report["eta_seconds"] is not None else "-"
            self.stdout.write(
                f"{report['status']}: sent {report['sent']}/{report['total']}, queued {report['queued']}, "
                f"deferred {report['deferred']}, failed {report['failed']}, unknown {report['unknown']}, "
                f"{rate}, eta {eta}"
            )
            if campaign.status in FINAL:
                return
            if campaign.status == Campaign.Status.PAUSED:
                raise CommandError(f"campaign {campaign.pk} paused: {campaign.status_reason}")
            time.sleep(interval)
