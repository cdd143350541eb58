"""The rendering pipeline: inline once per message version, substitute per recipient.

``prepare(spec)`` renders the spec's blocks into its layout, replaces every merge tag, tracked
link, dynamic-block boundary and the open pixel with an inert placeholder, runs premailer
once over the whole document, and compiles the result into a tree of literal strings and
nodes. ``PreparedMessage.render(recipient)`` only walks that tree: no parsing, no
inlining, no database. The compiled artifact is cached by a hash of everything that
shapes the HTML, in-process and in the cache shared by all workers, so preparing the same
version again (per batch, per variant, per worker) never calls premailer again.

The input is a plain :class:`templates_mail.spec.MessageSpec`: this module knows nothing
of campaigns (campaigns.version builds their specs and freezes their link tables).
"""

from __future__ import annotations

import hashlib
import html as html_lib
import json
import logging
import re
import time
from collections import OrderedDict
from dataclasses import dataclass
from threading import Lock
from typing import Any

from django.conf import settings
from django.core.cache import cache
from lxml import html as lxml_html
from premailer import Premailer

from contacts.models import Contact, CustomField, Segment
from contacts.tokens import Purpose, TokenData, click_tokens, make_token
from templates_mail import merge
from templates_mail.answers import answer_url, answers_used, field_name
from templates_mail.blocks import audience_condition
from templates_mail.merge import MergeError, MergeProblem, RenderContext, Slot, Tag, Template
from templates_mail.recipient import Recipient, RenderedMessage
from templates_mail.spec import MessageSpec, body_stream, with_utm
from templates_mail.text import text_from_html, tidy

RENDERER_VERSION = "4"
PLACEHOLDER_RE = re.compile(r"<!--R4pp0rt([BE])(\d+)X-->|R4pp0rt([MLPU])(\d+)X")
# A transparent GIF inline: an untracked copy still has the pixel's box, but fetches nothing.
INERT_PIXEL = "data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"
PIXEL = '<img src="R4pp0rtP0X" width="1" height="1" alt="" style="display:block;width:1px;height:1px;border:0">'
PREHEADER = (
    '<div class="preheader" style="display:none;font-size:1px;line-height:1px;max-height:0;max-width:0;'
    'opacity:0;overflow:hidden;mso-hide:all">{}</div>'
)
# Membership of segments used by dynamic blocks is re-read after this long, so a long send
# follows contacts that join or leave a segment without a query per recipient or batch.
SEGMENT_TTL_SECONDS = 300
CACHE_SIZE = 32
logger = logging.getLogger(__name__)


class RenderError(ValueError):
    """The message cannot be rendered (no layout, no <body>, a sent campaign's links changed)."""


@dataclass
class Compiled:
    """Everything derived from one message version's content; shared by all its recipients."""

    html: Template
    text: Template
    preheader: Template
    links: list[str]
    conditions: list[tuple]
    # The (scale, score) answer links the body asks for, signed per recipient.
    answers: tuple[tuple[int, int], ...] = ()


class _Builder:
    """Assembles the document with placeholders in place of merge tags, links and markers."""

    def __init__(self, custom_keys: frozenset[str], utm_campaign: str = "") -> None:
        self.custom_keys = custom_keys
        self.utm_campaign = utm_campaign
        self.tags: list[Tag] = []
        self.problems: list[MergeProblem] = []
        self.conditions: list[tuple] = []
        self.links: list[str] = []

    def protect(self, source: str, where: str, content: str | None = None, *, validate: bool = True) -> str:
        """Each tag becomes ``R4pp0rtM<n>X``; the piece is checked alone so errors point into it."""
        items = list(merge.scan(source, where))
        slot = [item for item in items if isinstance(item, Tag) and item.expression.strip() == "content"]
        if validate:
            self.check([item for item in items if item not in slot])
        out = []
        for item in items:
            if item in slot and content is not None:
                out.append(content)
            elif isinstance(item, Tag):
                out.append(f"R4pp0rtM{len(self.tags)}X")
                self.tags.append(item)
            else:
                out.append(item)
        return "".join(out)

    def check(self, items: list) -> None:
        try:
            merge.compile_items(items, self.custom_keys)
        except MergeError as error:
            self.problems.extend(error.problems)

    def check_fields(self, value: Any, where: str) -> None:
        """Check each text field of a block as the marketer typed it, so positions mean something."""
        for name, field_value in value.items() if isinstance(value, dict) else []:
            if isinstance(field_value, str) and name != "audience":
                self.check(list(merge.scan(field_value, f"{where}, {name}")))

    def body(self, body) -> str:
        parts = []
        for number, child in enumerate(body, 1):
            where = f"block {number} ({child.block_type})"
            self.check_fields(body.raw_data[number - 1]["value"], where)
            protected = self.protect(str(child.render()), where, validate=False)
            condition = audience_condition(child.value)
            if condition:
                index = len(self.conditions)
                self.conditions.append(condition)
                protected = f"<!--R4pp0rtB{index}X-->{protected}<!--R4pp0rtE{index}X-->"
            parts.append(protected)
        return "\n".join(parts)

    def track_links(self, document: lxml_html.HtmlElement) -> None:
        """Replace every trackable href by a link placeholder; the URL joins the link table."""
        for anchor in document.iter("a"):
            href = (anchor.get("href") or "").strip()
            if not href.lower().startswith(("http://", "https://")) or "R4pp0rt" in href:
                continue
            url = with_utm(href, self.utm_campaign) if self.utm_campaign else href
            if url not in self.links:
                self.links.append(url)
            anchor.set("href", f"R4pp0rtL{self.links.index(url)}X")

    def items(self, text: str):
        """The compiled document's stream: literal text, tags, link and pixel nodes, block markers."""
        last = 0
        for match in PLACEHOLDER_RE.finditer(text):
            if match.start() > last:
                yield text[last : match.start()]
            kind = match.group(1) or match.group(3)
            number = int(match.group(2) or match.group(4))
            if kind in "BE":
                yield ("open" if kind == "B" else "close", number)
            elif kind == "M":
                yield self.tags[number]
            elif kind == "L":
                yield merge.Link(number)
            elif kind == "U":
                yield merge.Underline("=-"[number])
            else:
                yield Slot("open_pixel_url")
            last = match.end()
        if last < len(text):
            yield text[last:]

    def compile(self, text: str) -> Template:
        return merge.compile_items(self.items(text), self.custom_keys)


def inline_css(document_html: str) -> str:
    """premailer, once per message version; media queries stay in a <style> block."""
    inliner = Premailer(
        document_html,
        disable_link_rewrites=True,
        allow_network=False,
        keep_style_tags=False,
        cssutils_logging_level=logging.CRITICAL,
    )
    return "<!DOCTYPE html>\n" + inliner.transform()


def _build(spec: MessageSpec, custom_keys: frozenset[str]) -> Compiled:
    builder = _Builder(custom_keys, spec.utm_campaign)
    preheader_source = html_lib.escape(spec.preheader)
    body = builder.body(body_stream(spec))
    document_html = builder.protect(spec.layout_html, "layout", content=body)
    preheader_html = builder.protect(preheader_source, "preheader")
    if builder.problems:
        raise MergeError(builder.problems)
    document = lxml_html.document_fromstring(document_html)
    builder.track_links(document)
    body_element = document.find("body")
    if body_element is None:
        raise RenderError("the layout has no <body>")
    body_element.insert(0, lxml_html.fragment_fromstring(PREHEADER.format(preheader_html)))
    body_element.append(lxml_html.fragment_fromstring(PIXEL))
    if spec.text_body.strip():
        text = _text_override(spec.text_body, builder)
    else:
        text = builder.compile(text_from_html(document))
    serialized = lxml_html.tostring(document, encoding="unicode")
    return Compiled(
        html=builder.compile(inline_css(serialized)),
        text=text,
        preheader=merge.compile_template(spec.preheader, "preheader", custom_keys),
        links=builder.links,
        conditions=builder.conditions,
        answers=answers_used(builder.tags),
    )


def _text_override(source: str, builder: _Builder) -> Template:
    """The marketer's own text part; the unsubscribe and preference links are added if missing."""
    if "unsubscribe_url" not in source:
        source += "\n\n--\nUnsubscribe: {{ unsubscribe_url }}\nPreferences: {{ preferences_url }}\n"
        source += "{{ postal_address }}\n"
    return merge.compile_template(source, "text part", builder.custom_keys)


def content_key(spec: MessageSpec, custom_keys: frozenset[str]) -> str:
    """Hash of everything that shapes the HTML and text (not the subject)."""
    material = {
        "version": RENDERER_VERSION,
        "layout": spec.layout_html,
        "body": list(spec.body),
        "preheader": spec.preheader,
        "text": spec.text_body,
        "site": settings.SITE_URL,
        "utm": spec.utm_campaign,
        "custom_keys": sorted(custom_keys),
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True, default=str).encode()).hexdigest()


_cache: OrderedDict[str, Compiled] = OrderedDict()
_cache_lock = Lock()
_memberships: dict[tuple[int, str], tuple[float, frozenset[int]]] = {}


def _shared_get(key: str) -> Compiled | None:
    if not settings.RENDER_CACHE_SECONDS:
        return None
    try:
        return cache.get(f"render:{key}")
    except Exception as error:  # any cache failure (Redis down, stale pickle) only costs one inlining
        logger.warning("render cache unavailable (%s); inlining locally", error)
        return None


def _shared_set(key: str, compiled: Compiled) -> None:
    if not settings.RENDER_CACHE_SECONDS:
        return
    try:
        cache.set(f"render:{key}", compiled, settings.RENDER_CACHE_SECONDS)
    except Exception as error:  # the in-process copy still serves this worker
        logger.warning("render cache unavailable (%s); not shared", error)


def _compiled(spec: MessageSpec, custom_keys: frozenset[str], key: str) -> Compiled:
    """In-process LRU first, then the cache shared by all workers, then premailer."""
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    compiled = _shared_get(key)
    if compiled is None:
        compiled = _build(spec, custom_keys)
        _shared_set(key, compiled)
    with _cache_lock:
        _cache[key] = compiled
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return compiled


def clear_cache() -> None:
    """Forget this process's compiled messages (tests); the shared cache expires on its own."""
    with _cache_lock:
        _cache.clear()
        _memberships.clear()


def segment_members(segment_id: int) -> frozenset[int]:
    """Ids of a segment's contacts, shared by every batch this process prepares for a while.

    A send prepares once per batch; re-reading a large segment for each batch would cost
    more than the batch. Keyed by the rules too, so editing a segment takes effect at once.
    """
    segment = Segment.objects.filter(pk=segment_id).first()
    if segment is None:
        return frozenset()
    key = (segment_id, json.dumps(segment.rules, sort_keys=True))
    with _cache_lock:
        loaded = _memberships.get(key)
    if loaded and time.monotonic() - loaded[0] < SEGMENT_TTL_SECONDS:
        return loaded[1]
    members = frozenset(Contact.objects.filter(segment.to_q()).values_list("pk", flat=True))
    with _cache_lock:
        _memberships[key] = (time.monotonic(), members)
    return members


def one_line(value: str) -> str:
    """A line break from a contact's profile must not break (or inject into) a header."""
    return value.replace("\r", " ").replace("\n", " ")


class PreparedMessage:
    """One message version, ready to render for any number of recipients."""

    def __init__(self, spec: MessageSpec, compiled: Compiled, subject: Template, content_hash: str) -> None:
        self.campaign_id = spec.campaign_id
        self.compiled = compiled
        self.subject = subject
        self.content_hash = content_hash
        self.links: list[str] = compiled.links
        self.link_count = len(compiled.links)
        self.postal_address = spec.postal_address
        self.site_url = settings.SITE_URL
        self.list_name = spec.list_name
        self._members: dict[int, frozenset[int]] = {}

    def _segment_members(self, segment_id: int) -> frozenset[int]:
        if segment_id not in self._members:
            self._members[segment_id] = segment_members(segment_id)
        return self._members[segment_id]

    def _visible(self, index: int, contact_id: int, values: dict[str, str]) -> bool:
        condition = self.compiled.conditions[index]
        if condition[0] == "segment":
            return contact_id in self._segment_members(condition[1])
        _, name, operator, expected = condition
        matches = values.get(f"contact.{name}", "").strip().casefold() == expected.strip().casefold()
        return matches == (operator == "is")

    def _token_url(self, path: str, purpose: Purpose, recipient: Recipient) -> str:
        data = TokenData(purpose, recipient.contact_id, recipient.message_id, self.campaign_id)
        return f"{self.site_url}/{path}/{make_token(data)}"

    def render(self, recipient: Recipient, *, show_all_blocks: bool = False, tracked: bool = True) -> RenderedMessage:
        """The message for one recipient; ``show_all_blocks`` (linter, previews) ignores audiences.

        ``tracked=False`` (previews, test sends, the web version) puts an inert pixel and the
        links' real targets in place of the tracking URLs, so looking at or clicking in such a
        copy never counts as the contact's engagement.
        """
        values = recipient.values()
        values["postal_address"] = self.postal_address
        values["list.name"] = recipient.list_name or self.list_name
        values["unsubscribe_url"] = self._token_url("u", Purpose.UNSUBSCRIBE, recipient)
        values["preferences_url"] = self._token_url("p", Purpose.PREFERENCES, recipient)
        values["web_version_url"] = self._token_url("v", Purpose.VIEW, recipient)
        if tracked:
            values["open_pixel_url"] = self._token_url("t/o", Purpose.OPEN, recipient)
            click_prefix = f"{self.site_url}/t/c/"
            links = [
                click_prefix + token
                for token in click_tokens(recipient.contact_id, recipient.message_id, self.campaign_id, self.link_count)
            ]
        else:
            values["open_pixel_url"] = INERT_PIXEL
            links = list(self.compiled.links)
        signed = TokenData(Purpose.ANSWER, recipient.contact_id, recipient.message_id, self.campaign_id)
        for scale, score in self.compiled.answers:
            values[field_name(scale, score)] = answer_url(self.site_url, signed, scale, score) if tracked else "#"

        def visible(index: int) -> bool:
            return show_all_blocks or self._visible(index, recipient.contact_id, values)

        compiled = self.compiled
        text = compiled.text.render(RenderContext(values, escape=False, links=links, block_visible=visible))
        return RenderedMessage(
            subject=one_line(self.subject.render(RenderContext(values, escape=False))),
            html=compiled.html.render(RenderContext(values, escape=True, links=links, block_visible=visible)),
            text=tidy(text) if compiled.conditions else text,
            preheader=one_line(compiled.preheader.render(RenderContext(values, escape=False))),
        )


def custom_keys() -> frozenset[str]:
    """Custom fields a template may use: only those defined, so a typo is an error."""
    return frozenset(CustomField.objects.values_list("key", flat=True))


def prepare(spec: MessageSpec) -> PreparedMessage:
    """Compile one message version (cached) and its subject.

    Raises MergeError listing every merge problem with where it is, or RenderError.
    """
    keys = custom_keys()
    key = content_key(spec, keys)
    problems = merge.check(spec.subject, "subject", keys)
    try:
        compiled = _compiled(spec, keys, key)
    except MergeError as error:
        raise MergeError(problems + error.problems) from None
    if problems:
        raise MergeError(problems)
    subject = merge.compile_template(spec.subject, "subject", keys)
    content_hash = hashlib.sha256(f"{key}\n{spec.subject}".encode()).hexdigest()
    return PreparedMessage(spec, compiled, subject, content_hash)
