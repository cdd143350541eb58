"""The contacts admin: viewsets for contacts, lists, segments, suppressions and imports.

Marketers (``contacts.change_any_contact``) edit everything here. Sales staff have
``view_contact`` and ``change_contact`` without ``change_any_contact``: they see every
contact and its history, and edit only the profile fields and notes of contacts they own.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.urls import reverse
from django_filters import CharFilter, ChoiceFilter, ModelChoiceFilter
from wagtail import hooks
from wagtail.admin.filters import WagtailFilterSet
from wagtail.admin.panels import FieldPanel, ObjectList
from wagtail.admin.ui.tables import Column, TitleColumn
from wagtail.admin.widgets.button import Button, HeaderButton
from wagtail.permission_policies import ModelPermissionPolicy
from wagtail.permissions import register_permission_policy
from wagtail.snippets.views.snippets import (
    CreateView,
    EditView,
    IndexView,
    InspectView,
    SnippetViewSetGroup,
)

from contacts import custom_fields, services, timeline, views
from contacts.choosers import RoleSnippetViewSet
from contacts.custom_fields import CustomFieldsPanel
from contacts.forms import ContactForm, ImportUploadForm
from contacts.models import Contact, CustomField, ImportJob, MailingList, Suppression

# Hook name: ``fn(contact, user) -> list[Button]`` adds entries to the contact page's "More" menu.
from contacts.segment_viewsets import SegmentViewSet
from contacts.segments import SegmentError, compile_rules
from contacts.services import PROFILE_EDIT_FIELDS

CONTACT_PAGE_BUTTONS_HOOK = "register_contact_page_buttons"
# The hook apps above contacts register to add a section to the contact page (see page_sections).
CONTACT_PAGE_SECTIONS = "contact_page_sections"


def is_marketer(user) -> bool:
    return user.has_perm("contacts.change_any_contact")


class ContactPermissionPolicy(ModelPermissionPolicy):
    """change_contact alone (sales) reaches only the contacts the user owns."""

    def user_has_permission_for_instance(self, user, action: str, instance: Contact) -> bool:
        allowed = super().user_has_permission_for_instance(user, action, instance)
        if action == "change" and allowed and not is_marketer(user):
            return instance.owner_id == user.pk
        return allowed

    def instances_user_has_permission_for(self, user, action: str) -> QuerySet[Contact]:
        instances = super().instances_user_has_permission_for(user, action)
        if action == "change" and not is_marketer(user):
            return instances.filter(owner_id=user.pk)
        return instances


register_permission_policy(Contact, ContactPermissionPolicy(Contact))


# --- Contacts ---------------------------------------------------------------------------------------


class ContactFilterSet(WagtailFilterSet):
    mailing_list = ModelChoiceFilter(
        label="List", field_name="subscriptions__mailing_list", queryset=MailingList.objects.all(), distinct=True
    )
    tag = CharFilter(label="Tag", field_name="tags__name", distinct=True)
    region = CharFilter(label="Region", lookup_expr="iexact")
    industry = CharFilter(label="Industry", lookup_expr="iexact")
    standing = ChoiceFilter(choices=Contact.Standing.choices)
    custom = CharFilter(label="Custom field (key=value)", method="filter_custom")

    class Meta:
        model = Contact
        fields = ["status", "grade", "owner"]

    def filter_custom(self, queryset: QuerySet[Contact], name: str, value: str) -> QuerySet[Contact]:
        key, _, wanted = value.partition("=")
        try:
            return queryset.filter(
                compile_rules({"field": f"custom.{key.strip()}", "op": "contains", "value": wanted.strip()})
            )
        except SegmentError:
            return queryset.none()


class ContactIndexView(IndexView):
    def get_base_queryset(self) -> QuerySet[Contact]:
        return super().get_base_queryset().select_related("owner")

    def _get_title_column(self, field_name: str, column_class=TitleColumn, **kwargs) -> Column:
        # The contact's page is the person, open to every role; Edit is one of its actions.
        column_class = self._get_title_column_class(column_class)
        return self._get_custom_column(field_name, column_class, get_url=self.get_inspect_url, **kwargs)

    def get_edit_url(self, instance: Contact) -> str | None:
        # Sales edit only the contacts they own: no Edit action that ends in "permission denied".
        if not self.permission_policy.user_has_permission_for_instance(self.request.user, "change", instance):
            return None
        return super().get_edit_url(instance)

    @property
    def header_buttons(self) -> list:
        # Where people look for it: importing starts from the contacts list, for those allowed to import.
        buttons = list(super().header_buttons)
        if self.request.user.has_perm("contacts.add_importjob"):
            url = reverse(ImportJob.snippet_viewset.get_url_name("add"))
            buttons.append(HeaderButton("Import", url=url, icon_name="upload"))
        return buttons


class SalesPanelMixin:
    """Sales staff get a form with only the profile fields and notes."""

    def get_panel(self):
        if is_marketer(self.request.user):
            return super().get_panel()
        return ObjectList([FieldPanel(name) for name in PROFILE_EDIT_FIELDS]).bind_to_model(Contact)

    def get_form_class(self):
        # The viewset hands every edit view the full form; sales get the one built from their panel.
        if is_marketer(self.request.user):
            return super().get_form_class()
        return self.panel.get_form_class()


class ContactCreateView(CreateView):
    def save_instance(self) -> Contact:
        instance = self.form.save(commit=False)
        services.update_profile(instance, list(self.form.changed_data) or ["email"], self.request.user)
        self.form.save_m2m()
        return instance


class ContactEditView(SalesPanelMixin, EditView):
    def get_object(self, queryset=None) -> Contact:
        contact = super().get_object(queryset)
        if not self.permission_policy.user_has_permission_for_instance(self.request.user, "change", contact):
            raise PermissionDenied
        return contact

    def save_instance(self) -> Contact:
        instance = self.form.save(commit=False)
        tags_before = list(Contact.objects.get(pk=instance.pk).tags.names())
        services.update_profile(instance, list(self.form.changed_data), self.request.user)
        self.form.save_m2m()
        services.record_tag_change(instance, tags_before, self.request.user)
        return instance


class ContactInspectView(InspectView):
    """The contact page is the person: profile, standing and score trend, lists, owner, notes
    and a readable history, paged and newest first; Edit is an action for those allowed."""

    template_name = "contacts/contact_page.html"
    page_title = "Contact"

    def get_edit_url(self) -> str | None:
        if not self.permission_policy.user_has_permission_for_instance(self.request.user, "change", self.object):
            return None
        return super().get_edit_url()

    @property
    def header_buttons(self) -> list:
        edit_url = self.get_edit_url()
        return [HeaderButton("Edit", url=edit_url, icon_name="edit")] if edit_url else []

    @property
    def header_more_buttons(self) -> list:
        delete_url = self.get_delete_url()
        buttons = [Button("Delete", url=delete_url, icon_name="bin", priority=20)] if delete_url else []
        # Apps above contacts add their actions on a person (export, erase...) without contacts knowing them.
        for hook in hooks.get_hooks(CONTACT_PAGE_BUTTONS_HOOK):
            buttons.extend(hook(self.object, self.request.user))
        return buttons

    def get_fields(self) -> list[str]:
        return []

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        contact = self.object
        history, entries = timeline.page(contact, self.request.GET.get("page"))
        context.update(
            contact=contact,
            profile=profile_rows(contact),
            custom_fields=custom_fields.display(contact),
            history=history,
            entries=entries,
            subscriptions=contact.subscriptions.select_related("mailing_list").order_by("mailing_list__name"),
            tags=list(contact.tags.names()),
            note_url=reverse("contacts_admin:add_note", args=[contact.pk]),
            can_add_note=self.get_edit_url() is not None,
            sections=page_sections(self.request, contact),
        )
        return context


def page_sections(request, contact: Contact) -> list[str]:
    """HTML sections that apps above contacts add to the contact page (tasks, orders...):
    each ``contact_page_sections`` hook takes (request, contact) and returns HTML or ""."""
    return [html for hook in hooks.get_hooks(CONTACT_PAGE_SECTIONS) if (html := hook(request, contact))]


def profile_rows(contact: Contact) -> list[tuple[str, str]]:
    """The filled-in profile fields, labelled, in display order."""
    rows = [(Contact._meta.get_field(name).verbose_name, getattr(contact, name)) for name in Contact.PROFILE_FIELDS]
    return [(str(label).capitalize(), value) for label, value in rows if value]


class ContactViewSet(RoleSnippetViewSet):
    model = Contact
    icon = "user"
    menu_label = "Contacts"
    index_view_class = ContactIndexView
    add_view_class = ContactCreateView
    edit_view_class = ContactEditView
    inspect_view_class = ContactInspectView
    inspect_view_enabled = True
    filterset_class = ContactFilterSet
    list_display = ["email", "full_name", "company", "grade", "status", "standing", "owner"]
    search_fields = ["email", "first_name", "last_name", "company"]
    search_backend_name = None
    list_per_page = 50
    ordering = ["email"]
    panels = [
        FieldPanel("email"),
        *[FieldPanel(name) for name in PROFILE_EDIT_FIELDS if name != "notes"],
        FieldPanel("grade"),
        FieldPanel("source"),
        FieldPanel("owner"),
        FieldPanel("tags"),
        CustomFieldsPanel(heading="Custom fields"),
        FieldPanel("notes"),
    ]

    def get_form_class(self, for_update: bool = False):
        form_class = super().get_form_class(for_update)
        return type("ContactAdminForm", (ContactForm, form_class), {})


# --- Lists, segments, suppressions, custom fields -----------------------------------------------------


class MailingListIndexView(IndexView):
    def get_base_queryset(self) -> QuerySet[MailingList]:
        return (
            super()
            .get_base_queryset()
            .annotate(members=Count("subscriptions", filter=Q(subscriptions__status="subscribed")))
        )


class MailingListEditView(EditView):
    @property
    def header_more_buttons(self) -> list:
        buttons = list(super().header_more_buttons)
        buttons.append(
            HeaderButton(
                "Export", url=reverse("contacts_admin:export", args=["list", self.object.pk]), icon_name="download"
            )
        )
        buttons.append(
            HeaderButton(
                "Re-validate addresses",
                url=reverse("contacts_admin:revalidate_list", args=[self.object.pk]),
                icon_name="check",
            )
        )
        return buttons


class MailingListViewSet(RoleSnippetViewSet):
    model = MailingList
    icon = "list-ul"
    index_view_class = MailingListIndexView
    edit_view_class = MailingListEditView
    list_display = ["name", "slug", Column("members", label="Subscribed members"), "double_opt_in", "is_public"]
    search_fields = ["name", "slug"]
    search_backend_name = None
    panels = [
        FieldPanel("name"),
        FieldPanel("slug"),
        FieldPanel("description"),
        FieldPanel("double_opt_in"),
        # Without it every list, internal ones included, is joinable from the preference centre.
        FieldPanel("is_public"),
    ]


class SuppressionCreateView(CreateView):
    def save_instance(self) -> Suppression:
        data = self.form.cleaned_data
        services.suppress(email=data["email"], domain=data["domain"], reason=data["reason"], source="admin")
        if data["email"]:
            return Suppression.objects.get(email=data["email"].strip().lower())
        return Suppression.objects.get(domain=data["domain"].strip().lower().lstrip("@"))


class SuppressionViewSet(RoleSnippetViewSet):
    model = Suppression
    icon = "warning"
    add_view_class = SuppressionCreateView
    list_display = ["email", "domain", "reason", "source", "created_at"]
    list_filter = ["reason"]
    search_fields = ["email", "domain"]
    search_backend_name = None
    panels = [FieldPanel("email"), FieldPanel("domain"), FieldPanel("reason"), FieldPanel("note")]


class CustomFieldViewSet(RoleSnippetViewSet):
    model = CustomField
    icon = "form"
    list_display = ["label", "key", "kind"]


# --- Imports --------------------------------------------------------------------------------------------


class ImportJobViewSet(RoleSnippetViewSet):
    model = ImportJob
    icon = "upload"
    menu_label = "Imports"
    add_view_class = views.ImportUploadView
    edit_view_class = views.ImportEditView
    inspect_view_class = views.ImportProgressView
    inspect_view_enabled = True
    list_display = ["__str__", "status", "rows_done", "created", "updated", "skipped", "error_count", "created_at"]
    list_filter = ["status"]
    # A plain drop-down of lists: choosing one in a modal chooser is a detour on a one-field step.
    panels = [FieldPanel("file"), FieldPanel("mailing_list", widget=forms.Select), FieldPanel("check_dns")]

    def get_form_class(self, for_update: bool = False):
        return type("ImportJobAdminForm", (ImportUploadForm, super().get_form_class(for_update)), {})


class AudienceGroup(SnippetViewSetGroup):
    menu_label = "Audience"
    menu_icon = "group"
    menu_order = 150
    items = (
        ContactViewSet,
        MailingListViewSet,
        SegmentViewSet,
        SuppressionViewSet,
        ImportJobViewSet,
        CustomFieldViewSet,
    )
