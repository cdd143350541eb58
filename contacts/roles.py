"""The two staff roles of the contacts admin, created (and kept up to date) after every migrate.

- Marketers edit everything in the contacts app, import and export.
- Sales see contacts and their history; they edit only the profile fields and notes of
  contacts they own (see contacts/viewsets.py: ContactPermissionPolicy).
"""

from typing import Any

from django.apps import apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission

MARKETERS = "Marketers"
SALES = "Sales"
ADMIN_ACCESS = ("wagtailadmin", "access_admin")
SALES_PERMISSIONS = [("contacts", "view_contact"), ("contacts", "change_contact"), ("contacts", "view_activity")]


def ensure_groups(using: str = "default", **kwargs: Any) -> None:
    """Idempotent post_migrate handler: create both groups and give them their permissions."""
    # Our handler can run before auth's own post_migrate handler has created this app's permissions.
    create_permissions(apps.get_app_config("contacts"), verbosity=0, using=using)
    contacts_permissions = Permission.objects.using(using).filter(content_type__app_label="contacts")
    admin_access = Permission.objects.using(using).filter(
        content_type__app_label=ADMIN_ACCESS[0], codename=ADMIN_ACCESS[1]
    )
    marketers, _ = Group.objects.using(using).get_or_create(name=MARKETERS)
    marketers.permissions.add(*contacts_permissions, *admin_access)
    sales, _ = Group.objects.using(using).get_or_create(name=SALES)
    sales_codenames = [codename for _, codename in SALES_PERMISSIONS]
    sales.permissions.add(*contacts_permissions.filter(codename__in=sales_codenames), *admin_access)
