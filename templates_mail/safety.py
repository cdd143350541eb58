"""What a campaign body may not contain: links that run code, scripts and event handlers.

Mail clients strip scripts, but the same HTML is served as the web version (/v/) and
previewed in the admin, so a ``<script>``, an ``onerror=`` or a ``javascript:`` link would
run in a browser. Blocks refuse such URLs when saved; the linter reports whatever still
gets through (raw HTML, layouts, campaigns saved before the check) as errors.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from django.core.exceptions import ValidationError

from templates_mail.merge import LINK_FIELDS

SAFE_SCHEMES = frozenset({"http", "https", "mailto", "tel"})
# Browsers ignore control characters and whitespace inside a scheme ("jav\tascript:").
_IGNORED_RE = re.compile(r"[\x00-\x20\x7f-\xa0\ufffd]+")
_SCHEME_RE = re.compile(r"^([a-z][a-z0-9+.-]*):")
_PLACEHOLDER_RE = re.compile(r"^\{\{\s*(?:" + "|".join(LINK_FIELDS) + r")\s*\}\}$")
URL_ATTRIBUTES = frozenset({"href", "src", "action", "formaction", "background", "poster", "xlink:href"})
SCRIPT_ELEMENTS = frozenset({"script", "iframe", "object", "embed", "frame", "frameset", "applet", "base"})
# Images may also be inline (data:) or attachments (cid:); neither runs anything.
IMAGE_SCHEMES = SAFE_SCHEMES | {"data", "cid"}


def url_scheme(url: str) -> str:
    """The scheme a browser would see in ``url`` ("" for a relative URL)."""
    match = _SCHEME_RE.match(_IGNORED_RE.sub("", url).lower())
    return match.group(1) if match else ""


def is_safe_url(url: str) -> bool:
    """http(s), mailto, tel or relative; a URL that starts with a merge tag only when the
    tag is one of our own signed links (a contact's field could hold ``javascript:``)."""
    stripped = url.strip()
    if stripped.startswith(("{{", "{%")):
        return bool(_PLACEHOLDER_RE.match(stripped))
    scheme = url_scheme(stripped)
    return not scheme or scheme in SAFE_SCHEMES


def validate_url(url: str) -> None:
    if url and not is_safe_url(url):
        raise ValidationError("Only http(s), mailto: and tel: links are allowed.", code="unsafe_url")


class _ScriptFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        line = self.getpos()[0]
        if tag in SCRIPT_ELEMENTS:
            self.problems.append(f"line {line}: <{tag}> is not allowed")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"line {line}: event handler {name}= on <{tag}> is not allowed")
            elif name in URL_ATTRIBUTES and value and not _allowed_scheme(tag, name, url_scheme(value)):
                self.problems.append(f"line {line}: {url_scheme(value)}: link in <{tag} {name}> is not allowed")

    handle_startendtag = handle_starttag


def _allowed_scheme(tag: str, attribute: str, scheme: str) -> bool:
    allowed = IMAGE_SCHEMES if (tag, attribute) == ("img", "src") else SAFE_SCHEMES
    return not scheme or scheme in allowed


def script_problems(source: str) -> list[str]:
    """Scripts, active elements, event-handler attributes and non-http(s)/mailto/tel URLs."""
    finder = _ScriptFinder()
    finder.feed(source)
    finder.close()
    return finder.problems
