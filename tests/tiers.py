"""The suite's two tiers: ``live`` tests start processes of their own (a server, a store, a browser, a
command line); every other test runs in this process, the fast tier of the edit loop (``make check``).

A test is live when its module says so by its name (``*_live.py``, ``test_browser_*``) or when its code
can reach something that starts a process: its body, its fixtures, and the test helpers they call, read
from their compiled code (the names it refers to), never from their text. No file is tagged by hand.

The classification is checked on every run, not trusted: while a test of the fast tier runs (its fixtures
included), a process started from the suite's own code is refused and fails the test. Processes the code
under test starts for itself (``ceopgraph.processes.pool``: the validation and query workers an app owns)
are its business, not the test's, and stay allowed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import types
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

import pytest
from playwright.sync_api import sync_playwright

LIVE = "live"
TESTS_PACKAGE = __name__.rpartition(".")[0]  # "tests"
UNDER_TEST = "ceopgraph"

# What starts a process when test code refers to it: the subprocess module itself, its entry points
# imported by name, a fork, a shell, and Playwright (a driver process and Chromium).
STARTERS: tuple[object, ...] = (subprocess, subprocess.Popen, subprocess.run, sync_playwright, os.fork, os.system)

# Audit events (PEP 578) raised before a new process exists.
PROCESS_EVENTS = frozenset({"subprocess.Popen", "os.system", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty"})


def live_by_name(path: PurePath) -> bool:
    """A module named for what it drives: ``*_live.py`` (real servers), ``test_browser_*`` (Chromium)."""
    return path.stem.endswith("_live") or path.stem.startswith("test_browser_")


def reaches_a_process(function: Callable[..., Any]) -> bool:
    """Whether ``function``'s code, or any test helper it names (functions and classes of the test package,
    followed in turn), refers to a process starter."""
    return _Reach().function(function)


@dataclass
class _Reach:
    seen: set[int] = field(default_factory=set)

    def function(self, function: object) -> bool:
        function = getattr(function, "__wrapped__", function)  # @contextmanager and friends
        code = getattr(function, "__code__", None)
        if code is None or id(code) in self.seen:
            return False
        self.seen.add(id(code))
        return self.code(code, getattr(function, "__globals__", {}))

    def code(self, code: types.CodeType, scope: dict[str, Any]) -> bool:
        """The names the code refers to (globals and attributes alike), resolved in its module; nested
        code (lambdas, inner functions, comprehensions) is its code too."""
        named = [scope[name] for name in code.co_names if name in scope]
        for module in [n for n in named if isinstance(n, types.ModuleType)]:  # ``os.fork``, ``live.running_server``
            named += [getattr(module, name) for name in code.co_names if hasattr(module, name)]
        if any(self.starter(obj) for obj in named):
            return True
        return any(self.code(const, scope) for const in code.co_consts if isinstance(const, types.CodeType))

    def starter(self, obj: object) -> bool:
        if any(obj is starter for starter in STARTERS):
            return True
        if not _is_test_code(getattr(obj, "__module__", None) or ""):
            return False  # the code under test, the standard library, dependencies: not the test's doing
        if isinstance(obj, type):  # a helper class: its methods, inherited ones included
            return any(
                self.function(member)
                for klass in obj.__mro__
                if _is_test_code(klass.__module__)
                for member in vars(klass).values()
            )
        return self.function(getattr(obj, "func", obj))  # a fixture definition: its function


def _is_test_code(module: str) -> bool:
    return module == TESTS_PACKAGE or module.startswith(TESTS_PACKAGE + ".")


def is_live(item: pytest.Item) -> bool:
    """Whether a collected test starts processes of its own: by its module's name, its body or any fixture
    it uses (however deep)."""
    if live_by_name(item.path):
        return True
    function = getattr(item, "function", None)
    if function is not None and reaches_a_process(function):
        return True
    info = getattr(item, "_fixtureinfo", None)  # pytest's record of the fixtures the test uses
    definitions = [*(info.name2fixturedefs.values() if info is not None else ()), *_fixtures_named_by_params(item)]
    return any(reaches_a_process(definition.func) for defs in definitions for definition in defs)


def _fixtures_named_by_params(item: pytest.Item) -> list[Sequence[Any]]:
    """The fixtures a test's parameters name (a parametrised fixture that asks for the fixture its
    parameter names, such as ``backend``), and the fixtures those use in turn: what they start is the
    test's too, for that parameter only."""
    callspec = getattr(item, "callspec", None)
    if callspec is None:
        return []
    manager = item.session._fixturemanager
    found: list[Sequence[Any]] = []
    names = [value for value in callspec.params.values() if isinstance(value, str)]
    seen: set[str] = set()
    while names:
        name = names.pop()
        if name in seen:
            continue
        seen.add(name)
        definitions = manager.getfixturedefs(name, item) or ()
        found.append(definitions)
        names += [argument for definition in definitions for argument in definition.argnames]
    return found


# The check at run time ---------------------------------------------------------------------------


class StartedAProcess(Exception):
    """A test of the fast tier started a process of its own: the classifier missed it."""


@dataclass
class _Guard:
    """What the audit hook consults: the fast-tier test running, if any, and what was refused in it; and
    the census of the processes the whole run started, by kind (``started``)."""

    test: str | None = None
    refused: list[str] = field(default_factory=list)
    started: dict[str, int] = field(default_factory=dict)

    def count(self, argv: object) -> None:
        kind = process_kind(argv)
        self.started[kind] = self.started.get(kind, 0) + 1

    def hook(self, event: str, args: tuple[object, ...]) -> None:
        if event == "subprocess.Popen":
            self.count(args[1])
        if self.test is None or event not in PROCESS_EVENTS:
            return
        origin = _innermost_project_module(sys._getframe(1))
        if origin is not None and _is_test_code(origin):
            what = (
                f"{self.test} started a process from {origin} ({event} {_command(args)}), unseen by tests/tiers.py: "
                "name its module *_live.py, or let the test name what starts it (not a string or a getattr)"
            )
            self.refused.append(what)
            raise StartedAProcess(what)


def process_kind(argv: object) -> str:
    """What a started process is, from its argument vector: ``ceopgraph serve`` (a server), another
    ``ceopgraph`` command, a SPARQL store, or anything else by its program's name."""
    words = [os.fspath(word) if isinstance(word, (str, os.PathLike)) else repr(word) for word in _as_list(argv)]
    program = PurePath(words[0]).name if words else "?"
    if "ceopgraph.cli" in words[:3] or program == "ceopgraph":
        command = words[words.index("ceopgraph.cli") + 1] if "ceopgraph.cli" in words[:3] else " ".join(words[1:2])
        return "ceopgraph serve (server)" if command == "serve" else f"ceopgraph {command}"
    if program == "runuser" and "--" in words:  # a command run as another user: what it runs
        program = PurePath(words[words.index("--") + 1]).name if words[-1] != "--" else program
    if program in ("oxigraph", "virtuoso-t"):
        return f"{program} (SPARQL store)"
    if program in ("initdb", "pg_ctl"):
        return f"{program} (postgres)"
    if words[1:2] == ["-c"] and "ceopgraph.processes" in " ".join(words[2:3]):
        return "worker process of an app in the suite's own process"
    return program


def _as_list(argv: object) -> list[object]:
    if isinstance(argv, (str, bytes, os.PathLike)):
        return [argv]
    return list(argv) if isinstance(argv, (list, tuple)) else []


def _innermost_project_module(frame: types.FrameType | None) -> str | None:
    """The module of the nearest frame that is ours (test code or the code under test), skipping the
    standard library and dependencies between (``subprocess.run``, Flask's test client)."""
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if _is_test_code(module) or module == UNDER_TEST or module.startswith(UNDER_TEST + "."):
            return str(module)
        frame = frame.f_back
    return None


def _command(args: tuple[object, ...]) -> str:
    command = args[1] if len(args) > 1 else args[0] if args else ""
    return repr(command)[:200]


GUARD = _Guard()
_installed: list[bool] = []


def install() -> None:
    """Add the audit hook once per interpreter (an audit hook cannot be removed; between fast-tier tests
    it only counts the processes started)."""
    if not _installed:
        sys.addaudithook(GUARD.hook)
        _installed.append(True)


@contextmanager
def no_processes_from_tests(test: str) -> Iterator[None]:
    """While the block runs, a process started from test code raises ``StartedAProcess`` there, and the
    block ends with it too (in case the test swallowed it, or it happened in another thread)."""
    install()
    outer = (GUARD.test, GUARD.refused)
    GUARD.test, GUARD.refused = test, []
    refused = GUARD.refused
    try:
        yield
    finally:
        GUARD.test, GUARD.refused = outer
    if refused:
        raise StartedAProcess(refused[0])
