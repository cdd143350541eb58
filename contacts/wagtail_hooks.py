"""Registers the contacts admin: the viewset group, its extra URLs and the bulk actions."""

from django.urls import include, path
from wagtail import hooks
from wagtail.snippets.bulk_actions.snippet_bulk_action import SnippetBulkAction
from wagtail.snippets.models import register_snippet

from contacts import services, views
from contacts.forms import AddToListForm, TagForm
from contacts.models import Contact
from contacts.viewsets import AudienceGroup

register_snippet(AudienceGroup)

admin_urls = [
    path("imports/<int:pk>/map/", views.ImportMappingView.as_view(), name="import_map"),
    path("imports/<int:pk>/errors.csv", views.import_error_report, name="import_errors"),
    path("imports/<int:pk>/retry/", views.import_retry, name="import_retry"),
    path("imports/sample.csv", views.import_sample, name="import_sample"),
    path("export/<str:kind>/<int:pk>/", views.export_contacts, name="export"),
    path("contacts/<int:pk>/notes/", views.add_note, name="add_note"),
    path("lists/<int:pk>/revalidate/", views.revalidate_list, name="revalidate_list"),
    path("segments/count/", views.segment_count, name="segment_count"),
]


@hooks.register("register_admin_urls")
def register_contacts_admin_urls():
    return [path("audience/", include((admin_urls, "contacts_admin"), namespace="contacts_admin"))]


class ContactBulkAction(SnippetBulkAction):
    """Bulk actions on contacts need the marketer's permission to change any contact."""

    models = [Contact]

    def check_perm(self, contact: Contact) -> bool:
        return self.request.user.has_perm("contacts.change_any_contact")


@hooks.register("register_bulk_action")
class AddToListBulkAction(ContactBulkAction):
    display_name = "Add to list"
    action_type = "add_to_list"
    aria_label = "Add the selected contacts to a list"
    template_name = "contacts/bulk_actions/add_to_list.html"
    form_class = AddToListForm
    action_priority = 10

    def get_execution_context(self) -> dict:
        return {"mailing_list": self.cleaned_form.cleaned_data["mailing_list"]}

    @classmethod
    def execute_action(cls, objects, mailing_list=None, **kwargs):
        return services.add_to_list([contact.pk for contact in objects], mailing_list), 0

    def get_success_message(self, num_parent_objects: int, num_child_objects: int) -> str:
        return f"{num_parent_objects} contacts added; unsubscribed, suppressed and existing members were left out."


@hooks.register("register_bulk_action")
class TagBulkAction(ContactBulkAction):
    display_name = "Tag"
    action_type = "tag"
    aria_label = "Tag the selected contacts"
    template_name = "contacts/bulk_actions/tag.html"
    form_class = TagForm
    action_priority = 20

    def get_execution_context(self) -> dict:
        return {"tag": self.cleaned_form.cleaned_data["tag"]}

    @classmethod
    def execute_action(cls, objects, tag=None, **kwargs):
        return services.tag_contacts([contact.pk for contact in objects], tag), 0

    def get_success_message(self, num_parent_objects: int, num_child_objects: int) -> str:
        return f"{num_parent_objects} contacts tagged."


@hooks.register("register_bulk_action")
class UnsubscribeBulkAction(ContactBulkAction):
    display_name = "Unsubscribe"
    action_type = "unsubscribe"
    aria_label = "Unsubscribe the selected contacts from everything"
    template_name = "contacts/bulk_actions/unsubscribe.html"
    action_priority = 25
    classes = {"serious"}

    @classmethod
    def execute_action(cls, objects, **kwargs):
        return services.unsubscribe_many([contact.pk for contact in objects], source="admin"), 0

    def get_success_message(self, num_parent_objects: int, num_child_objects: int) -> str:
        return f"{num_parent_objects} contacts unsubscribed."
