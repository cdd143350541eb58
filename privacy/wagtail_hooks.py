"""The privacy admin: export and erase on the contact page's "More" menu, for those allowed."""

from django.urls import include, path, reverse
from wagtail import hooks
from wagtail.admin.widgets.button import Button

from contacts.models import Contact
from contacts.viewsets import CONTACT_PAGE_BUTTONS_HOOK
from privacy import views

admin_urls = [
    path("contacts/<int:pk>/export/", views.admin_export, name="download"),
    path("contacts/<int:pk>/erase/", views.admin_erase, name="erase"),
]


@hooks.register("register_admin_urls")
def register_privacy_admin_urls():
    return [path("privacy/", include((admin_urls, "privacy_admin"), namespace="privacy_admin"))]


@hooks.register(CONTACT_PAGE_BUTTONS_HOOK)
def contact_page_buttons(contact: Contact, user) -> list[Button]:
    buttons = []
    if user.has_perm("privacy.export_person_data"):
        url = reverse("privacy_admin:download", args=[contact.pk])
        buttons.append(Button("Export this person's data", url=url, icon_name="download", priority=30))
    if user.has_perm("privacy.erase_person_data"):
        url = reverse("privacy_admin:erase", args=[contact.pk])
        buttons.append(Button("Erase this person's data", url=url, icon_name="bin", priority=40))
    return buttons
