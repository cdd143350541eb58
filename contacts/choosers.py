"""Snippet choosers that answer only to a user who may see the snippet's index.

Wagtail's snippet choosers (``/admin/snippets/choose/...``) list every row to anyone with
admin access, so a salesperson refused the mailing-list index could still list the lists
there. These need one of the model's permissions, as its index does.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from wagtail.permission_policies import ModelPermissionPolicy
from wagtail.snippets.views import chooser
from wagtail.snippets.views.snippets import SnippetViewSet

INDEX_ACTIONS = ["add", "change", "delete", "view"]


class RolePermissionMixin:
    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not ModelPermissionPolicy(self.model_class).user_has_any_permission(request.user, INDEX_ACTIONS):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


class ChooseView(RolePermissionMixin, chooser.ChooseView):
    pass


class ChooseResultsView(RolePermissionMixin, chooser.ChooseResultsView):
    pass


class ChosenView(RolePermissionMixin, chooser.SnippetChosenView):
    pass


class ChosenMultipleView(RolePermissionMixin, chooser.SnippetChosenMultipleView):
    pass


class RoleCheckedChooserViewSet(chooser.SnippetChooserViewSet):
    choose_view_class = ChooseView
    choose_results_view_class = ChooseResultsView
    chosen_view_class = ChosenView
    chosen_multiple_view_class = ChosenMultipleView


class RoleSnippetViewSet(SnippetViewSet):
    """A snippet viewset whose chooser checks the user's permissions."""

    chooser_viewset_class = RoleCheckedChooserViewSet
