"""The two staff roles, created (and kept up to date) after every migrate.

- Marketers manage contacts, lists, segments, suppressions, imports, layouts and campaigns
  (with their sender identities and images), and may send.
- Sales see every contact and its history, the hot-leads list, orders and lost customers, and
  record orders; they edit only the profile fields and notes of contacts they own (see
  contacts/viewsets.py: ContactPermissionPolicy), and work their own tasks (My day).
  Marketers also import orders and set grade rules.
- Sales managers are sales staff who also see and reassign the whole team's tasks and edit
  the task rules.

Permissions of apps above contacts are named by app label and codename, never imported.
"""

from typing import Any

from django.apps import apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission
from django.db.models import Q

MARKETERS = "Marketers"
SALES = "Sales"
ADMIN_ACCESS = ("wagtailadmin", "access_admin")
# Every permission of these apps' models.
MARKETERS_APPS = ("contacts", "templates_mail")
CRUD = ("add", "change", "delete", "view")
MARKETERS_PERMISSIONS = [
    ADMIN_ACCESS,
    *[
        ("campaigns", f"{action}_{model}")
        for model in ("campaign", "campaignvariant", "senderidentity")
        for action in CRUD
    ],
    ("campaigns", "send_campaign"),
    ("campaigns", "view_message"),
    # A person's data requests (export, erasure) are the data controller's: marketers, not sales.
    ("privacy", "export_person_data"),
    ("privacy", "erase_person_data"),
    *[("automations", f"{action}_journey") for action in CRUD],
    *[
        ("signups", f"{action}_{model}")
        for model in ("signupform", "signupformlist", "welcomeemail")
        for action in CRUD
    ],
    # Orders (edited and imported), lost customers, grade rules.
    *[("sales", f"{action}_deal") for action in CRUD],
    ("sales", "import_deal"),
    ("sales", "view_customerhealth"),
    ("sales", "change_gradepolicy"),
    ("sales", "apply_gradepolicy"),
    ("reports", "view_reports"),
]
# Images for campaign bodies, granted on the root collection (Wagtail's images are per collection).
MARKETERS_IMAGE_PERMISSIONS = ["add_image", "change_image", "delete_image", "choose_image"]
SALES_PERMISSIONS = [
    ADMIN_ACCESS,
    ("contacts", "view_contact"),
    ("contacts", "change_contact"),
    ("contacts", "view_activity"),
    # Their own tasks: My day, the contact page's follow-up and call log, the task admin.
    *[("sales", f"{action}_task") for action in ("add", "change", "view")],
    # They record orders from the contact page and see lost customers; imports and grade rules are the marketers'.
    ("sales", "view_deal"),
    ("sales", "add_deal"),
    ("sales", "change_deal"),
    ("sales", "view_customerhealth"),
    # Sales see how campaigns did (what their contacts opened and clicked), not how to send them.
    ("reports", "view_reports"),
]
# Sales managers: everything sales staff have, plus the whole team's tasks and the task rules.
SALES_MANAGERS = "Sales managers"
SALES_MANAGERS_PERMISSIONS = [
    *SALES_PERMISSIONS,
    ("sales", "delete_task"),
    ("sales", "view_team_tasks"),
    *[("sales", f"{action}_taskrule") for action in CRUD],
]


def _permissions(using: str, names: list[tuple[str, str]], whole_apps: tuple[str, ...] = ()) -> list[Permission]:
    wanted = Q(content_type__app_label__in=whole_apps)
    for app_label, codename in names:
        wanted |= Q(content_type__app_label=app_label, codename=codename)
    return list(Permission.objects.using(using).filter(wanted))


def _grant_images(group: Group, using: str) -> None:
    if not apps.is_installed("wagtail.images"):
        return
    from wagtail.models import Collection, GroupCollectionPermission

    root = Collection.objects.using(using).filter(depth=1).first()
    if root is None:
        return
    for permission in Permission.objects.using(using).filter(
        content_type__app_label="wagtailimages", codename__in=MARKETERS_IMAGE_PERMISSIONS
    ):
        GroupCollectionPermission.objects.using(using).get_or_create(
            group=group, collection=root, permission=permission
        )


def ensure_groups(using: str = "default", **kwargs: Any) -> None:
    """Idempotent post_migrate handler: create both groups and give them their permissions."""
    # Our handler can run before auth's own post_migrate handler has created these apps' permissions.
    named = MARKETERS_PERMISSIONS + SALES_MANAGERS_PERMISSIONS
    labels = {label for label, _ in named} | {*MARKETERS_APPS, "wagtailimages"}
    for app_label in labels & {config.label for config in apps.get_app_configs()}:
        create_permissions(apps.get_app_config(app_label), verbosity=0, using=using)
    marketers, _ = Group.objects.using(using).get_or_create(name=MARKETERS)
    marketers.permissions.add(*_permissions(using, MARKETERS_PERMISSIONS, MARKETERS_APPS))
    _grant_images(marketers, using)
    sales, _ = Group.objects.using(using).get_or_create(name=SALES)
    sales.permissions.add(*_permissions(using, SALES_PERMISSIONS))
    managers, _ = Group.objects.using(using).get_or_create(name=SALES_MANAGERS)
    managers.permissions.add(*_permissions(using, SALES_MANAGERS_PERMISSIONS))
