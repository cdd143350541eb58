"""The merge language: a sandboxed subset of Django's template syntax for personalisation.

    {{ contact.first_name|default:"there" }}   {{ contact.custom.tier|upper }}   {{ owner.name }}
    {% if contact.grade == "A" %}...{% elif not contact.company %}...{% else %}...{% endif %}

Names resolve only through a fixed table of plain strings computed from one recipient
(see ``FIELDS``). There is no attribute access, no call, no relation and no global, so a
template can neither run code nor read anything but the recipient's own profile. Output
is HTML-escaped unless the template is compiled for plain text (subjects, the text part).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from contacts.models import Contact
from contacts.tokens import ANSWER_CHOICES

# The profile's merge fields come from the one list on Contact (contacts/models.py).
CONTACT_FIELDS = ("email", "full_name", *Contact.merge_fields(), "grade")
OWNER_FIELDS = ("name", "first_name", "email", "signature")
# Per-recipient signed URLs and the sender's postal address, placed by layouts.
LINK_FIELDS = ("unsubscribe_url", "preferences_url", "web_version_url")
# The signed answer links of a satisfaction question, ``answer.<scale>.<score>``.
ANSWER_PREFIX = "answer."
ANSWER_FIELDS = tuple(f"{ANSWER_PREFIX}{scale}.{score}" for scale, score in sorted(ANSWER_CHOICES))
FIELDS = frozenset(
    [f"contact.{name}" for name in CONTACT_FIELDS]
    + [f"owner.{name}" for name in OWNER_FIELDS]
    + ["list.name", "postal_address", *LINK_FIELDS, *ANSWER_FIELDS]
)
CUSTOM_PREFIX = "contact.custom."
# Rendering walks nested {% if %} recursively; a hand-written or pasted template nesting
# hundreds deep would exhaust Python's stack (a RecursionError, not a merge error).
MAX_IF_DEPTH = 20

TAG_RE = re.compile(r"\{\{(.*?)\}\}|\{%(.*?)%\}", re.S)
_PATH = r"[a-z_][a-z0-9_]*(?:\.[a-z0-9_-]+)*"
_LITERAL = r""""[^"]*"|'[^']*'|-?\d+(?:\.\d+)?"""
VAR_RE = re.compile(rf"^\s*({_PATH})\s*((?:\|\s*[a-z_]+\s*(?::\s*(?:{_LITERAL}))?\s*)*)$")
FILTER_RE = re.compile(rf"\|\s*([a-z_]+)\s*(?::\s*({_LITERAL}))?\s*")
CONDITION_RE = re.compile(rf"^(not\s+)?({_PATH})(?:\s*(==|!=)\s*({_LITERAL}))?$")

FILTERS: dict[str, Callable[[str, str | None], str]] = {
    "default": lambda value, arg: value or (arg or ""),
    "upper": lambda value, arg: value.upper(),
    "lower": lambda value, arg: value.lower(),
    "title": lambda value, arg: value.title(),
    "capfirst": lambda value, arg: value[:1].upper() + value[1:],
}
FILTERS_WITH_ARGUMENT = {"default"}


@dataclass(frozen=True)
class MergeProblem:
    message: str
    where: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.where}, line {self.line}, column {self.column}: {self.message}"


class MergeError(ValueError):
    """One or more merge-syntax problems, each with where it was found."""

    def __init__(self, problems: list[MergeProblem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(problem) for problem in problems))


@dataclass(frozen=True)
class Tag:
    """A ``{{ }}`` or ``{% %}`` found in a source, remembered with its position for errors."""

    is_variable: bool
    expression: str
    where: str
    line: int
    column: int

    @property
    def text(self) -> str:
        return f"{{{{{self.expression}}}}}" if self.is_variable else f"{{%{self.expression}%}}"

    def problem(self, message: str) -> MergeProblem:
        return MergeProblem(f"{message} in {self.text.strip()}", self.where, self.line, self.column)


class RenderContext:
    """Everything one render may read: plain strings and the recipient's block choices."""

    __slots__ = ("block_visible", "escape", "links", "values")

    def __init__(
        self,
        values: Mapping[str, str],
        *,
        escape: bool,
        links: list[str] = (),  # type: ignore[assignment]
        block_visible: Callable[[int], bool] = lambda index: True,
    ) -> None:
        self.values = values
        self.escape = escape
        self.links = links
        self.block_visible = block_visible


class Variable:
    __slots__ = ("filters", "path")

    def __init__(self, path: str, filters: tuple[tuple[str, str | None], ...]) -> None:
        self.path = path
        self.filters = filters

    def emit(self, context: RenderContext, out: list[str]) -> None:
        value = context.values.get(self.path, "")
        for name, argument in self.filters:
            value = FILTERS[name](value, argument)
        out.append(html.escape(value) if context.escape else value)


class Condition:
    __slots__ = ("negate", "operator", "path", "value")

    def __init__(self, negate: bool, path: str, operator: str | None, value: str | None) -> None:
        self.negate, self.path, self.operator, self.value = negate, path, operator, value

    def holds(self, values: Mapping[str, str]) -> bool:
        actual = values.get(self.path, "")
        result = bool(actual) if self.operator is None else (actual == self.value) == (self.operator == "==")
        return result != self.negate


class If:
    __slots__ = ("branches",)

    def __init__(self, branches: list[tuple[Condition | None, list]]) -> None:
        self.branches = branches

    def emit(self, context: RenderContext, out: list[str]) -> None:
        for condition, nodes in self.branches:
            if condition is None or condition.holds(context.values):
                emit_nodes(nodes, context, out)
                return


class Link:
    """A tracked link: the recipient's click URL for one entry of the frozen link table."""

    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index

    def emit(self, context: RenderContext, out: list[str]) -> None:
        out.append(context.links[self.index])


class Slot:
    """A per-recipient value placed by the renderer itself (the open pixel URL)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def emit(self, context: RenderContext, out: list[str]) -> None:
        out.append(context.values[self.name])


class Underline:
    """A text-part heading's underline, as long as the heading line once merged."""

    __slots__ = ("char",)

    def __init__(self, char: str) -> None:
        self.char = char

    def emit(self, context: RenderContext, out: list[str]) -> None:
        tail = ""
        for piece in reversed(out):
            tail = piece + tail
            if tail.count("\n") >= 2:
                break
        heading = tail.rstrip("\n").rpartition("\n")[2]
        out.append(self.char * max(3, len(heading)))


class DynamicBlock:
    """A body block shown only to recipients matching its audience condition."""

    __slots__ = ("index", "nodes")

    def __init__(self, index: int, nodes: list) -> None:
        self.index, self.nodes = index, nodes

    def emit(self, context: RenderContext, out: list[str]) -> None:
        if context.block_visible(self.index):
            emit_nodes(self.nodes, context, out)


def emit_nodes(nodes: list, context: RenderContext, out: list[str]) -> None:
    append = out.append
    links = context.links
    for node in nodes:
        kind = type(node)
        if kind is str:
            append(node)
        elif kind is Link:  # the commonest node: inlined to spare a method call per link
            append(links[node.index])
        else:
            node.emit(context, out)


class Template:
    """A compiled template; rendering walks a small tree of strings and nodes, nothing is parsed."""

    __slots__ = ("nodes",)

    def __init__(self, nodes: list) -> None:
        self.nodes = nodes

    def render(self, context: RenderContext) -> str:
        out: list[str] = []
        emit_nodes(self.nodes, context, out)
        return "".join(out)


def position(source: str, offset: int) -> tuple[int, int]:
    line = source.count("\n", 0, offset) + 1
    return line, offset - (source.rfind("\n", 0, offset) + 1) + 1


def scan(source: str, where: str) -> Iterable[str | Tag]:
    """Split a source into literal text and tags (tags keep their line and column)."""
    last = 0
    for match in TAG_RE.finditer(source):
        if match.start() > last:
            yield source[last : match.start()]
        line, column = position(source, match.start())
        is_variable = match.group(1) is not None
        yield Tag(is_variable, match.group(1) if is_variable else match.group(2), where, line, column)
        last = match.end()
    if last < len(source):
        yield source[last:]


def is_known(path: str, custom_keys: frozenset[str]) -> bool:
    return path in FIELDS or (path.startswith(CUSTOM_PREFIX) and path.removeprefix(CUSTOM_PREFIX) in custom_keys)


def _literal(text: str) -> str:
    return text[1:-1] if text[:1] in {'"', "'"} else text


class _Parser:
    """Builds the node tree from text, tags and ready-made nodes; collects every problem."""

    def __init__(self, custom_keys: frozenset[str]) -> None:
        self.custom_keys = custom_keys
        self.problems: list[MergeProblem] = []

    def field(self, path: str, tag: Tag) -> bool:
        if is_known(path, self.custom_keys):
            return True
        self.problems.append(tag.problem(f'unknown merge field "{path}"'))
        return False

    def variable(self, tag: Tag) -> Variable | None:
        match = VAR_RE.match(html.unescape(tag.expression))
        if not match:
            self.problems.append(tag.problem("not a merge field (expected {{ contact.field|filter }})"))
            return None
        filters = []
        for name, argument in FILTER_RE.findall(match.group(2)):
            if name not in FILTERS:
                self.problems.append(tag.problem(f'unknown filter "{name}"'))
            elif (name in FILTERS_WITH_ARGUMENT) != bool(argument):
                self.problems.append(tag.problem(f'filter "{name}" takes {"one" if argument == "" else "no"} argument'))
            filters.append((name, _literal(argument) if argument else None))
        return Variable(match.group(1), tuple(filters)) if self.field(match.group(1), tag) else None

    def condition(self, tag: Tag, expression: str) -> Condition | None:
        match = CONDITION_RE.match(expression.strip())
        if not match:
            self.problems.append(tag.problem('a condition is "field", "not field" or "field == \\"value\\""'))
            return None
        negate, path, operator, literal = match.groups()
        if not self.field(path, tag):
            return None
        return Condition(bool(negate), path, operator, _literal(literal) if literal is not None else None)

    def parse(self, items: Iterable) -> list:
        """``items``: text, Tags, ready nodes, and ("open"/"close", block index) markers."""
        root: list = []
        # Each frame: (kind, opening tag or block index, node list being filled, If node or None).
        stack: list[tuple[str, object, list, If | None]] = [("root", None, root, None)]
        for item in items:
            nodes = stack[-1][2]
            if isinstance(item, Tag):
                self.tag(item, stack)
            elif isinstance(item, tuple):
                self.marker(item, stack)
            else:
                nodes.append(item)
        for _, opener, _, _ in stack[1:]:
            if isinstance(opener, Tag):
                self.problems.append(opener.problem("{% if %} is never closed by {% endif %}"))
        return root

    def tag(self, tag: Tag, stack: list) -> None:
        nodes = stack[-1][2]
        if tag.is_variable:
            variable = self.variable(tag)
            if variable:
                nodes.append(variable)
            return
        name, _, rest = html.unescape(tag.expression).strip().partition(" ")
        if name == "if":
            if sum(frame[0] == "if" for frame in stack) == MAX_IF_DEPTH:
                self.problems.append(tag.problem(f"{{% if %}} nested more than {MAX_IF_DEPTH} deep"))
            branch: list = []
            node = If([(self.condition(tag, rest) or Condition(True, "", None, None), branch)])
            nodes.append(node)
            stack.append(("if", tag, branch, node))
        elif name in {"elif", "else", "endif"}:
            self.close_branch(tag, name, rest, stack)
        else:
            self.problems.append(tag.problem(f'unknown tag "{name}" (only if, elif, else and endif)'))

    def close_branch(self, tag: Tag, name: str, rest: str, stack: list) -> None:
        kind, _, _, node = stack[-1]
        if kind != "if":
            self.problems.append(tag.problem(f"{{% {name} %}} without an open {{% if %}}"))
            return
        stack.pop()
        if name == "endif":
            return
        branch: list = []
        condition = (self.condition(tag, rest) or Condition(True, "", None, None)) if name == "elif" else None
        node.branches.append((condition, branch))
        stack.append(("if", tag, branch, node))

    def marker(self, item: tuple[str, int], stack: list) -> None:
        action, index = item
        if action == "open":
            block = DynamicBlock(index, [])
            stack[-1][2].append(block)
            stack.append(("block", index, block.nodes, None))
            return
        while len(stack) > 1 and stack[-1][0] != "block":
            stack.pop()
        if len(stack) > 1:
            stack.pop()


def compile_items(items: Iterable, custom_keys: frozenset[str]) -> Template:
    """Compile a stream of text, tags, nodes and block markers; raises MergeError on any problem."""
    parser = _Parser(custom_keys)
    nodes = parser.parse(items)
    if parser.problems:
        raise MergeError(parser.problems)
    return Template(nodes)


def compile_template(source: str, where: str, custom_keys: frozenset[str] = frozenset()) -> Template:
    """Compile one source (a subject, a block, a text part); errors name ``where`` and the position."""
    return compile_items(scan(source, where), custom_keys)


def check(source: str, where: str, custom_keys: frozenset[str] = frozenset()) -> list[MergeProblem]:
    """The problems of one source, for the editor and the linter."""
    try:
        compile_template(source, where, custom_keys)
    except MergeError as error:
        return error.problems
    return []
