"""The Grade rules page: choose ABC by revenue or rules per grade, preview who would move,
then save (for the nightly run) or apply now."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from wagtail.admin.menu import MenuItem
from wagtail.admin.viewsets.base import ViewSet

from contacts.segments import SegmentError, compile_rules
from sales import grades
from sales.models import GradePolicy

RULE_FIELDS = ("rules_a", "rules_b", "rules_c")


class GradePolicyForm(forms.ModelForm):
    class Meta:
        model = GradePolicy
        fields = ["method", "months", "a_share", "b_share", *RULE_FIELDS, "nightly"]
        widgets = {name: forms.Textarea(attrs={"rows": 3}) for name in RULE_FIELDS}
        labels = {"a_share": "A share (%)", "b_share": "B share (%)"} | {
            name: f"Grade {name[-1].upper()} rules" for name in RULE_FIELDS
        }

    def clean(self) -> dict:
        data = super().clean()
        if data.get("a_share", 0) + data.get("b_share", 0) > 100:
            raise forms.ValidationError("A and B together cannot take more than 100% of revenue.")
        for name in RULE_FIELDS:
            try:
                compile_rules(data.get(name) or {})
            except SegmentError as error:
                self.add_error(name, str(error))
        return data


def may_edit(user) -> bool:
    return user.has_perm("sales.change_gradepolicy")


def grade_rules(request: HttpRequest) -> HttpResponse:
    """GET: the saved rules and their preview. POST ``preview`` shows what the edited rules
    would do; ``save`` keeps them; ``apply`` keeps them and regrades now."""
    if not may_edit(request.user):
        raise PermissionDenied
    current = grades.policy()
    form = GradePolicyForm(request.POST or None, instance=current)
    action = request.POST.get("action", "")
    rules = current
    if request.method == "POST" and form.is_valid():
        rules = form.save(commit=action in ("save", "apply"))
        if action == "apply":
            if not request.user.has_perm("sales.apply_gradepolicy"):
                raise PermissionDenied
            moved = grades.apply(rules)
            messages.success(request, f"{moved} contacts regraded; manual grades kept.")
            return redirect("grade_rules:index")
        if action == "save":
            messages.success(request, "Grade rules saved.")
            return redirect("grade_rules:index")
    moves = grades.preview(rules) if not form.errors else []
    context = {
        "form": form,
        "moves": moves,
        "total": sum(move.count for move in moves),
        "can_apply": request.user.has_perm("sales.apply_gradepolicy"),
        "page_title": "Grade rules",
        "header_title": "Grade rules",
        "header_icon": "tasks",
    }
    return TemplateResponse(request, "sales/grade_rules.html", context)


class GradeRulesMenuItem(MenuItem):
    def is_shown(self, request) -> bool:
        return may_edit(request.user)


class GradeRulesViewSet(ViewSet):
    name = "grade_rules"
    icon = "tasks"
    menu_label = "Grade rules"
    menu_item_class = GradeRulesMenuItem

    def get_urlpatterns(self) -> list:
        return [path("", grade_rules, name="index")]
