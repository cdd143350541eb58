from django.core.management.base import BaseCommand, CommandError

from campaigns.models import Campaign
from reports import feeds, growth_rollup


class Command(BaseCommand):
    help = "Recompute the report roll-ups from history (Activity and Message) for one campaign or all, and list growth."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--campaign", type=int, help="only this campaign")

    def handle(self, *args, campaign: int | None = None, **options) -> None:
        if campaign is not None and not Campaign.objects.filter(pk=campaign).exists():
            raise CommandError(f"no campaign with id {campaign}")
        feeds.catch_up()
        read = feeds.rebuild(campaign)
        self.stdout.write(f"rebuilt from {read} events")
        if campaign is None:
            hours = growth_rollup.rebuild()
            self.stdout.write(f"list growth rebuilt over {hours} hours")
