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

from ceopgraph.config import Settings, load_settings
from ceopgraph.conneg import FORMATS_BY_EXTENSION
from ceopgraph.releases.follower import ReleaseStore
from ceopgraph.releases.service import Releases
from ceopgraph.store.embedded import EmbeddedStore
from ceopgraph.web.app import create_app
from ceopgraph.web.services import close_app


@contextmanager
def embedded_app(
    settings: Settings,
    dist: Path,
    environ: dict[str, str] | None = None,
    clock: Callable[[], float] = time.time,
    **overrides: object,
) -> Iterator[Flask]:
    """An app over the TriG dump in ``dist``, its settings from ``environ`` (``CEOPGRAPH_*``) and
    ``overrides``, with one query process; ``clock`` places its write path's per-minute budgets."""
    store = EmbeddedStore.from_files([dist / "ceopgraph.trig"], [FORMATS_BY_EXTENSION["trig"]], 1)
    made = load_settings(environ=environ or {}, root=settings.root, dist_dir=dist, **overrides)
    app = create_app(made, store, owns_store=True, clock=clock)
    try:
        yield app
    finally:
        close_app(app)


@contextmanager
def release_app(settings: Settings, dist: Path, data_dir: Path) -> Iterator[Flask]:
    """An app over the releases of ``data_dir`` (its current release followed, as ``ceopgraph serve
    --data-dir`` serves it), with one query process."""
    made = load_settings(environ={}, root=settings.root, dist_dir=dist, data_dir=data_dir)
    trig = FORMATS_BY_EXTENSION["trig"]
    reader = Releases(data_dir, made.base_uri)
    store = ReleaseStore(reader, lambda files: EmbeddedStore.from_files(files, [trig] * len(files), 1), poll_s=3600)
    app = create_app(made, store, owns_store=True)
    try:
        yield app
    finally:
        close_app(app)
