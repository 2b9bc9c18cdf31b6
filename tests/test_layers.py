"""The rooms' layering (docs/architecture.md): which ceopgraph modules each module imports.

Imports are read from the source with ``ast`` (every import statement, those inside functions too, so a
lazy import cannot hide an edge); the processes room is also imported in a fresh interpreter, to see what
loading it really pulls in. A room is a package (``store``, ``web``…) or a top-level module.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "ceopgraph"
# The entry points, above every room: they compose the app and run it.
ENTRY_POINTS = {"cli", "server"}


@cache
def modules() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its ``__init__``)."""
    found = {}
    for path in sorted((SRC / PACKAGE).rglob("*.py")):
        parts = path.relative_to(SRC).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports_of(source: str, name: str, is_package: bool) -> set[str]:
    """The package's modules that ``source`` (module ``name``) imports: ``from a import b`` counts ``a.b``
    when that is a module, else ``a``; relative imports are resolved against ``name``."""
    known = modules()
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".")[: len(name.split(".")) - node.level + (1 if is_package else 0)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
    return {module for module in found if module == PACKAGE or module.startswith(PACKAGE + ".")}


@cache
def imports() -> dict[str, frozenset[str]]:
    return {
        name: frozenset(imports_of(path.read_text(encoding="utf-8"), name, path.name == "__init__.py"))
        for name, path in modules().items()
    }


def room(module: str) -> str:
    """``ceopgraph.store.jobs`` -> ``store``; ``ceopgraph.sparqltext`` -> ``sparqltext``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def reachable(module: str) -> set[str]:
    """Every module ``module`` imports, directly or through others."""
    seen: set[str] = set()
    stack = [module]
    while stack:
        for imported in imports()[stack.pop()]:
            if imported not in seen:
                seen.add(imported)
                stack.append(imported)
    return seen


def room_cycle() -> list[str] | None:
    """A cycle between rooms (as the list of rooms around it), or None."""
    edges: dict[str, set[str]] = {}
    for module, imported in imports().items():
        edges.setdefault(room(module), set()).update(room(i) for i in imported if room(i) != room(module))
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for following in sorted(edges.get(node, ())):
            if state.get(following) == 1:
                return [*path[path.index(following) :], following]
            if following not in state and (cycle := visit(following)) is not None:
                return cycle
        state[node] = 2
        path.pop()
        return None

    for start in sorted(edges):
        if start not in state and (cycle := visit(start)) is not None:
            return cycle
    return None


def test_the_rooms_import_each_other_without_a_cycle() -> None:
    assert room_cycle() is None, " -> ".join(room_cycle() or [])


def test_the_processes_room_imports_no_other_room() -> None:
    assert {"ceopgraph.processes.pool", "ceopgraph.processes.sandbox"} <= set(modules())
    for module in modules():
        if room(module) == "processes":
            above = {i for i in imports()[module] if room(i) != "processes"}
            assert not above, f"{module} imports {sorted(above)}"


def test_the_processes_room_loads_no_other_module_of_the_package() -> None:
    """What importing the pool and the sandbox really loads, in a fresh interpreter: a worker imports
    them first, before anything else."""
    program = (
        "import json, sys\n"
        "import ceopgraph.processes.pool, ceopgraph.processes.sandbox\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.startswith('{PACKAGE}'))))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True, timeout=60, cwd=SRC
    )
    assert json.loads(done.stdout) == [
        PACKAGE,
        f"{PACKAGE}.processes",
        f"{PACKAGE}.processes.pool",
        f"{PACKAGE}.processes.sandbox",
    ]


@pytest.mark.parametrize("module", ["ceopgraph.sparqltext", "ceopgraph.queryshape", "ceopgraph.querydataset"])
def test_query_text_reaches_neither_the_store_nor_http(module: str) -> None:
    """The SPARQL text room sits below the store, the protocol and the web: nothing it imports, even
    through another module, is one of theirs."""
    above = {i for i in reachable(module) if room(i) in {"store", "web", "sparql", "queryvet", "processes"}}
    assert not above, f"{module} reaches {sorted(above)}"


def test_nothing_but_the_entry_points_imports_the_web_room() -> None:
    for module, imported in imports().items():
        if room(module) not in {"web", *ENTRY_POINTS}:
            web = {i for i in imported if room(i) == "web"}
            assert not web, f"{module} imports {sorted(web)}"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import ceopgraph.store.jobs", {"ceopgraph.store.jobs"}),
        ("from ceopgraph.store import jobs", {"ceopgraph.store.jobs"}),
        ("from ceopgraph.store.jobs import QueryJob", {"ceopgraph.store.jobs"}),
        ("from ceopgraph import sparqltext", {"ceopgraph.sparqltext"}),
        ("def later():\n    from ceopgraph.web import errors", {"ceopgraph.web.errors"}),
        ("from .jobs import QueryJob", {"ceopgraph.store.jobs"}),
        ("from ..web import app", {"ceopgraph.web.app"}),
        ("import rdflib\nfrom os import path", set()),
    ],
)
def test_imports_are_read_in_every_form(source: str, expected: set[str]) -> None:
    """The reader the layering rests on: absolute, from-package, relative and nested imports all count."""
    assert imports_of(source, "ceopgraph.store.remote", is_package=False) == expected
