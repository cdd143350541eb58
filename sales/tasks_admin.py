"""Admin for tasks and task rules (Wagtail viewsets). A salesperson lists and edits their own
tasks; a manager (``sales.view_team_tasks``) everyone's. Rules show their dry-run count: how
many tasks they would make if switched on (or run) now."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django_filters import BooleanFilter, ChoiceFilter
from wagtail.admin.filters import WagtailFilterSet
from wagtail.admin.panels import FieldPanel, FieldRowPanel, MultiFieldPanel
from wagtail.admin.ui.tables import Column, DateColumn, TitleColumn
from wagtail.admin.views.generic import EditView, IndexView
from wagtail.admin.viewsets.model import ModelViewSet

from sales import rules
from sales.models import Task, TaskRule
from sales.tasks_views import TEAM, person


class TaskFilterSet(WagtailFilterSet):
    kind = ChoiceFilter(choices=Task.Kind.choices)
    open = BooleanFilter(field_name="done_at", lookup_expr="isnull", label="Open")

    class Meta:
        model = Task
        fields = ["kind", "open", "owner", "origin"]


class TaskIndexView(IndexView):
    def get_base_queryset(self) -> QuerySet[Task]:
        tasks = super().get_base_queryset().select_related("contact", "owner")
        return tasks if self.request.user.has_perm(TEAM) else tasks.filter(owner=self.request.user)


class TaskEditView(EditView):
    def get_object(self, queryset=None) -> Task:
        task = super().get_object(queryset)
        if task.owner_id != self.request.user.pk and not self.request.user.has_perm(TEAM):
            raise PermissionDenied
        return task


class TaskViewSet(ModelViewSet):
    model = Task
    icon = "tasks"
    menu_label = "Tasks"
    add_to_admin_menu = False
    index_view_class = TaskIndexView
    edit_view_class = TaskEditView
    filterset_class = TaskFilterSet
    list_per_page = 50
    ordering = ["done_at", "due_at"]
    columns = [
        TitleColumn("title", label="Task", accessor=str, url_name="sales_tasks:edit"),
        Column("contact"),
        Column("owner", accessor=lambda task: person(task.owner)),
        Column("kind", accessor="get_kind_display"),
        DateColumn("due_at", label="Due"),
        DateColumn("done_at", label="Done"),
        Column("reminder", accessor="get_reminder_display"),
    ]
    panels = [
        FieldPanel("contact"),
        FieldRowPanel([FieldPanel("kind"), FieldPanel("priority")]),
        FieldPanel("title"),
        FieldRowPanel([FieldPanel("owner"), FieldPanel("due_at")]),
        FieldPanel("note"),
        FieldPanel("done_at"),
    ]

    def get_common_view_kwargs(self, **kwargs):
        return super().get_common_view_kwargs(**{"header_icon": "tasks", **kwargs})


def dry_run_count(rule: TaskRule) -> int:
    return rules.dry_run(rule)


class TaskRuleEditView(EditView):
    def get_context_data(self, **kwargs):
        if self.request.method == "GET":
            state = "makes" if self.object.enabled else "would make, once switched on,"
            count = dry_run_count(self.object)
            tasks = f"{count} task{'s' if count != 1 else ''}"
            messages.info(self.request, f"Dry run: this rule {state} {tasks} now (saved settings).")
        return super().get_context_data(**kwargs)


class TaskRuleViewSet(ModelViewSet):
    model = TaskRule
    icon = "cogs"
    menu_label = "Task rules"
    add_to_admin_menu = False
    edit_view_class = TaskRuleEditView
    columns = [
        TitleColumn("name", url_name="sales_task_rules:edit"),
        Column("trigger", accessor="get_trigger_display"),
        Column("enabled", accessor=lambda rule: "on" if rule.enabled else "off"),
        Column("dry_run", label="Would make now", accessor=dry_run_count),
        Column("last_created", label="Made last run"),
        DateColumn("last_run_at", label="Last run"),
    ]
    panels = [
        FieldPanel("name"),
        FieldPanel("trigger"),
        MultiFieldPanel(
            [FieldPanel("url_pattern"), FieldPanel("threshold"), FieldPanel("count"), FieldPanel("date_field")],
            heading="Trigger settings",
        ),
        MultiFieldPanel(
            [FieldPanel("task_kind"), FieldPanel("task_title"), FieldPanel("due_in_days")], heading="Task it makes"
        ),
        FieldPanel("enabled"),
    ]
