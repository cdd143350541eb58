from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "campaigns"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from campaigns.directory import CampaignDirectory
        from contacts import timeline

        timeline.register_campaign_directory(CampaignDirectory())
