"""The architecture, kept true by reading every app module's imports with ``ast``.

- A lower app never imports a higher one, not even inside a function (events travel upward as
  data or as signals the lower app defines). ``config`` may be imported by anyone, and itself
  imports apps only where it wires them together (settings, urls, celery, wsgi/asgi).
- No import cycle between modules, however the imports are hidden.
- No module over MAX_LINES lines outside migrations: split it by responsibility.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = [
    "contacts",
    "templates_mail",
    "campaigns",
    "tracking",
    "signups",
    "sales",
    "automations",
    "reports",
    "privacy",
    "dashboard",
]
RANK = {app: rank for rank, app in enumerate(APPS)}
CONFIG_WIRING = {"config.settings", "config.urls", "config.celery", "config.wsgi", "config.asgi"}
MAX_LINES = 400


@cache
def modules() -> dict[str, Path]:
    """Every module of the apps and config, by dotted name, migrations left out."""
    found = {}
    for package in [*APPS, "config"]:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.relative_to(ROOT).parts:
                continue
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def _owner(name: str) -> str | None:
    """The module of ours that ``name`` (a module, or a name imported from one) lives in."""
    parts = name.split(".")
    while parts and ".".join(parts) not in modules():
        parts.pop()
    return ".".join(parts) or None


def _imported(name: str, path: Path) -> set[str]:
    """Every module of ours that ``name`` imports, at the top or inside functions."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            # ``from package import module`` imports that module; ``from module import name``, the module.
            targets |= {f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules() else base for alias in node.names}
    return {owner for owner in map(_owner, targets) if owner and owner != name}


@cache
def graph() -> dict[str, frozenset[str]]:
    return {name: frozenset(_imported(name, path)) for name, path in modules().items()}


def _app(module: str) -> str:
    return module.split(".", 1)[0]


def upward_imports() -> set[tuple[str, str]]:
    found = set()
    for module, targets in graph().items():
        for target in targets:
            if _app(module) == "config":
                if _app(target) != "config" and module not in CONFIG_WIRING:
                    found.add((module, target))
            elif _app(target) != "config" and RANK[_app(target)] > RANK[_app(module)]:
                found.add((module, target))
    return found


def cycles() -> set[frozenset[str]]:
    """The strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = set()
    for root in graph():
        if root in index:
            continue
        work = [(root, iter(sorted(graph()[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph()[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.add(frozenset(component))
    return found


def long_modules() -> dict[str, int]:
    lengths = {name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in modules().items()}
    return {name: length for name, length in lengths.items() if length > MAX_LINES}


def test_the_walk_sees_every_app_and_imports_hidden_inside_functions(tmp_path):
    assert {_app(name) for name in modules()} == {*APPS, "config"}
    module = tmp_path / "hidden.py"
    module.write_text("def later():\n    from campaigns.models import Campaign\n    from . import tasks\n")
    assert _imported("contacts.hidden", module) == {"campaigns.models", "contacts.tasks"}


def test_no_lower_app_imports_a_higher_one():
    assert upward_imports() == set()


def test_no_modules_import_each_other_in_a_cycle():
    assert {tuple(sorted(cycle)) for cycle in cycles()} == set()


def test_no_module_is_over_400_lines():
    assert long_modules() == {}
