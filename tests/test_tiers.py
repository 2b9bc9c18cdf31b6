"""The suite's tiers (``tests.tiers``): what makes a test live, and the check that a fast-tier test starts
no process of its own while the code under test may start its workers."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import threading
from pathlib import PurePath

import pytest

from ceopgraph.processes.pool import WorkerPool

from . import tiers
from .conftest import gunicorn_server, live_server, run_build, shapes
from .live import running_server
from .test_processes_pool import ENTRY


def _start_a_process() -> None:
    subprocess.run([sys.executable, "-c", "pass"], check=True, timeout=30)


def _through_a_helper() -> None:
    _start_a_process()


def _only_counts() -> int:
    return len([1, 2, 3])


class _Server:
    def start(self) -> None:
        subprocess.Popen([sys.executable, "-c", "pass"])


class _Oxigraph(_Server):  # inherits what starts the process
    pass


def _make_a_server() -> _Server:
    return _Oxigraph()


@pytest.mark.parametrize(
    "function",
    [_start_a_process, _through_a_helper, _make_a_server, running_server, run_build, live_server, gunicorn_server],
    ids=["subprocess", "a-helper", "an-inherited-method", "running_server", "run_build", "live_server", "gunicorn"],
)
def test_code_that_reaches_a_process_starter_is_live(function: object) -> None:
    assert tiers.reaches_a_process(function)  # type: ignore[arg-type]


@pytest.mark.parametrize("function", [_only_counts, shapes, tiers.live_by_name], ids=["counts", "shapes", "tiers"])
def test_code_that_starts_nothing_is_not(function: object) -> None:
    assert not tiers.reaches_a_process(function)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "live"),
    [
        ("tests/test_sparql_live.py", True),
        ("tests/test_browser_pages.py", True),
        ("tests/test_sparql.py", False),
        ("tests/test_live_helpers.py", False),
    ],
)
def test_a_module_is_live_by_its_name(name: str, live: bool) -> None:
    assert tiers.live_by_name(PurePath(name)) is live


def test_this_module_runs_in_the_fast_tier(request: pytest.FixtureRequest) -> None:
    assert request.node.get_closest_marker(tiers.LIVE) is None
    assert tiers.GUARD.test == request.node.nodeid  # and is watched while it runs


def test_a_process_started_from_test_code_fails_the_fast_tier_test() -> None:
    refused = pytest.raises(tiers.StartedAProcess, match=r"example started a process from tests\.test_tiers")
    with refused, tiers.no_processes_from_tests("example"):
        _through_a_helper()


def _swallowing() -> None:
    with contextlib.suppress(tiers.StartedAProcess):
        _start_a_process()


def test_a_refusal_the_test_swallowed_still_fails_it() -> None:
    with pytest.raises(tiers.StartedAProcess, match=r"subprocess\.Popen"), tiers.no_processes_from_tests("example"):
        _swallowing()


def test_a_process_started_in_another_thread_fails_it_too() -> None:
    with pytest.raises(tiers.StartedAProcess), tiers.no_processes_from_tests("example"):
        thread = threading.Thread(target=_swallowing)
        thread.start()
        thread.join(30)


def test_the_code_under_test_may_start_its_own_workers() -> None:
    with tiers.no_processes_from_tests("example"):
        pool = WorkerPool(ENTRY, None, 1, "test worker", memory_mb=256)
        try:
            status, pid = pool.run(("pid", None), 60)
        finally:
            pool.close()
    assert status == "ok" and isinstance(pid, int)


@pytest.mark.parametrize(
    ("argv", "kind"),
    [
        ([sys.executable, "-m", "ceopgraph.cli", "serve", "--port", "9"], "ceopgraph serve (server)"),
        ([sys.executable, "-m", "ceopgraph.cli", "build", "--out", "dist"], "ceopgraph build"),
        (["/usr/local/bin/ceopgraph", "serve"], "ceopgraph serve (server)"),
        (["/venv/bin/oxigraph", "serve", "--location", "db"], "oxigraph (SPARQL store)"),
        (
            [sys.executable, "-c", "from ceopgraph.processes.sandbox import confine"],
            "worker process of an app in the suite's own process",
        ),
        (["chromium", "--headless"], "chromium"),
        (["runuser", "-u", "postgres", "--", "/usr/lib/postgresql/15/bin/pg_ctl", "start"], "pg_ctl (postgres)"),
        (["/usr/lib/postgresql/15/bin/initdb", "-D", "data"], "initdb (postgres)"),
        ("true", "true"),
    ],
)
def test_the_census_names_each_started_process_by_its_argument_vector(argv: object, kind: str) -> None:
    assert tiers.process_kind(argv) == kind


def test_the_census_counts_a_server_start() -> None:
    census = tiers._Guard()
    census.count([sys.executable, "-m", "ceopgraph.cli", "serve"])
    census.count([sys.executable, "-m", "ceopgraph.cli", "serve", "--server", "gunicorn"])
    assert census.started == {"ceopgraph serve (server)": 2}
