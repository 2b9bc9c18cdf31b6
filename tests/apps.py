"""One way to make a test app over the built dataset: an embedded store it owns, closed afterwards.

    with embedded_app(settings, built_dist, max_result_rows=3) as app:
        app.test_client().get("/sparql", ...)

Closing the app (``web.services.close_app``) stops its checker, validation and query processes and
closes its store, so no test module leaves worker processes behind.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import Flask

from ceopgraph.compose import embedded_store, open_store
from ceopgraph.config import Settings, load_settings
from ceopgraph.conneg import FORMATS_BY_EXTENSION
from ceopgraph.web.app import create_app
from ceopgraph.web.services import close_app

# The query time limit of a test that checks what a large query answers (tens of thousands of rows), not
# how long it takes: such a query needs about a second alone, so it reaches the heavy lane (nice 15), where
# busy neighbours in a full run made it pass the default 10 s.
LARGE_ANSWER_TIMEOUT_S = 60.0


@contextmanager
def embedded_app(
    settings: Settings,
    dist: Path,
    environ: dict[str, str] | None = None,
    clock: Callable[[], float] = time.time,
    started: bool = False,
    **overrides: object,
) -> Iterator[Flask]:
    """An app over the TriG dump in ``dist``, its settings from ``environ`` (``CEOPGRAPH_*``) and
    ``overrides``, with one query process; ``clock`` places its write path's per-minute budgets. ``started``:
    its query process ready before the first request, as a server has it (``serve`` waits for it), so a
    test timing an answer never times the process's start on a busy machine."""
    values = {"query_processes": 1, **overrides}
    made = load_settings(environ=environ or {}, root=settings.root, dist_dir=dist, **values)
    store = embedded_store(made, [dist / "ceopgraph.trig"], [FORMATS_BY_EXTENSION["trig"]], start=started)
    app = create_app(made, store, owns_store=True, clock=clock)
    try:
        yield app
    finally:
        close_app(app)


@contextmanager
def release_app(settings: Settings, dist: Path, data_dir: Path) -> Iterator[Flask]:
    """An app over the releases of ``data_dir`` (its current release followed, as ``ceopgraph serve
    --data-dir`` serves it), with one query process."""
    made = load_settings(
        environ={}, root=settings.root, dist_dir=dist, data_dir=data_dir, query_processes=1, release_poll_s=3600
    )
    app = create_app(made, open_store(made), owns_store=True)
    try:
        yield app
    finally:
        close_app(app)
