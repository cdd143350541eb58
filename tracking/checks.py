"""System checks for ``manage.py check --deploy``."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error, Tags, register

from tracking.webhooks import configured_esp, unsecured_webhooks


@register(Tags.security, deploy=True)
def esp_webhooks_have_secrets(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """An ESP without a webhook secret cannot report bounces and complaints: every webhook
    request is refused rather than trusted."""
    esp = configured_esp()
    if esp is None:
        return []
    return [
        Error(
            f"The {esp} webhook {path} has no secret, so it refuses every request.",
            hint=f"Set {setting} (see README, Security).",
            id="rapport.E001",
        )
        for path, setting in unsecured_webhooks(esp).items()
    ]
