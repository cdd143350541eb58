"""Checks of one message version (a :class:`MessageSpec`) before it may be sent.

Errors (``blocking``) stop scheduling: no unsubscribe link, no postal address, an empty
subject, merge errors, broken HTML, scripts, event handlers and links that are not
http(s), mailto: or tel:. Warnings point at what hurts delivery or rendering:
Gmail clipping, images without alt/width, image-heavy mail, plain-http links, too many
links, long or shouting subjects and spam-trigger phrases. What only a campaign has
(subject B, its sender's DNS checks) is checked in campaigns.lint.
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
from templates_mail.recipient import Recipient
from templates_mail.rendering import PreparedMessage, RenderError, custom_keys, prepare
from templates_mail.spec import MessageSpec, body_stream

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


def error(code: str, message: str, element: str = "") -> LintIssue:
    return LintIssue(code, message, True, element)


def warning(code: str, message: str, element: str = "") -> LintIssue:
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
    except MergeError as merge_error:
        problems += [str(problem) for problem in merge_error.problems]
    return problems + html_problems(layout_html)


def _snippet(element: etree._Element) -> str:
    copy = lxml_html.fromstring(lxml_html.tostring(element, encoding="unicode"))
    copy.tail = None
    return lxml_html.tostring(copy, encoding="unicode")[:160]


def _structure_issues(spec: MessageSpec) -> list[LintIssue]:
    issues = []
    for where, source in [("layout", spec.layout_html)] + [
        (f"block {number} ({child.block_type})", str(child.render()))
        for number, child in enumerate(body_stream(spec), 1)
    ]:
        issues += [error("broken_html", f"{where}: {problem}") for problem in html_problems(source)]
        issues += [error("script", f"{where}: {problem}") for problem in safety.script_problems(source)]
        issues += [
            warning("untracked_link", f"{where}: a link with merge fields is not click-tracked.", href)
            for href in PERSONALISED_HREF_RE.findall(source)
            if not re.fullmatch(r"\{\{\s*(unsubscribe|preferences|web_version)_url\s*\}\}", href)
        ]
    return issues


def subject_issues(subject: str, label: str = "subject") -> list[LintIssue]:
    if not subject.strip():
        return [error("empty_subject", f"The {label} is empty.")]
    issues = []
    if len(subject) > MAX_SUBJECT:
        issues.append(
            warning("long_subject", f"The {label} has {len(subject)} characters; over {MAX_SUBJECT} get cut.")
        )
    letters = [char for char in merge.TAG_RE.sub("", subject) if char.isalpha() and char.lower() != char.upper()]
    if len(letters) >= 8 and sum(char.isupper() for char in letters) / len(letters) > 0.7:
        issues.append(warning("all_caps", f"The {label} is mostly capital letters.", subject))
    issues += [
        warning("spam_phrase", f'The {label} contains the spam-trigger phrase "{phrase}".', subject)
        for phrase in SPAM_PHRASES
        if phrase in subject.lower()
    ]
    return issues


def _sample(prepared: PreparedMessage) -> tuple[str, str]:
    """HTML and text for a stand-in recipient with every dynamic block shown."""
    message = prepared.render(Recipient(contact_id=0, email="preview@example.com"), show_all_blocks=True)
    return message.html, message.text


def _message_issues(spec: MessageSpec, prepared: PreparedMessage) -> list[LintIssue]:
    html, text = _sample(prepared)
    document = lxml_html.document_fromstring(html)
    issues = []
    hrefs = [anchor.get("href", "") for anchor in document.iter("a")]
    if not any(href.startswith(f"{settings.SITE_URL}/u/") for href in hrefs):
        issues.append(error("no_unsubscribe", "No unsubscribe link: the layout needs {{ unsubscribe_url }}."))
    if not any(href.startswith(f"{settings.SITE_URL}/p/") for href in hrefs):
        issues.append(warning("no_preferences", "No preference-centre link: the layout needs {{ preferences_url }}."))
    address = spec.postal_address
    if not address or " ".join(address.split()) not in " ".join(document.text_content().split()):
        issues.append(error("no_postal_address", "No postal address: set one and use {{ postal_address }}."))
    size = len(html.encode())
    if size > GMAIL_CLIP_BYTES:
        issues.append(warning("too_large", f"The HTML is {size // 1024} KB; Gmail clips messages over 102 KB."))
    images = [image for image in document.iter("img") if "/t/o/" not in image.get("src", "")]
    for image in images:
        if not image.get("alt") or not image.get("width"):
            issues.append(warning("image_attributes", "Image without alt text or width.", _snippet(image)))
        if image.get("src", "").startswith("http://"):
            issues.append(warning("http_link", "Image loaded over plain http.", _snippet(image)))
    visible_text = re.sub(r"\[\d+\].*|\s+", " ", text)
    if images and len(visible_text.strip()) < MIN_TEXT_PER_IMAGE * len(images):
        issues.append(warning("image_heavy", f"{len(images)} images and little text: spam filters dislike that."))
    issues += [
        warning("http_link", "Link over plain http; use https.", url)
        for url in prepared.compiled.links
        if url.startswith("http://")
    ]
    if prepared.link_count > MAX_LINKS:
        issues.append(warning("too_many_links", f"{prepared.link_count} links; more than {MAX_LINKS} looks like spam."))
    lowered = text.lower()
    issues += [
        warning("spam_phrase", f'The body contains the spam-trigger phrase "{phrase}".')
        for phrase in SPAM_PHRASES
        if phrase in lowered
    ]
    return issues


def content_issues(spec: MessageSpec) -> list[LintIssue]:
    """Every problem of the version's content and of the message it renders to (not of its subject line)."""
    issues = _structure_issues(spec)
    try:
        prepared = prepare(spec)
    except MergeError as problem:
        issues += [error("merge", str(item)) for item in problem.problems]
    except RenderError as problem:
        issues.append(error("render", str(problem)))
    else:
        issues += _message_issues(spec, prepared)
    return issues


def by_severity(issues: list[LintIssue]) -> list[LintIssue]:
    """Errors (blocking) first, each group in the order found."""
    return sorted(issues, key=lambda issue: not issue.blocking)


def lint_message(spec: MessageSpec) -> list[LintIssue]:
    """Every problem of one message version, errors (blocking) first."""
    return by_severity(subject_issues(spec.subject) + content_issues(spec))


def blocking(issues: list[LintIssue]) -> list[LintIssue]:
    return [issue for issue in issues if issue.blocking]
