"""The plain-text part, generated from the campaign's HTML before inlining.

Headings are underlined, list items get bullets or numbers, and every link becomes a
numbered reference listed at the end, so the text part carries the same tracked URLs.
Markers and merge placeholders inside the HTML pass through as text and are resolved per
recipient like the HTML itself.
"""

from __future__ import annotations

import re

from lxml import etree, html

MARKER_RE = re.compile(r"R4pp0rt[BE]\d+X")
SKIPPED = {"head", "style", "script", "title", "img"}
BLOCKS = {"p", "div", "table", "tr", "td", "ul", "ol", "li", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6"}
# Placeholders for a heading's underline, drawn per recipient as long as the merged heading.
UNDERLINES = {"h1": "R4pp0rtU0X", "h2": "R4pp0rtU1X"}


class _Writer:
    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []
        self.line: list[str] = []
        self.references: list[str] = []
        self.lists: list[list] = []

    def flush(self, kind: str = "p") -> None:
        text = " ".join("".join(self.line).split())
        self.line = []
        if not text:
            return
        if kind in UNDERLINES:
            text += "\n" + UNDERLINES[kind]
        self.items.append((text, kind))

    def walk(self, element: etree._Element) -> None:
        if element.tag is etree.Comment:
            if MARKER_RE.fullmatch(element.text or ""):
                self.flush()
                self.items.append((f"<!--{element.text}-->", "marker"))
        elif (
            isinstance(element.tag, str) and element.tag not in SKIPPED and "preheader" not in element.get("class", "")
        ):
            self.element(element)
        if element.tail:
            self.line.append(element.tail)

    def element(self, element: etree._Element) -> None:
        tag = element.tag
        if tag == "br":
            self.flush()
            return
        if tag in BLOCKS:
            self.flush()
        if tag in {"ul", "ol"}:
            self.lists.append([tag, 0])
        if tag == "li" and self.lists:
            self.lists[-1][1] += 1
            self.line.append(f"{self.lists[-1][1]}. " if self.lists[-1][0] == "ol" else "- ")
        start = len(self.line)
        if element.text:
            self.line.append(element.text)
        for child in element:
            self.walk(child)
        if tag == "a" and element.get("href"):
            self.link(element.get("href").strip(), start)
        if tag in {"ul", "ol"} and self.lists:
            self.lists.pop()
        if tag in BLOCKS:
            self.flush("li" if tag == "li" else tag)

    def link(self, href: str, start: int) -> None:
        label = " ".join("".join(self.line[start:]).split())
        if href.startswith("#") or label == href:
            return
        if href.startswith("mailto:"):
            self.line.append(f" ({href.removeprefix('mailto:')})")
            return
        if href not in self.references:
            self.references.append(href)
        self.line.append(f" [{self.references.index(href) + 1}]")

    def text(self) -> str:
        parts: list[str] = []
        previous = ""
        for text, kind in self.items:
            if parts:
                parts.append("\n" if kind == previous == "li" or "marker" in {kind, previous} else "\n\n")
            parts.append(text)
            previous = kind
        if self.references:
            parts.append("\n\n")
            parts.append("\n".join(f"[{number}] {url}" for number, url in enumerate(self.references, 1)))
        return "".join(parts) + "\n"


def text_from_html(document: html.HtmlElement) -> str:
    """The readable text of a parsed HTML document, links as numbered references."""
    writer = _Writer()
    body = document.find("body")
    writer.walk(body if body is not None else document)
    writer.flush()
    return writer.text()


def tidy(text: str) -> str:
    """Collapse the blank lines that hidden dynamic blocks leave behind."""
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"
