"""The per-app services: built once, eagerly, by ``create_app``; reached through one accessor; closed once.

Everything an app holds besides Flask's own state lives here, typed: the settings and the store it was
given, the admission control, the query checker's and the validator's worker pools (their processes start on
first use, so building an app costs no process), the shapes graph parsed once (the shape pages and the
validator's guide share it), the index of subjects behind the 404 hints, the reconciliation service's index,
and the small caches that follow the dataset version. Blueprints reach it with ``current()``, never by
string keys, and never by importing the package that creates the app.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Generic, TypeVar

import pyoxigraph as ox
from flask import Flask, current_app
from rdflib import Graph, URIRef

from ceopgraph import search, tables
from ceopgraph.compose import open_releases
from ceopgraph.config import Settings
from ceopgraph.queryvet import QueryChecker
from ceopgraph.reconcile import Index
from ceopgraph.releases.follower import DraftStores, ReleaseStore
from ceopgraph.releases.service import Releases, Served
from ceopgraph.releases.sqlite import MemorySearch
from ceopgraph.store.embedded import EmbeddedStore, QueryLimits
from ceopgraph.store.protocol import Store
from ceopgraph.validation.guide import GuideSection, example_submission, submission_guide
from ceopgraph.validation.service import ValidationPool, ValidatorConfig
from ceopgraph.validation.shapes import load_shapes
from ceopgraph.web.admission import Admission
from ceopgraph.web.body import BodyReader
from ceopgraph.web.compression import EncodedFiles
from ceopgraph.web.pages.index import SubjectIndex

_KEY = "ceopgraph.services"
# Where `make setup` puts YASGUI (npm ci from the committed package.json and lockfile).
YASGUI_BUILD = Path("node_modules") / "@zazuko" / "yasgui" / "build"

T = TypeVar("T")


class PerVersion(Generic[T]):
    """One value per dataset version, made on first use and made again when the version changes."""

    def __init__(self, make: Callable[[], T]) -> None:
        self._make = make
        self._lock = threading.Lock()
        self._held: tuple[str, T] | None = None

    def get(self, version: str) -> T:
        with self._lock:
            if self._held is None or self._held[0] != version:
                self._held = (version, self._make())
            return self._held[1]


@dataclass
class FirstSeen:
    """When this app first served each dataset version: the ``Last-Modified`` of its answers (the store
    knows no date; a version hash has none)."""

    _seen: dict[str, datetime] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def of(self, version: str) -> datetime:
        with self._lock:
            return self._seen.setdefault(version, datetime.now(UTC).replace(microsecond=0))


@dataclass
class Services:
    settings: Settings
    store: Store
    admission: Admission
    checker: QueryChecker
    bodies: BodyReader
    validator: ValidationPool
    shapes: Graph
    guide: PerVersion[list[GuideSection]]  # per version: the examples are the served data's
    subjects: SubjectIndex
    example: PerVersion[bytes]  # the validation page's example submission, read from the store
    table_guides: PerVersion[list[tables.TableGuide]]  # each cube's columns explained, for the guide
    reconcile: PerVersion[Index]  # the reconciliation service's names and values, read from the store
    first_seen: FirstSeen
    editor_assets: Path
    releases: Releases | None  # the write path, with a data directory (``Settings.data_dir``)
    draft_stores: DraftStores
    owns_store: bool = False
    encoded_files: EncodedFiles = field(default_factory=EncodedFiles)  # the downloads' compressed codings
    # Search: the in-memory indexes of data that is no release (served without releases, drafts previewed),
    # and the releases known to be indexed (with a remote store, which no follower indexes).
    memory_search: MemoryIndexes = field(default_factory=lambda: MemoryIndexes())
    search_indexed: set[int] = field(default_factory=set)

    @classmethod
    def build(
        cls, settings: Settings, store: Store, owns_store: bool = False, clock: Callable[[], float] = time.time
    ) -> Services:
        """The app's services; ``clock`` places the write path's per-minute budgets (a test's own clock)."""
        shapes = load_shapes(settings.shapes_dir, settings.scheme)
        config = ValidatorConfig(str(settings.shapes_dir), settings.base_uri, settings.max_submission_bytes)
        validator = ValidationPool(config, settings.validation_processes, settings.validation_memory_mb)
        return cls(
            settings=settings,
            store=store,
            admission=Admission(settings.busy_requests, settings.client_queries),
            checker=QueryChecker(settings.checker_processes, settings.checker_memory_mb),
            bodies=BodyReader(settings.body_timeout_s, settings.body_readers),
            validator=validator,
            shapes=shapes,
            guide=PerVersion(lambda: submission_guide(shapes, _served(store))),
            subjects=SubjectIndex(),
            example=PerVersion(lambda: example_submission(store, settings.scheme)),
            table_guides=PerVersion(lambda: table_guides(store)),
            reconcile=PerVersion(lambda: Index.load(store, settings.scheme)),
            first_seen=FirstSeen(),
            editor_assets=settings.root / YASGUI_BUILD,
            releases=(
                None
                if settings.data_dir is None  # the write path: its work done in the validation workers
                else open_releases(settings, validator.runner(settings.validation_timeout_s), clock)
            ),
            draft_stores=DraftStores(lambda engine, version: _draft_store(settings, engine, version)),
            owns_store=owns_store,
        )

    def served(self) -> Served:
        """The release this request is answered from: the one this worker holds (its ``ReleaseStore``),
        never read again from the registry, so public pages answer while the database is down; with a
        remote store, which holds no rows, the registry's current release."""
        if isinstance(self.store, ReleaseStore):
            return self.store.served
        assert self.releases is not None, "only a server with a data directory serves releases"
        return self.releases.served()

    def dumps_folder(self) -> Path:
        """Where the dumps of what is served are: the current release's folder, or the built dumps."""
        if self.releases is None:
            return self.settings.dist_dir.resolve()
        served = self.served()  # the release this worker serves, even while it switches
        return self.releases.materialised(served.current, served.release(served.current))

    def close(self) -> None:
        """Stop the worker processes, and close the store if it is the app's own (``owns_store``)."""
        try:
            self.draft_stores.close()
            self.validator.close()
        finally:
            try:
                self.checker.close()
                self.bodies.close()
            finally:
                if self.owns_store:
                    self.store.close()
                if self.releases is not None:
                    self.releases.registry.close()


class MemoryIndexes:
    """In-memory indexes of data that is no release, keyed by the data's version, the last ``keep``
    kept (the served data without a data directory, and the drafts being previewed). Each version's index
    is made once, however many requests ask for it at once (the others wait for it), and outside the lock
    of the whole, so one large draft's index holds up no search of other data."""

    def __init__(self, keep: int = 3) -> None:
        self._keep = keep
        self._held: OrderedDict[str, MemorySearch] = OrderedDict()
        self._making: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def of(self, store: Store) -> MemorySearch:
        version = store.version
        with self._lock:
            found = self._held.get(version)
            if found is not None:
                self._held.move_to_end(version)
                return found
            making = self._making.setdefault(version, threading.Lock())
        with making:
            with self._lock:
                found = self._held.get(version)
            if found is not None:
                return found
            made = MemorySearch(documents_of(store))
            with self._lock:
                self._held[version] = made
                self._making.pop(version, None)
                while len(self._held) > self._keep:
                    self._held.popitem(last=False)  # a search still holding it finishes; then it is collected
            return made


def documents_of(store: Store) -> list[search.Document]:
    """The documents of everything ``store`` serves: read from the engine itself when it is embedded,
    else graph by graph over the store's protocol."""
    if isinstance(store, EmbeddedStore):
        return search.documents_of_store(store.engine)
    triples: list[tuple[str, str, search.Object]] = []
    for graph in store.graphs():
        triples.extend(search.rdflib_triples(store.graph_triples(graph)))
    return search.documents(triples)


def _draft_store(settings: Settings, engine: ox.Store, version: str) -> Store:
    """A draft's store: its data in memory here, one query process (killable, confined) for its endpoint."""
    limits = QueryLimits(settings.query_memory_mb, settings.fast_query_s, settings.heavy_queries)
    return EmbeddedStore(engine, version, query_processes=1, limits=limits)


def install(app: Flask, services: Services) -> None:
    app.extensions[_KEY] = services


def of(app: Flask) -> Services:
    """The services of ``app`` (outside a request: the server closing it, a test)."""
    services: Services = app.extensions[_KEY]
    return services


def current() -> Services:
    """The services of the app handling this request."""
    return of(current_app)


def close_app(app: Flask) -> None:
    """Stop what ``app`` started (the server calls it as a worker exits; tests as they finish)."""
    of(app).close()


def _served(store: Store) -> Graph:
    """Every triple the store serves (the published data, which conforms): the guide's examples. Read on
    the guide's first use per version, not at start: a store that is down then costs that page a 503, not
    the server its start."""
    served = Graph()
    for graph in store.graphs():
        served += store.graph_triples(graph)
    return served


def table_guides(store: Store) -> list[tables.TableGuide]:
    """Each data cube the store serves, with what its table's columns mean (``tables.table_guide``), in
    the order of their IRIs; a cube too large to build a table of here is left out (its dumps have it)."""
    found = []
    cubes = sorted({row["dataset"] for row in store.select(tables.CUBES_QUERY)}, key=str)
    for cube in cubes:
        if not isinstance(cube, URIRef):
            continue
        try:
            tables.check_rows(store.select(tables.OBSERVATION_COUNT, {"dataset": cube}), cube)
            found.append(tables.table_guide(store.construct(tables.TABLE_QUERY, {"dataset": cube}), cube))
        except tables.TableError:
            continue
    return found
