"""Checks run before a campaign may be scheduled: its message (templates_mail.lint on the
spec of the campaign as composed) and what only a campaign has, subject B and its sender."""

from __future__ import annotations

from campaigns import version
from campaigns.models import Campaign, SenderIdentity
from templates_mail import merge
from templates_mail.lint import LintIssue, by_severity, content_issues, error, subject_issues, warning
from templates_mail.rendering import RenderError, custom_keys


def _sender_issues(sender: SenderIdentity | None) -> list[LintIssue]:
    """A sender whose domain failed its DNS checks (campaigns.sender_checks) hurts delivery."""
    if sender is None or sender.verified:
        return []
    if sender.checked_at is None:
        return [warning("sender_unverified", f"The domain checks of {sender.email} have not been run.")]
    failing = ", ".join(check["label"] for check in sender.dns_checks if not check["passed"])
    return [warning("sender_unverified", f"The sender {sender.email} fails its domain checks: {failing}.")]


def lint(campaign: Campaign) -> list[LintIssue]:
    """Every problem of the campaign as composed, errors (blocking) first."""
    subject_b = campaign.subject_b.strip()
    issues = subject_issues(campaign.subject, "subject")
    if subject_b:
        issues += [issue for issue in subject_issues(campaign.subject_b, "subject B") if issue.code != "empty_subject"]
    try:
        spec = version.spec_for(campaign)
    except RenderError as problem:
        issues.append(error("render", str(problem)))
    else:
        issues += content_issues(spec)
    if subject_b:
        issues += [
            error("merge", str(problem)) for problem in merge.check(campaign.subject_b, "subject B", custom_keys())
        ]
    issues += _sender_issues(campaign.sender)
    return by_severity(issues)
