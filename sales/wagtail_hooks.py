"""Registers the sales admin: My day (with its badge), tasks, task rules and the contact page's
tasks; and the "Customers" menu group (lost customers, orders, grade rules) with the contact
page's Orders section."""

from django.template.loader import render_to_string
from django.urls import path, reverse
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.admin.ui.sidebar import LinkMenuItem
from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import SnippetViewSetGroup

from sales import my_day, tasks_views
from sales.deal_views import DealViewSet, contact_orders_panel, import_orders
from sales.grade_views import GradeRulesViewSet
from sales.lost_views import LostCustomersViewSet
from sales.models import Task
from sales.tasks_admin import TaskRuleViewSet, TaskViewSet


@hooks.register("register_admin_urls")
def sales_task_urls() -> list:
    return [
        path("my-day/", tasks_views.MyDayView.as_view(), name="sales_my_day"),
        path("my-day/tasks/<int:pk>/<slug:action>/", tasks_views.task_action, name="sales_task_action"),
        path("contacts/<int:pk>/follow-up/", tasks_views.follow_up, name="sales_follow_up"),
        path("contacts/<int:pk>/log-call/", tasks_views.log_call, name="sales_log_call"),
    ]


@hooks.register("register_admin_viewset")
def register_tasks() -> TaskViewSet:
    return TaskViewSet("sales_tasks", url_prefix="tasks")


@hooks.register("register_admin_viewset")
def register_task_rules() -> TaskRuleViewSet:
    return TaskRuleViewSet("sales_task_rules", url_prefix="task-rules")


class MyDayMenuItem(MenuItem):
    """ "My day", with the number of the user's overdue and today's tasks when there are any."""

    def is_shown(self, request) -> bool:
        return request.user.has_perm(tasks_views.VIEW)

    def render_component(self, request) -> LinkMenuItem:
        # Menu items are cached across requests: the count goes into this request's component only.
        count = my_day.badge_count(request.user)
        label = f"{self.label} ({count})" if count else self.label
        return LinkMenuItem(self.name, label, self.url, icon_name=self.icon_name, attrs=self.attrs)


@hooks.register("register_admin_menu_item")
def my_day_menu_item() -> MenuItem:
    return MyDayMenuItem("My day", reverse("sales_my_day"), name="my-day", icon_name="date", order=240)


class RulesMenuItem(MenuItem):
    def is_shown(self, request) -> bool:
        return request.user.has_perm("sales.change_taskrule")


@hooks.register("register_admin_menu_item")
def task_rules_menu_item() -> MenuItem:
    return RulesMenuItem(
        "Task rules", reverse("sales_task_rules:index"), name="task-rules", icon_name="cogs", order=245
    )


@hooks.register("contact_page_sections")
def contact_tasks(request, contact) -> str:
    if not request.user.has_perm(tasks_views.VIEW):
        return ""
    tasks = Task.objects.open().filter(contact=contact).select_related("owner").order_by("due_at")[:20]
    context = {
        "contact": contact,
        "tasks": tasks,
        "request": request,
        "is_manager": request.user.has_perm(tasks_views.TEAM),
        "can_add": request.user.has_perm(tasks_views.ADD),
        "next_url": request.get_full_path(),
    }
    return render_to_string("sales/includes/contact_tasks.html", context, request=request)


class CustomersGroup(SnippetViewSetGroup):
    menu_label = "Customers"
    menu_icon = "group"
    menu_order = 240
    items = (LostCustomersViewSet, DealViewSet, GradeRulesViewSet)


# A snippet group, so Wagtail knows the orders snippet has a menu entry (no stray "Snippets" menu).
register_snippet(CustomersGroup)
hooks.register("contact_page_sections", contact_orders_panel)


@hooks.register("register_admin_urls")
def register_order_import_url() -> list:
    return [path("sales/orders/import/", import_orders, name="sales_orders_import")]
