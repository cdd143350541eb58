from django import template

from contacts import engagement
from contacts.models import Contact

register = template.Library()


@register.simple_tag
def engagement_summary(contact: Contact) -> engagement.Summary:
    """Score, trend, standing and counts for the contact page."""
    return engagement.summary(contact)
