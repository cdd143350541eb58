"""Limits of the merge language: nesting too deep for the renderer is a merge error with its
position, never a RecursionError in the editor, the preview or the send."""

import pytest

from campaigns import composer, services
from campaigns.lint import lint
from campaigns.services import TransitionError
from templates_mail.merge import MAX_IF_DEPTH, RenderContext, check, compile_template
from tests.factories import CampaignFactory
from tests.templates_mail.helpers import text

DEEP = "{% if contact.first_name %}x" * 1000 + "{% endif %}" * 1000


def nested(depth: int) -> str:
    return "{% if contact.first_name %}" * depth + "deep" + "{% endif %}" * depth


def test_ifs_nested_too_deep_are_one_merge_error_at_the_first_if_too_many():
    problems = check(DEEP, "body")
    assert [str(problem) for problem in problems] == [
        f"body, line 1, column {28 * MAX_IF_DEPTH + 1}: {{% if %}} nested more than {MAX_IF_DEPTH} deep "
        "in {% if contact.first_name %}"
    ]


def test_ifs_nested_up_to_the_limit_render():
    template = compile_template(nested(MAX_IF_DEPTH), "body")
    assert template.render(RenderContext({"contact.first_name": "Ann"}, escape=True)) == "deep"


@pytest.mark.django_db
def test_a_campaign_nested_too_deep_is_a_lint_error_and_a_preview_problem():
    campaign = CampaignFactory(body=[text(f"<p>{DEEP}</p>")])
    assert any(issue.code == "merge" and "nested more than" in issue.message for issue in lint(campaign))
    assert "nested more than" in composer.preview(campaign, None).problems[0]


@pytest.mark.django_db
def test_send_now_refuses_a_campaign_nested_too_deep_with_a_reason():
    campaign = CampaignFactory(body=[text(f"<p>{DEEP}</p>")])
    with pytest.raises(TransitionError, match="nested more than"):
        services.send_now(campaign)
