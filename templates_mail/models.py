"""Layouts: the HTML shell around a campaign body."""

from django.db import models
from django.utils import timezone


class Layout(models.Model):
    """An HTML shell with its CSS in a <style> block and a ``{{ content }}`` slot.

    The footer must carry the unsubscribe link, the preference-centre link and the
    sender's postal address; the linter refuses a layout that lacks them.
    """

    name = models.CharField(max_length=200, unique=True)
    html = models.TextField(help_text="Full HTML document with a {{ content }} slot.")
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
