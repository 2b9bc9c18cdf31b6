"""Shared fixtures: settings, the built dataset and the source text, built once per session; and the
suite's two tiers (``tiers``): tests that start processes are marked ``live``, the rest must start none."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, sync_playwright
from rdflib import Dataset, Graph

from ceopgraph.build import build_dataset, read_source_text, union_graph, write_dumps
from ceopgraph.config import Settings, load_settings
from ceopgraph.conneg import FORMATS_BY_EXTENSION
from ceopgraph.store.embedded import EmbeddedStore
from ceopgraph.validation.engine import Validator
from ceopgraph.validation.shapes import load_shapes

from . import tiers
from .apps import embedded_app
from .backends import Backend
from .browser import CONSOLE_ERRORS, VIEWPORT, ConsoleErrors, launch
from .listener import Listener, listening
from .live import CAPPED_ROWS, LiveServer, running_server
from .postgres import Postgres, running_postgres
from .submissions import Corpus

ROOT = Path(__file__).resolve().parents[1]
SOURCE_TEXT_PATH = ROOT / "data" / "source" / "ceop-annual-review-2012-13-news.txt"


# The longest test files, longest first (each file's summed ``--durations`` on 2 cores, both tiers). A parallel
# run hands whole files to its processes in collection order, so these go first: the files handed out last are
# then short ones, and no process is left running a long file alone at the end. Order only: nothing is selected.
LONGEST_FIRST = (
    "test_validation_bulk.py",
    "test_http_hygiene_live.py",
    "test_releases_crash.py",
    "test_validation_service.py",
    "test_releases_fence_live.py",
    "test_releases_service.py",
    "test_validate_cli.py",
    "test_releases_live.py",
    "test_releases_remote.py",
    "test_browser_accessibility.py",
    "test_hardening_live.py",
    "test_releases_rolling_live.py",
    "test_releases_postgres_live.py",
    "test_resources.py",
    "test_sparql_browser.py",
    "test_browser_releases.py",
    "test_releases_postgres.py",
    "test_releases_web.py",
    "test_pages_capped.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the tests that start processes ``live``: ``make check`` runs the others (``-m "not live"``);
    and put the longest files first (``LONGEST_FIRST``), each file's tests in their own order."""
    for item in items:
        if tiers.is_live(item):
            item.add_marker(tiers.LIVE)
    rank = {name: place for place, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


def pytest_sessionstart(session: pytest.Session) -> None:
    tiers.install()  # from the start, so that the census counts every process the run starts


def pytest_sessionfinish(session: pytest.Session) -> None:
    """A parallel run's worker hands its census to the controlling process (``pytest_testnodedown``)."""
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["started"] = dict(tiers.GUARD.started)


@pytest.hookimpl(optionalhook=True)  # an xdist hook: a run with `-p no:xdist` has no such hook to check against
def pytest_testnodedown(node: Any, error: object) -> None:
    for kind, count in getattr(node, "workeroutput", {}).get("started", {}).items():
        tiers.GUARD.started[kind] = tiers.GUARD.started.get(kind, 0) + count


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The census of what the run started: server starts are the suite's dearest fixture."""
    started = sorted(tiers.GUARD.started.items(), key=lambda item: (-item[1], item[0]))
    if started:
        terminalreporter.write_sep("-", "processes started by the run")
        for kind, count in started:
            terminalreporter.write_line(f"{count:6d}  {kind}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    return (yield from _in_its_tier(item))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    return (yield from _in_its_tier(item))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, None, None]:
    return (yield from _in_its_tier(item))


def _in_its_tier(item: pytest.Item) -> Generator[None, None, None]:
    """A fast-tier test, its fixtures included, starts no process of its own (``tiers``)."""
    if item.get_closest_marker(tiers.LIVE) is not None:
        return (yield)
    with tiers.no_processes_from_tests(item.nodeid):
        return (yield)


@pytest.fixture(scope="session")
def settings() -> Settings:
    return load_settings(environ={}, root=ROOT)


@pytest.fixture(scope="session")
def dataset(settings: Settings) -> Dataset:
    return build_dataset(settings)


@pytest.fixture(scope="session")
def union(dataset: Dataset) -> Graph:
    return union_graph(dataset)


@pytest.fixture(scope="session")
def shapes(settings: Settings) -> Graph:
    """Our shapes graph, loaded as the validator loads it (read-only: a test that changes it copies it)."""
    return load_shapes(settings.shapes_dir, settings.scheme)


@pytest.fixture(scope="session")
def validator(shapes: Graph) -> Validator:
    """Our shapes prepared once, as a server's validation workers hold them."""
    return Validator.of(shapes)


@pytest.fixture(scope="session")
def corpus(union: Graph, shapes: Graph, settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    """The invalid-submission corpus, each case mutated and validated at most once per run: the processes
    of a parallel run share their cases through the run's temporary folder (each process has its own
    folder in it)."""
    parallel = os.environ.get("PYTEST_XDIST_WORKER") is not None
    shared = tmp_path_factory.getbasetemp().parent / "corpus" if parallel else None
    if shared is not None:
        shared.mkdir(exist_ok=True)
    return Corpus(union, shapes, settings, shared)


@pytest.fixture(scope="session")
def source_text() -> str:
    return read_source_text(SOURCE_TEXT_PATH)


@pytest.fixture(scope="session")
def built_dist(tmp_path_factory: pytest.TempPathFactory, dataset: Dataset, settings: Settings) -> Path:
    """The dumps, built once for every test that needs files or a live server."""
    out = tmp_path_factory.mktemp("dist")
    write_dumps(dataset, out, settings.scheme)
    return out


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory, built_dist: Path) -> Iterator[LiveServer]:
    """One real server (the default: Granian, embedded store) for the whole session."""
    log = tmp_path_factory.mktemp("logs") / "server.log"
    with running_server(["--dist", str(built_dist), "--workers", "2"], log) as server:
        yield server


@pytest.fixture(scope="session")
def gunicorn_server(tmp_path_factory: pytest.TempPathFactory, built_dist: Path) -> Iterator[LiveServer]:
    """The other server (``serve --server gunicorn``), one worker, for the whole session."""
    log = tmp_path_factory.mktemp("gunicorn") / "server.log"
    with running_server(["--dist", str(built_dist), "--workers", "1", "--server", "gunicorn"], log) as server:
        yield server


@pytest.fixture(scope="session")
def capped_server(tmp_path_factory: pytest.TempPathFactory, built_dist: Path) -> Iterator[LiveServer]:
    """One server whose endpoint stops every answer at CAPPED_ROWS rows (and says so in X-SPARQL-MaxRows),
    shared by the endpoint's tests and the editor's: the same settings need one start, not one per module."""
    log = tmp_path_factory.mktemp("capped") / "server.log"
    env = {"CEOPGRAPH_MAX_RESULT_ROWS": str(CAPPED_ROWS)}
    with running_server(["--dist", str(built_dist), "--workers", "1"], log, env) as server:
        yield server


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """One PostgreSQL server for the session (``tests/postgres.py``); each test takes a fresh database."""
    with running_postgres() as server:
        yield server


@pytest.fixture
def postgres_url(postgres: Postgres, request: pytest.FixtureRequest) -> str:
    """The URL of a new, empty database for this test."""
    return postgres.fresh_database("t" + hashlib.sha256(request.node.nodeid.encode()).hexdigest()[:20])


@pytest.fixture
def sqlite_backend() -> Iterator[Backend]:
    backend = Backend("sqlite")
    try:
        yield backend
    finally:
        backend.close()


@pytest.fixture
def postgres_backend(postgres_url: str) -> Iterator[Backend]:
    backend = Backend("postgres", postgres_url)
    try:
        yield backend
    finally:
        backend.close()


@pytest.fixture(params=["sqlite_backend", "postgres_backend"])
def backend(request: pytest.FixtureRequest) -> Backend:
    """The registry's backends, one per run of the test: the fixture named by the parameter (``tiers``
    follows it, so the postgres run is live and the sqlite one stays in the fast tier)."""
    found: Backend = request.getfixturevalue(request.param)
    return found


@pytest.fixture(scope="module")
def app(settings: Settings, built_dist: Path) -> Iterator[Flask]:
    """The app over the built dataset with the default settings, one per module: its caches and
    per-client budgets are state a module's tests may change. A module needing other settings defines
    its own ``app``."""
    with embedded_app(settings, built_dist) as made:
        yield made


@pytest.fixture(scope="module")
def built_store(built_dist: Path) -> Iterator[EmbeddedStore]:
    """The embedded store over the built dataset (two query processes), one per module, closed after it."""
    store = EmbeddedStore.from_files([built_dist / "ceopgraph.trig"], [FORMATS_BY_EXTENSION["trig"]])
    try:
        yield store
    finally:
        store.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the session, shared by every browser test (``tests/browser.py``)."""
    with sync_playwright() as playwright:
        launched = launch(playwright)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh page in its own context; the test fails if the page logs any console error it did not expect."""
    context = browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
    new_page = context.new_page()
    errors = request.node.stash[CONSOLE_ERRORS] = ConsoleErrors()
    new_page.on("console", errors.on_console)
    new_page.on("pageerror", errors.on_page_error)
    try:
        yield new_page
    finally:
        context.close()
    problems = errors.problems()
    if problems:
        pytest.fail(f"{request.node.name}: the page reported errors:\n" + "\n".join(problems), pytrace=False)


@pytest.fixture
def console_errors(page: Page, request: pytest.FixtureRequest) -> ConsoleErrors:
    """The console errors of the test's ``page``, to ``expect`` one the test provokes on purpose."""
    return request.node.stash[CONSOLE_ERRORS]


@pytest.fixture
def listener() -> Iterator[Listener]:
    """A local HTTP listener that counts requests (``tests/listener.py``), stopped at teardown."""
    with listening() as state:
        yield state


def project_copy(folder: Path, figures: tuple[str, str] | None = None) -> Path:
    """A copy of the project's curated sources (ontology, data, shapes) under ``folder``, for a build
    or a publish of changed data (``CEOPGRAPH_ROOT``); ``figures``: one replacement made in figures.ttl."""
    for part in ("ontology", "data", "shapes"):
        shutil.copytree(ROOT / part, folder / part)
    if figures is not None:
        path = folder / "data" / "figures.ttl"
        text = path.read_text()
        assert figures[0] in text, figures[0]
        path.write_text(text.replace(*figures))
    return folder


def run_build(root: Path, out: Path) -> subprocess.CompletedProcess[str]:
    """``ceopgraph build`` of the sources under ``root`` into ``out``, in a fresh process."""
    return subprocess.run(
        [sys.executable, "-m", "ceopgraph.cli", "build", "--out", str(out)],
        env={**os.environ, "CEOPGRAPH_ROOT": str(root)},
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
