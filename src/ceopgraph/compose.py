"""Where the parts are put together: the one place that chooses the query store and builds the write path.

The server (``ceopgraph serve``, ``web.services``), the command line and the tests build their store with
``open_store`` and their ``Releases`` with ``open_releases``, so the three cannot drift apart: the command
line's publish has the server's limits and pushes to a remote store as the server's does, and a test app
over a data directory serves it as ``serve --data-dir`` does. The registry's backend is chosen here too
(``open_registry``): SQLite in the data directory, or PostgreSQL with ``CEOPGRAPH_DATABASE_URL``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path

from ceopgraph.config import Settings, SettingsError
from ceopgraph.conneg import FORMATS_BY_EXTENSION, RdfFormat
from ceopgraph.publish import Target
from ceopgraph.releases.follower import ReleaseStore
from ceopgraph.releases.registry import Registry
from ceopgraph.releases.remote import push_current
from ceopgraph.releases.service import Limits, Releases
from ceopgraph.releases.sqlite import SqliteRegistry
from ceopgraph.store.client import Credentials
from ceopgraph.store.disk import DiskStore
from ceopgraph.store.embedded import EmbeddedStore, QueryLimits
from ceopgraph.store.protocol import Store
from ceopgraph.validation.engine import Validator
from ceopgraph.validation.service import JobRunner, ValidatorConfig, run_here
from ceopgraph.validation.shapes import load_shapes


def open_registry(folder: Path, clock: Callable[[], float] = time.time, database_url: str | None = None) -> Registry:
    """The registry: PostgreSQL at ``database_url`` when given (the store of record of every replica),
    else SQLite in the data directory ``folder``. ``clock`` places the per-minute rate budgets (a test's
    own clock). RegistryUnavailable if the database cannot be reached."""
    if database_url is None:
        return SqliteRegistry(folder, clock)
    if not database_url.startswith(("postgresql://", "postgres://")):
        raise SettingsError("CEOPGRAPH_DATABASE_URL: not a postgresql:// URL")  # never echoed: it may hold a password
    from ceopgraph.releases.postgres import PostgresRegistry  # the driver is loaded only when it is used

    return PostgresRegistry(database_url, clock)


def open_releases(settings: Settings, run: JobRunner | None = None, clock: Callable[[], float] = time.time) -> Releases:
    """The drafts and releases of ``settings.data_dir``, with the limits of ``settings`` and, with a remote
    store (``settings.endpoint``), a push of the current release after each publish or withdrawal, fenced by
    the state the store holds (``releases.remote``). ``run`` runs the drafts' work (``ValidationPool.runner``
    in a server, ``run_in_process`` on the command line); without it, the read path's view, which only
    follows the current release."""
    if settings.data_dir is None:
        raise ValueError("the write path needs a data directory (CEOPGRAPH_DATA_DIR)")
    target = push_target(settings)
    on_change = None if target is None else (lambda releases: push_current(releases, target))
    registry = open_registry(settings.data_dir, clock, settings.database_url)
    return Releases(settings.data_dir, settings.scheme, registry, run, Limits.of(settings), on_change)


def run_in_process(settings: Settings) -> JobRunner:
    """The command line's runner of drafts' work: here, with the shapes loaded and prepared once, when the first
    job needs them (the operator's own files)."""
    config = ValidatorConfig(str(settings.shapes_dir), settings.base_uri, settings.max_submission_bytes)
    return run_here(config, cache(lambda: Validator.of(load_shapes(settings.shapes_dir, settings.scheme))))


def push_target(settings: Settings) -> Target | None:
    """Where the current release is pushed with a remote store; None for the embedded store."""
    if not settings.endpoint:
        return None
    credentials = None
    if settings.update_user:
        credentials = Credentials(settings.update_user, settings.update_password or "", scheme=settings.update_auth)
    update = settings.update_endpoint or settings.endpoint
    return Target(settings.endpoint, update, credentials=credentials, timeout_s=max(60.0, settings.query_timeout_s))


def open_store(
    settings: Settings,
    files: Sequence[Path] = (),
    formats: Sequence[RdfFormat] = (),
    disk: DiskStore | None = None,
    *,
    start: bool = False,
) -> Store:
    """The store the endpoint and pages read, by ``settings``: a remote SPARQL 1.1 store
    (``settings.endpoint``: nothing to load, nothing local to assume); else the current release of the
    data directory, followed as publishers publish (``settings.data_dir``); else ``files`` in memory
    (``embedded_store``). ``start``: start the query processes now (a server is healthy only when it can
    query), not at the first query."""
    if settings.endpoint:
        from ceopgraph.store.remote import RemoteStore

        return RemoteStore.from_settings(settings)
    if settings.data_dir is not None:
        trig = FORMATS_BY_EXTENSION["trig"]

        def load(paths: list[Path]) -> EmbeddedStore:
            return embedded_store(settings, paths, [trig] * len(paths), start=start)

        return ReleaseStore(open_releases(settings), load, settings.release_poll_s)
    return embedded_store(settings, files, formats, disk, start=start)


def embedded_store(
    settings: Settings,
    files: Sequence[Path],
    formats: Sequence[RdfFormat],
    disk: DiskStore | None = None,
    *,
    start: bool = False,
) -> EmbeddedStore:
    """``files`` in an embedded store with the query limits of ``settings`` (``disk``: the same files
    written once by ``DiskStore.build``, which every query process opens)."""
    limits = QueryLimits(
        settings.query_memory_mb,
        settings.fast_query_s,
        settings.heavy_queries,
        in_memory=settings.query_store == "memory",
        holder_memory_mb=settings.query_data_memory_mb,
    )
    store = EmbeddedStore.from_files(files, formats, settings.query_processes, disk, limits)
    if start:
        store.start_query_pool(wait=True)
    return store
