"""The ``Store`` protocol the front end talks to, and its embedded backend on pyoxigraph.

Only this module (with ``queryproc``, its query processes' half) drives the SPARQL engine. The front
end never assumes the store is local: it asks for serialised answers (``query``) or for rdflib terms
from queries it wrote itself with bound values (``select``, ``construct``), so a remote SPARQL 1.1
store can stand behind the same calls.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

import pyoxigraph as ox
from rdflib import Graph, URIRef
from rdflib.term import Node

from ceopgraph.conneg import RdfFormat
from ceopgraph.queryproc import (
    DatasetSelection,
    QueryAnswer,
    QueryEvaluationError,
    QueryJob,
    QueryMemoryExceeded,
    QueryStopped,
    QuerySyntaxError,
    QueryTimeout,
    StoreError,
    StoreUnavailable,
    ordered_variables,
)
from ceopgraph.terms import OxTerm, to_oxigraph, to_rdflib
from ceopgraph.workers import (
    DeadlinePassed,
    HeavyLaneFull,
    MemoryExceeded,
    NoIdleWorker,
    WorkerFailed,
    WorkerPool,
)

# The jobs, answers and errors live in ``queryproc`` (what the query processes import); callers find them here.
__all__ = [
    "Bindings",
    "DatasetSelection",
    "DiskStore",
    "EmbeddedStore",
    "QueryAnswer",
    "QueryEvaluationError",
    "QueryJob",
    "QueryLimits",
    "QueryMemoryExceeded",
    "QueryPool",
    "QueryStopped",
    "QuerySyntaxError",
    "QueryTimeout",
    "Row",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "ordered_variables",
    "write_store",
]

Bindings = Mapping[str, Node]
Row = dict[str, Node]


class Store(Protocol):
    @property
    def version(self) -> str:
        """Changes whenever the data changes; the basis of ETags and answer caches."""

    def graphs(self) -> list[URIRef]:
        """The named graphs, sorted."""

    def select(self, query: str, bindings: Bindings | None = None) -> list[Row]:
        """Run one of our own SELECT queries over the union default graph, values bound, not spliced."""

    def ask(self, query: str, bindings: Bindings | None = None) -> bool:
        """Run one of our own ASK queries, values bound."""

    def construct(self, query: str, bindings: Bindings | None = None) -> Graph:
        """Run one of our own CONSTRUCT/DESCRIBE queries, values bound; the triples as an rdflib Graph."""

    def graph_triples(self, graph: URIRef) -> Graph:
        """Every triple of one named graph."""

    def execute(self, job: QueryJob) -> QueryAnswer:
        """Run an endpoint query within ``job.timeout_s`` (QueryTimeout past it); the serialised answer."""


# Term conversion (``ceopgraph.terms``) ----------------------------------------------------------


def _substitutions(bindings: Bindings | None) -> dict[ox.Variable, OxTerm | ox.Triple] | None:
    if not bindings:
        return None
    return {ox.Variable(name): to_oxigraph(value) for name, value in bindings.items()}


def _graph_of(triples: Iterable[ox.Triple]) -> Graph:
    graph = Graph()
    for triple in triples:
        graph.add((to_rdflib(triple.subject), to_rdflib(triple.predicate), to_rdflib(triple.object)))
    return graph


# Embedded backend ------------------------------------------------------------------------------


class EmbeddedStore:
    """pyoxigraph in this process, in memory, and one copy on disk for the query workers.

    Our own queries (``select``, ``ask``, ``construct``: pages, descriptions) run here, in the calling
    thread, on the in-memory store: it answers the scans a page makes several times faster than the
    on-disk one (a resource page at 100k triples: ~130 ms against ~650 ms). Endpoint queries
    (``execute``) come from anyone, and pyoxigraph's Python API cannot cancel a running query, so
    they run in a pool of worker processes (``QueryPool``); a worker past its time limit is killed
    and replaced, which really ends the work. The workers open one on-disk copy of the data read-only
    (``DiskStore``) and so share the operating system's page cache, instead of each holding the data
    in its own memory.
    """

    def __init__(
        self,
        store: ox.Store,
        version: str,
        disk: DiskStore | None = None,
        query_processes: int = 2,
        limits: QueryLimits | None = None,
    ) -> None:
        self._store = store
        self._version = version
        self._disk = disk  # the on-disk copy the query workers open; None: a scratch copy on first need
        self._scratch: DiskStore | None = None  # that scratch copy, ours to remove
        self._query_processes = query_processes
        self._limits = limits or QueryLimits()
        self._pool: QueryPool | None = None
        self._pool_lock = threading.Lock()

    @classmethod
    def from_files(
        cls,
        paths: Sequence[Path],
        formats: Sequence[RdfFormat],
        query_processes: int = 2,
        disk: DiskStore | None = None,
        limits: QueryLimits | None = None,
    ) -> EmbeddedStore:
        """Load RDF files into memory; triples of triple formats go into a graph named after the file.

        ``disk``, the same files written by ``DiskStore.build``, is what the query workers open (a
        server passes the one copy it wrote before forking); without it they get a scratch copy.
        """
        store = ox.Store()
        _load(store, _sources(paths, formats))
        version = disk.version if disk is not None else _version_of(paths)
        return cls(store, version, disk, query_processes, limits)

    @property
    def version(self) -> str:
        return self._version

    @property
    def engine(self) -> ox.Store:
        """The pyoxigraph store itself: a second ``EmbeddedStore`` can be built over the same data."""
        return self._store

    def graphs(self) -> list[URIRef]:
        return sorted(URIRef(g.value) for g in self._store.named_graphs() if isinstance(g, ox.NamedNode))

    def _run(self, query: str, bindings: Bindings | None) -> object:
        try:
            return self._store.query(query, use_default_graph_as_union=True, substitutions=_substitutions(bindings))
        except SyntaxError as exc:
            raise QuerySyntaxError(str(exc)) from exc

    def select(self, query: str, bindings: Bindings | None = None) -> list[Row]:
        solutions = self._run(query, bindings)
        assert isinstance(solutions, ox.QuerySolutions)
        names = [v.value for v in solutions.variables]
        rows = []
        for solution in solutions:
            row = {}
            for name in names:
                value = solution[name]
                if value is not None:
                    row[name] = to_rdflib(value)
            rows.append(row)
        return rows

    def ask(self, query: str, bindings: Bindings | None = None) -> bool:
        return bool(self._run(query, bindings))

    def construct(self, query: str, bindings: Bindings | None = None) -> Graph:
        triples = self._run(query, bindings)
        assert isinstance(triples, ox.QueryTriples)
        return _graph_of(triples)

    def graph_triples(self, graph: URIRef) -> Graph:
        quads = self._store.quads_for_pattern(None, None, None, ox.NamedNode(str(graph)))
        return _graph_of(ox.Triple(q.subject, q.predicate, q.object) for q in quads)

    # The endpoint's execution path ------------------------------------------------------------

    def start_query_pool(self, wait: bool = False) -> None:
        """Start the query worker processes now rather than on the first endpoint query; with
        ``wait``, return once they all answer (a server is healthy only when it can query)."""
        with self._pool_lock:
            if self._pool is None:
                disk = self._disk
                if disk is None:  # built in memory: the workers get a scratch copy on disk
                    disk = self._scratch = DiskStore.copy_of(self._store, self._version)
                self._pool = QueryPool(disk, self._query_processes, self._limits)
            pool = self._pool
        if wait:
            pool.wait_ready()

    def execute(self, job: QueryJob) -> QueryAnswer:
        self.start_query_pool()
        assert self._pool is not None
        return self._pool.run(job)

    def close(self) -> None:
        """Stop the query workers; a scratch copy this store wrote for them is removed too."""
        with self._pool_lock:
            if self._pool is not None:
                self._pool.close()
                self._pool = None
            if self._scratch is not None:
                self._scratch.remove()
                self._scratch = None


_Source = tuple[str, str, str | None]  # file, pyoxigraph format name, target graph: plain values, for JSON


def _sources(paths: Sequence[Path], formats: Sequence[RdfFormat]) -> list[_Source]:
    """Each file (absolute: the writer may run elsewhere) with its pyoxigraph format and target graph: a
    file of a triple format becomes a graph named after the file; quad formats name their own graphs."""
    return [
        (str(path.resolve()), fmt.oxigraph_name, None if fmt.quads else path.resolve().as_uri())
        for path, fmt in zip(paths, formats, strict=True)
    ]


def _load(store: ox.Store, sources: Sequence[_Source]) -> None:
    for path, format_name, graph in sources:
        target = None if graph is None else ox.NamedNode(graph)
        # Relative IRIs (``<>``, ``rdf:resource=""``, ``<#x>``) resolve against the file's own IRI, as a
        # parser reading the file from its location would (RFC 3986 §5.1.3); without a base they are refused.
        base = Path(path).as_uri()
        store.bulk_load(path=path, format=getattr(ox.RdfFormat, format_name), to_graph=target, base_iri=base)


def _version_of(paths: Sequence[Path]) -> str:
    """The files' digest: equal files give an equal version, whichever process computes it."""
    digest = hashlib.sha256()
    for path in paths:
        with path.open("rb") as data:
            while block := data.read(1 << 20):
                digest.update(block)
    return digest.hexdigest()[:20]


# One copy on disk ------------------------------------------------------------------------------

_SCRATCH_PREFIX = "ceopgraph-store-"


class DiskStore:
    """The data written once into an on-disk pyoxigraph store (RocksDB), then only opened read-only.

    Every query process of every server worker opens the same folder read-only, so the data sits once
    in the operating system's page cache rather than once per process (a copy in memory each made a
    worker with four query processes cost ~5 copies). It is written before the server forks its workers,
    never while anyone reads it (RocksDB leaves a reader of a folder being written undefined), and made
    visible by an atomic rename: a reader sees a whole store or none.

    In a configured folder (``Settings.store_path``) each version gets its own sub-folder, built under a
    file lock (servers started together build it once) and kept for the next start. Otherwise the copy
    is a scratch folder owned by the process that wrote it, removed when it closes or exits; scratch
    folders of processes that died without cleaning up are removed by the next one.
    """

    def __init__(self, path: Path, version: str, scratch: bool = False) -> None:
        self.path = path
        self.version = version
        self._remover = weakref.finalize(self, _remove_scratch, path, os.getpid()) if scratch else None

    @classmethod
    def build(cls, paths: Sequence[Path], formats: Sequence[RdfFormat], folder: Path | None = None) -> DiskStore:
        """Write the files into ``folder``/``store-<version>`` (reused when already there), or into a
        scratch folder when ``folder`` is None."""
        sources = _sources(paths, formats)
        version = _version_of(paths)
        if folder is None:
            return cls(_written_scratch(sources), version, scratch=True)
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"store-{version}"
        with (folder / ".lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, or when the process dies
            if not target.is_dir():
                for stale in folder.glob(".building-*"):  # left by a builder that died holding the lock
                    shutil.rmtree(stale, ignore_errors=True)
                partial = Path(tempfile.mkdtemp(prefix=".building-", dir=folder))
                _write(partial, sources)
                partial.rename(target)
        return cls(target, version)

    @classmethod
    def copy_of(cls, store: ox.Store, version: str) -> DiskStore:
        """A scratch copy of a store built in memory (the query workers cannot reach its memory)."""
        with tempfile.TemporaryDirectory(prefix="ceopgraph-dump-") as folder:
            dump = Path(folder) / "store.nq"
            store.dump(dump, format=ox.RdfFormat.N_QUADS)
            return cls(_written_scratch([(str(dump), "N_QUADS", None)]), version, scratch=True)

    def remove(self) -> None:
        """Remove a scratch copy (only in the process that wrote it: forked server workers inherit this
        object and run the same clean-up code when they exit). A configured folder is kept."""
        if self._remover is not None:
            self._remover()


_WRITER = "import json, sys; from ceopgraph.store import write_store; write_store(sys.argv[1], json.loads(sys.argv[2]))"


def _write(path: Path, sources: Sequence[_Source]) -> None:
    """Write in a fresh interpreter, not here: RocksDB keeps its background threads after a store
    closes, and a server that forks its workers after writing would hand them a thread pool without
    threads (they abort when they exit)."""
    done = subprocess.run([sys.executable, "-c", _WRITER, str(path), json.dumps(list(sources))], check=False)
    if done.returncode != 0:
        raise OSError(f"writing the store to {path} failed (exit status {done.returncode})")


def write_store(path: str, sources: Sequence[_Source]) -> None:
    """The writer process: load the files into a new on-disk store and close it."""
    store = ox.Store(path)
    _load(store, sources)
    store.flush()


def _written_scratch(sources: Sequence[_Source]) -> Path:
    """A new scratch folder named after this process, holding the written store (nothing is left
    behind if writing fails); first, the scratch folders of processes no longer running are removed."""
    temp = Path(tempfile.gettempdir())
    for stale in temp.glob(_SCRATCH_PREFIX + "*"):
        owner = stale.name.removeprefix(_SCRATCH_PREFIX).split("-")[0]
        if owner.isdigit() and not _alive(int(owner)):
            shutil.rmtree(stale, ignore_errors=True)
    scratch = Path(tempfile.mkdtemp(prefix=f"{_SCRATCH_PREFIX}{os.getpid()}-"))
    try:
        _write(scratch, sources)
    except OSError:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    return scratch


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _remove_scratch(path: Path, owner: int) -> None:
    if os.getpid() == owner:
        shutil.rmtree(path, ignore_errors=True)


@dataclass(frozen=True)
class QueryLimits:
    """What one query process may use (``Settings``: query_memory_mb, fast_query_s, heavy_queries)."""

    memory_mb: int = 1024
    fast_query_s: float = 1.0
    heavy_queries: int = 2


class QueryPool:
    """Worker processes answering endpoint queries, one query each at a time (``ceopgraph.workers``).

    A query waits for an idle worker, then for its answer, both within the job's time limit; past it
    the worker is killed (SIGKILL: the only way to stop pyoxigraph mid-query) and a fresh one is
    started in the background, so one costly query never holds up the others for long. Each worker
    opens ``disk`` read-only: a fresh one is ready in the time it takes to open the folder.
    """

    def __init__(self, disk: DiskStore, size: int, limits: QueryLimits) -> None:
        self._workers = WorkerPool(
            "ceopgraph.queryproc:worker_main",
            str(disk.path),
            size,
            "query worker",
            memory_mb=limits.memory_mb,
            heavy_slots=limits.heavy_queries,
            fast_budget_s=limits.fast_query_s,
        )
        self._fast_s = limits.fast_query_s
        self._workers.start()

    def wait_ready(self) -> None:
        self._workers.wait_ready()

    def run(self, job: QueryJob) -> QueryAnswer:
        try:
            (status, payload), ran_long = self._workers.run_in_lanes(job, job.timeout_s, 1 if job.demoted else 0)
        except NoIdleWorker:
            raise QueryTimeout(
                f"no query worker became free within the {job.timeout_s:g} s limit; try again later"
            ) from None
        except DeadlinePassed:
            raise QueryStopped(
                f"the query ran longer than the {job.timeout_s:g} s limit and was stopped; "
                "narrow it down (LIMIT, more specific patterns) and try again"
            ) from None
        except HeavyLaneFull:
            raise QueryStopped(
                f"the query ran past {self._fast_s:g} s while {self._workers.heavy_slots} long queries were "
                "running already, and was stopped; try again later, or narrow it down"
            ) from None
        except MemoryExceeded:
            raise QueryMemoryExceeded(
                f"the query needed more than the {self._workers.memory_mb} MiB a query may use and was "
                "stopped; narrow it down (LIMIT, more specific patterns, fewer ORDER BY keys)"
            ) from None
        except WorkerFailed as exc:
            raise StoreUnavailable("a query worker failed; it is being replaced, try again") from exc
        if status == "error":
            raise payload
        answer: QueryAnswer = payload
        return replace(answer, ran_long=True) if ran_long else answer

    def close(self) -> None:
        self._workers.close()
