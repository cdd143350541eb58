"""Checks run before a campaign may be scheduled.

Errors (``blocking``) stop scheduling: no unsubscribe link, no postal address, an empty
subject, merge errors, broken HTML, scripts, event handlers and links that are not
http(s), mailto: or tel:. Warnings point at what hurts delivery or rendering:
Gmail clipping, images without alt/width, image-heavy mail, plain-http links, too many
links, long or shouting subjects, spam-trigger phrases and a sender failing its DNS checks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser

from django.conf import settings
from lxml import etree
from lxml import html as lxml_html

from templates_mail import merge, safety
from templates_mail.merge import MergeError
from templates_mail.rendering import (
    PreparedCampaign,
    Recipient,
    RenderError,
    custom_keys,
    layout_for,
    postal_address,
    prepare,
    variant_content,
)

GMAIL_CLIP_BYTES = 102 * 1024
MAX_LINKS = 50
MAX_SUBJECT = 80
MIN_TEXT_PER_IMAGE = 200
SPAM_PHRASES = (
    "100% free",
    "act now",
    "buy now",
    "cash bonus",
    "click here",
    "double your",
    "earn money",
    "free gift",
    "guaranteed",
    "limited time",
    "no credit check",
    "risk-free",
    "winner",
    "you have been selected",
    "$$$",
    "!!!",
)
PERSONALISED_HREF_RE = re.compile(r"""href\s*=\s*["']([^"']*\{\{[^"']*)["']""")
VOID_ELEMENTS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
# Elements whose end tag HTML lets the author leave out.
OPTIONAL_END = {"p", "li", "td", "th", "tr", "thead", "tbody", "tfoot", "option", "dt", "dd", "colgroup"}


@dataclass(frozen=True)
class LintIssue:
    code: str
    message: str
    blocking: bool
    element: str = ""


def _error(code: str, message: str, element: str = "") -> LintIssue:
    return LintIssue(code, message, True, element)


def _warning(code: str, message: str, element: str = "") -> LintIssue:
    return LintIssue(code, message, False, element)


class _TagBalance(HTMLParser):
    """Reports unclosed and stray tags with their line and column."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[tuple[str, tuple[int, int]]] = []
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag not in VOID_ELEMENTS:
            self.open.append((tag, self.getpos()))

    def handle_startendtag(self, tag: str, attrs) -> None:
        """Self-closing syntax opens nothing."""

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID_ELEMENTS:
            return
        names = [name for name, _ in self.open]
        if tag not in names:
            self.problems.append(f"line {self.getpos()[0]}: stray </{tag}>")
            return
        while self.open:
            name, (line, column) = self.open.pop()
            if name == tag:
                return
            if name not in OPTIONAL_END:
                self.problems.append(f"line {line}, column {column + 1}: <{name}> is never closed")

    def finish(self) -> list[str]:
        self.close()
        for name, (line, column) in self.open:
            if name not in OPTIONAL_END:
                self.problems.append(f"line {line}, column {column + 1}: <{name}> is never closed")
        return self.problems


def html_problems(source: str) -> list[str]:
    checker = _TagBalance()
    checker.feed(source)
    return checker.finish()


LAYOUT_PLACEHOLDERS = ("content", "unsubscribe_url", "preferences_url", "postal_address")


def missing_placeholders(layout_html: str) -> list[str]:
    """Placeholders a layout must carry: the content slot and the footer's legal parts."""
    present = {tag.expression.strip() for tag in merge.scan(layout_html, "layout") if isinstance(tag, merge.Tag)}
    return [name for name in LAYOUT_PLACEHOLDERS if name not in present]


def layout_problems(layout_html: str) -> list[str]:
    """Why a layout cannot be saved: missing placeholders, merge errors, unbalanced tags."""
    problems = [f"it needs {{{{ {name} }}}}" for name in missing_placeholders(layout_html)]
    items = [
        item
        for item in merge.scan(layout_html, "layout")
        if not (isinstance(item, merge.Tag) and item.expression.strip() == "content")
    ]
    try:
        merge.compile_items(items, custom_keys())
    except MergeError as error:
        problems += [str(problem) for problem in error.problems]
    return problems + html_problems(layout_html)


def _snippet(element: etree._Element) -> str:
    copy = lxml_html.fromstring(lxml_html.tostring(element, encoding="unicode"))
    copy.tail = None
    return lxml_html.tostring(copy, encoding="unicode")[:160]


def _structure_issues(campaign, body) -> list[LintIssue]:
    issues = []
    for where, source in [("layout", layout_for(campaign).html)] + [
        (f"block {number} ({child.block_type})", str(child.render())) for number, child in enumerate(body, 1)
    ]:
        issues += [_error("broken_html", f"{where}: {problem}") for problem in html_problems(source)]
        issues += [_error("script", f"{where}: {problem}") for problem in safety.script_problems(source)]
        issues += [
            _warning("untracked_link", f"{where}: a link with merge fields is not click-tracked.", href)
            for href in PERSONALISED_HREF_RE.findall(source)
            if not re.fullmatch(r"\{\{\s*(unsubscribe|preferences|web_version)_url\s*\}\}", href)
        ]
    return issues


def _subject_issues(subject: str, label: str) -> list[LintIssue]:
    if not subject.strip():
        return [_error("empty_subject", f"The {label} is empty.")]
    issues = []
    if len(subject) > MAX_SUBJECT:
        issues.append(
            _warning("long_subject", f"The {label} has {len(subject)} characters; over {MAX_SUBJECT} get cut.")
        )
    letters = [char for char in merge.TAG_RE.sub("", subject) if char.isalpha() and char.lower() != char.upper()]
    if len(letters) >= 8 and sum(char.isupper() for char in letters) / len(letters) > 0.7:
        issues.append(_warning("all_caps", f"The {label} is mostly capital letters.", subject))
    issues += [
        _warning("spam_phrase", f'The {label} contains the spam-trigger phrase "{phrase}".', subject)
        for phrase in SPAM_PHRASES
        if phrase in subject.lower()
    ]
    return issues


def _sample(prepared: PreparedCampaign) -> tuple[str, str]:
    """HTML and text for a stand-in recipient with every dynamic block shown."""
    message = prepared.render(Recipient(contact_id=0, email="preview@example.com"), show_all_blocks=True)
    return message.html, message.text


def _message_issues(campaign, prepared: PreparedCampaign) -> list[LintIssue]:
    html, text = _sample(prepared)
    document = lxml_html.document_fromstring(html)
    issues = []
    hrefs = [anchor.get("href", "") for anchor in document.iter("a")]
    if not any(href.startswith(f"{settings.SITE_URL}/u/") for href in hrefs):
        issues.append(_error("no_unsubscribe", "No unsubscribe link: the layout needs {{ unsubscribe_url }}."))
    if not any(href.startswith(f"{settings.SITE_URL}/p/") for href in hrefs):
        issues.append(_warning("no_preferences", "No preference-centre link: the layout needs {{ preferences_url }}."))
    address = postal_address(campaign)
    if not address or " ".join(address.split()) not in " ".join(document.text_content().split()):
        issues.append(_error("no_postal_address", "No postal address: set one and use {{ postal_address }}."))
    size = len(html.encode())
    if size > GMAIL_CLIP_BYTES:
        issues.append(_warning("too_large", f"The HTML is {size // 1024} KB; Gmail clips messages over 102 KB."))
    images = [image for image in document.iter("img") if "/t/o/" not in image.get("src", "")]
    for image in images:
        if not image.get("alt") or not image.get("width"):
            issues.append(_warning("image_attributes", "Image without alt text or width.", _snippet(image)))
        if image.get("src", "").startswith("http://"):
            issues.append(_warning("http_link", "Image loaded over plain http.", _snippet(image)))
    visible_text = re.sub(r"\[\d+\].*|\s+", " ", text)
    if images and len(visible_text.strip()) < MIN_TEXT_PER_IMAGE * len(images):
        issues.append(_warning("image_heavy", f"{len(images)} images and little text: spam filters dislike that."))
    issues += [
        _warning("http_link", "Link over plain http; use https.", url)
        for url in prepared.compiled.links
        if url.startswith("http://")
    ]
    if prepared.link_count > MAX_LINKS:
        issues.append(
            _warning("too_many_links", f"{prepared.link_count} links; more than {MAX_LINKS} looks like spam.")
        )
    lowered = text.lower()
    issues += [
        _warning("spam_phrase", f'The body contains the spam-trigger phrase "{phrase}".')
        for phrase in SPAM_PHRASES
        if phrase in lowered
    ]
    return issues


def _sender_issues(sender) -> list[LintIssue]:
    """A sender whose domain failed its DNS checks (campaigns.sender_checks) hurts delivery."""
    if sender is None or sender.verified:
        return []
    if sender.checked_at is None:
        return [_warning("sender_unverified", f"The domain checks of {sender.email} have not been run.")]
    failing = ", ".join(check["label"] for check in sender.dns_checks if not check["passed"])
    return [_warning("sender_unverified", f"The sender {sender.email} fails its domain checks: {failing}.")]


def lint(campaign) -> list[LintIssue]:
    """Every problem of the campaign as composed, errors (blocking) first."""
    subject, body = variant_content(campaign, 0)
    issues = _subject_issues(subject, "subject")
    if campaign.subject_b.strip():
        issues += [issue for issue in _subject_issues(campaign.subject_b, "subject B") if issue.code != "empty_subject"]
    try:
        issues += _structure_issues(campaign, body)
        prepared = prepare(campaign, freeze=False)
    except MergeError as error:
        issues += [_error("merge", str(problem)) for problem in error.problems]
    except RenderError as error:
        issues.append(_error("render", str(error)))
    else:
        issues += _message_issues(campaign, prepared)
    if campaign.subject_b.strip():
        issues += [
            _error("merge", str(problem)) for problem in merge.check(campaign.subject_b, "subject B", custom_keys())
        ]
    issues += _sender_issues(campaign.sender)
    return sorted(issues, key=lambda issue: not issue.blocking)


def blocking(issues: list[LintIssue]) -> list[LintIssue]:
    return [issue for issue in issues if issue.blocking]
