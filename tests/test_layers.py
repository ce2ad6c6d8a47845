"""The house keeps its order: every import inside ``mapapp`` runs down a layer, and none closes a circle.

Read with ``ast`` (nothing is imported or run). The layers, lowest first::

    core → store → geo → ingest | query → present → web | cli → the app (mapapp/__init__, wsgi, offload)

A module may import its own layer and any lower one. ``ingest`` and ``query`` sit side by side and never
import each other (ingest writes the store, query reads it); so do ``web`` and ``cli``.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "mapapp"
RANK = {"core": 0, "store": 1, "geo": 2, "ingest": 3, "query": 3, "present": 4, "web": 5, "cli": 5, "": 6}
MAX_LINES = 600


def module_name(path: Path) -> str:
    """``mapapp/query/read.py`` → ``mapapp.query.read`` (a package is its ``__init__``)."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> str:
    """The layer of ``mapapp.<layer>.x``; top-level modules (the app) are ``""``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in RANK and (PACKAGE / parts[1]).is_dir() else ""


def imported_modules(path: Path) -> set[str]:
    """Every ``mapapp`` module ``path`` imports, resolved to absolute names (also inside functions)."""
    me = module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "mapapp")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "mapapp":
                continue
            for alias in node.names:  # "from mapapp.query import read" imports the module mapapp.query.read
                sub = f"{target}.{alias.name}"
                found.add(sub if _exists(sub) else target)
    found.discard(me)
    return found


def _exists(module: str) -> bool:
    relative = Path(*module.split(".")[1:])
    return (PACKAGE / relative).with_suffix(".py").is_file() or (PACKAGE / relative / "__init__.py").is_file()


def _path_of(module: str) -> str:
    relative = Path(*module.split(".")[1:])
    path = (PACKAGE / relative).with_suffix(".py")
    return str((path if path.is_file() else PACKAGE / relative / "__init__.py").relative_to(PACKAGE.parent))


def import_graph() -> dict[str, set[str]]:
    """``{module: modules it imports}`` for every module under ``mapapp/``."""
    return {module_name(p): imported_modules(p) for p in sorted(PACKAGE.rglob("*.py"))}


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    """Imports that run up a layer, or sideways between layers that must not know each other."""
    bad = []
    for module, targets in graph.items():
        mine = layer_of(module)
        for target in sorted(targets):
            theirs = layer_of(target)
            if theirs == mine:
                continue
            if target == "mapapp" and mine == "":
                continue
            if RANK[theirs] >= RANK[mine]:
                bad.append(f"{_path_of(module)} ({mine or 'app'}) imports {_path_of(target)} ({theirs or 'app'})")
    return bad


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every import circle, each as the list of modules around it (Tarjan's strongly connected components)."""
    index, low, on_stack, stack, found = {}, {}, set(), [], []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in graph:
                continue
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph.get(node, ()):
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_the_layers_exist():
    for layer in RANK:
        if layer:
            assert (PACKAGE / layer / "__init__.py").is_file(), f"mapapp/{layer}/ is missing"


def test_no_import_runs_up_a_layer():
    bad = upward_imports(import_graph())
    assert not bad, "imports that run up a layer:\n" + "\n".join(bad)


def test_no_import_circle():
    found = circles(import_graph())
    assert not found, "import circles:\n" + "\n".join(" ↔ ".join(_path_of(m) for m in c) for c in found)


def test_no_module_is_over_the_size_limit():
    long = [f"{p.relative_to(PACKAGE.parent)}: {n} lines" for p in sorted(PACKAGE.rglob("*.py"))
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES]
    assert not long, "modules over ~600 lines (split them by idea):\n" + "\n".join(long)


# The checker itself must catch what it is for: a circle and an upward import, built in memory.
def test_the_checker_finds_a_circle_and_an_upward_import():
    graph = {"mapapp.query.a": {"mapapp.query.b"}, "mapapp.query.b": {"mapapp.query.a"},
             "mapapp.store.db": {"mapapp.web.views"}, "mapapp.web.views": set()}
    assert circles(graph) == [["mapapp.query.a", "mapapp.query.b"]]
    assert len(upward_imports(graph)) == 1 and "store" in upward_imports(graph)[0]


@pytest.mark.parametrize("source, expected", [
    ("from mapapp.query import read as query\n", {"mapapp.query.read"}),
    ("from ..store.db import connection\n", {"mapapp.store.db"}),
    ("def f():\n    from mapapp.geo import units\n", {"mapapp.geo.units"}),
])
def test_imports_are_resolved(tmp_path, monkeypatch, source, expected):
    path = PACKAGE / "present" / "_layer_probe.py"
    monkeypatch.setattr(Path, "read_text", lambda self, encoding=None: source)
    assert imported_modules(path) == expected
