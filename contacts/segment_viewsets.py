"""The segments admin: the visual rule builder on the form and each segment's size in the list."""

from __future__ import annotations

from django.urls import reverse
from wagtail.admin.panels import FieldPanel
from wagtail.admin.ui.tables import Column
from wagtail.admin.widgets.button import HeaderButton
from wagtail.snippets.views.snippets import (
    CreateView,
    EditView,
    IndexView,
)

from contacts.choosers import RoleSnippetViewSet
from contacts.forms import SegmentForm
from contacts.models import Contact, Segment
from contacts.segment_builder import SegmentRulesWidget
from contacts.segments import count_members

# Hook name: ``fn(contact, user) -> list[Button]`` adds entries to the contact page's "More" menu.


class SegmentEditView(EditView):
    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["count_url"] = reverse("contacts_admin:segment_count")
        context["member_count"] = Contact.objects.in_segment(self.object).count()
        return context

    @property
    def header_more_buttons(self) -> list:
        url = reverse("contacts_admin:export", args=["segment", self.object.pk])
        return [*super().header_more_buttons, HeaderButton("Export", url=url, icon_name="download")]


class SegmentIndexView(IndexView):
    """Each segment's number of contacts, counted for the whole page in one query."""

    def paginate_queryset(self, queryset, page_size):
        paginator, page, object_list, is_paginated = super().paginate_queryset(queryset, page_size)
        page.object_list = list(object_list)
        counts = count_members(page.object_list)
        for segment in page.object_list:
            segment.member_count = counts[segment.pk]
        return paginator, page, page.object_list, is_paginated


class SegmentCreateView(CreateView):
    """A new segment is built with the same live count as an edited one; no rules yet: everyone."""

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["count_url"] = reverse("contacts_admin:segment_count")
        context["member_count"] = Contact.objects.count()
        return context


class SegmentViewSet(RoleSnippetViewSet):
    model = Segment
    icon = "filter"
    index_view_class = SegmentIndexView
    add_view_class = SegmentCreateView
    create_template_name = "contacts/segment_create.html"
    edit_view_class = SegmentEditView
    edit_template_name = "contacts/segment_edit.html"
    list_display = [
        "name",
        Column("member_count", label="Contacts", accessor=lambda segment: _count_text(segment.member_count)),
        "updated_at",
    ]
    search_fields = ["name"]
    search_backend_name = None
    panels = [FieldPanel("name"), FieldPanel("description"), FieldPanel("rules", widget=SegmentRulesWidget)]

    def get_form_class(self, for_update: bool = False):
        return type("SegmentAdminForm", (SegmentForm, super().get_form_class(for_update)), {})


def _count_text(count: int | None) -> str:
    return "invalid rules" if count is None else f"{count:,}"
