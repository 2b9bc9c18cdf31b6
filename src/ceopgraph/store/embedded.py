"""The embedded backend of the ``Store`` protocol: pyoxigraph in this process, and a pool of query processes.

With ``queryproc`` (its query processes' half) this is the only code that drives the SPARQL engine.
Our own queries run here, in the calling thread; endpoint queries run in killable worker processes
(``QueryPool``) that open the on-disk copy of the data (``ceopgraph.store.disk``).
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph, URIRef
from rdflib.term import Node

from ceopgraph.conneg import RdfFormat
from ceopgraph.processes import pool
from ceopgraph.rdfio import light_graph
from ceopgraph.sparqltext import Bindings
from ceopgraph.store.disk import DiskStore, Source, load_sources, sources_of, version_of
from ceopgraph.store.jobs import (
    QueryAnswer,
    QueryJob,
    QueryMemoryExceeded,
    QueryStopped,
    QuerySyntaxError,
    QueryTimeout,
    StoreUnavailable,
)
from ceopgraph.store.protocol import OwnQuery, Row
from ceopgraph.terms import OxTerm, read_in_full, read_solutions, read_triples, to_oxigraph, to_rdflib

# Term conversion (``ceopgraph.terms``) ----------------------------------------------------------


def _substitutions(bindings: Bindings | None) -> dict[ox.Variable, OxTerm | ox.Triple] | None:
    if not bindings:
        return None
    return {ox.Variable(name): to_oxigraph(value) for name, value in bindings.items()}


# A term converted once: the same predicates, types, code-list IRIs and figures are in most answers,
# and building rdflib terms (an IRI's check, a literal's datatype) cost pages more than the engine's work.
# Only short terms are kept: a draft's preview reads a submitter's data, and 16,384 long literals
# (an article's text, or anything up to the submission limit) would hold far more than the cache is for.
_CACHED_TERM_CHARS = 256
_cached_term = lru_cache(maxsize=16384)(to_rdflib)


def _term(term: object) -> Node:
    short = isinstance(term, ox.NamedNode | ox.BlankNode | ox.Literal) and len(term.value) <= _CACHED_TERM_CHARS
    return _cached_term(term) if short else to_rdflib(term)  # to_rdflib refuses what it cannot convert


def _graph_of(triples: Iterable[ox.Triple]) -> Graph:
    graph = light_graph()
    for triple in triples:
        graph.add((_term(triple.subject), _term(triple.predicate), _term(triple.object)))
    return graph


# Embedded backend ------------------------------------------------------------------------------


class EmbeddedStore:
    """pyoxigraph in this process, in memory, and one copy on disk for the query workers.

    Our own queries (``select``, ``ask``, ``construct``: pages, descriptions) run here, in the calling
    thread, on the in-memory store: it answers the scans a page makes several times faster than the
    on-disk one (a resource page at 100k triples: ~130 ms against ~650 ms). Endpoint queries
    (``execute``) come from anyone, and pyoxigraph's Python API cannot cancel a running query, so
    they run in a pool of worker processes (``QueryPool``); a worker past its time limit is killed
    and replaced, which really ends the work. The workers hold the data as ``QueryLimits.in_memory``
    says (``ceopgraph.store.queryproc``): forked from one holder of it in memory, which they share page
    by page, or each opening one on-disk copy read-only (``DiskStore``), whose pages the operating
    system's page cache holds once.
    """

    def __init__(
        self,
        store: ox.Store,
        version: str,
        disk: DiskStore | None = None,
        query_processes: int = 2,
        limits: QueryLimits | None = None,
        sources: Sequence[Source] = (),
    ) -> None:
        self._store = store
        self._version = version
        self._disk = disk  # the on-disk copy the query workers open; None: a scratch copy on first need
        self._scratch: DiskStore | None = None  # that scratch copy, ours to remove
        self._sources = list(sources)  # the files the data came from: what the holder loads (in memory)
        self._dump: tempfile.TemporaryDirectory[str] | None = None  # or a dump of it, when none
        self._query_processes = query_processes
        self._limits = limits or QueryLimits()
        self._pool: QueryPool | None = None
        self._pool_lock = threading.Lock()
        self._closed = False

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
        sources = sources_of(paths, formats)
        load_sources(store, sources)
        version = disk.version if disk is not None else version_of(paths)
        return cls(store, version, disk, query_processes, limits, sources)

    @property
    def version(self) -> str:
        return self._version

    @property
    def engine(self) -> ox.Store:
        """The pyoxigraph store itself: a second ``EmbeddedStore`` can be built over the same data."""
        return self._store

    def graphs(self) -> list[URIRef]:
        return sorted(URIRef(g.value) for g in read_in_full(self._store.named_graphs()) if isinstance(g, ox.NamedNode))

    def _run(self, query: OwnQuery, bindings: Bindings | None) -> object:
        """The engine binds the values itself (substitutions): the query's text is run as written."""
        substitutions = _substitutions(bindings)
        try:
            return self._store.query(str(query), use_default_graph_as_union=True, substitutions=substitutions)
        except SyntaxError as exc:
            raise QuerySyntaxError(str(exc)) from exc

    def select(self, query: OwnQuery, bindings: Bindings | None = None) -> list[Row]:
        names, solutions = read_solutions(self._run(query, bindings))
        # A solution gives its values in the order of the variables (None where unbound).
        return [
            {name: _term(value) for name, value in zip(names, solution, strict=True) if value is not None}
            for solution in solutions
        ]

    def ask(self, query: OwnQuery, bindings: Bindings | None = None) -> bool:
        return bool(self._run(query, bindings))

    def construct(self, query: OwnQuery, bindings: Bindings | None = None) -> Graph:
        return _graph_of(read_triples(self._run(query, bindings)))

    def graph_triples(self, graph: URIRef) -> Graph:
        quads = read_in_full(self._store.quads_for_pattern(None, None, None, ox.NamedNode(str(graph))))
        return _graph_of(ox.Triple(q.subject, q.predicate, q.object) for q in quads)

    # The endpoint's execution path ------------------------------------------------------------

    def start_query_pool(self, wait: bool = False) -> None:
        """Start the query worker processes now rather than on the first endpoint query; with
        ``wait``, return once they all answer (a server is healthy only when it can query)."""
        with self._pool_lock:
            if self._closed:  # a store retired under a request that still held it: start nothing
                raise StoreUnavailable("this data is no longer served (a newer version replaced it); try again")
            if self._pool is None:
                self._pool = QueryPool(self._query_data(), self._query_processes, self._limits)
            started = self._pool
        if wait:
            started.wait_ready()

    def _query_data(self) -> DiskStore | list[Source]:
        """What the query workers read: the files (a holder loads them into memory) or the on-disk copy;
        a store built in memory gives them a scratch dump, or a scratch copy on disk."""
        if self._limits.in_memory:
            if not self._sources:
                self._dump = tempfile.TemporaryDirectory(prefix="ceopgraph-dump-")
                dump = Path(self._dump.name) / "store.nq"
                self._store.dump(dump, format=ox.RdfFormat.N_QUADS)
                self._sources = [(str(dump), "N_QUADS", None)]
            return self._sources
        if self._disk is None:
            self._disk = self._scratch = DiskStore.copy_of(self._store, self._version)
        return self._disk

    def execute(self, job: QueryJob) -> QueryAnswer:
        self.start_query_pool()
        assert self._pool is not None
        return self._pool.run(job)

    def close(self) -> None:
        """Stop the query workers (for good: no query starts them again); a scratch copy this store wrote
        for them is removed too."""
        with self._pool_lock:
            self._closed = True
            if self._pool is not None:
                self._pool.close()
                self._pool = None
            if self._scratch is not None:
                self._scratch.remove()
                self._scratch = None
            if self._dump is not None:
                self._dump.cleanup()
                self._dump = None


@dataclass(frozen=True)
class QueryLimits:
    """What one query process may use (``Settings``: query_memory_mb, fast_query_s, heavy_queries)."""

    memory_mb: int = 1024
    fast_query_s: float = 1.0
    heavy_queries: int = 2
    # The data in memory, shared by processes forked from one holder (query_store "memory"), or one
    # on-disk copy each process opens ("disk"); the holder may use holder_memory_mb MiB for it.
    in_memory: bool = True
    holder_memory_mb: int = 4096


class QueryPool:
    """Worker processes answering endpoint queries, one query each at a time (``ceopgraph.processes.pool``).

    A query waits for an idle worker, then for its answer, both within the job's time limit; past it
    the worker is killed (SIGKILL: the only way to stop pyoxigraph mid-query) and a fresh one is
    started in the background, so one costly query never holds up the others for long. ``data`` is
    the files, which one holder loads into memory and forks the workers from (a fresh one is ready in
    the time a fork takes), or the on-disk copy, which each worker opens read-only (a fresh one is
    ready in the time it takes to open the folder).
    """

    def __init__(self, data: DiskStore | list[Source], size: int, limits: QueryLimits) -> None:
        in_memory = not isinstance(data, DiskStore)
        self._workers = pool.WorkerPool(
            "ceopgraph.store.queryproc:" + ("holder_main" if in_memory else "worker_main"),
            data if not isinstance(data, DiskStore) else str(data.path),
            size,
            "query worker",
            memory_mb=limits.memory_mb,
            heavy_slots=limits.heavy_queries,
            fast_budget_s=limits.fast_query_s,
            holder_memory_mb=limits.holder_memory_mb if in_memory else None,
        )
        self._fast_s = limits.fast_query_s
        self._workers.start()

    def wait_ready(self) -> None:
        self._workers.wait_ready()

    def run(self, job: QueryJob) -> QueryAnswer:
        limit = f"{job.timeout_s:g} s"
        try:
            (status, payload), ran_long = self._workers.run_in_lanes(job, job.timeout_s, 1 if job.demoted else 0)
        except pool.WorkerPoolError as exc:
            pool.raise_as(
                exc,
                {
                    pool.NoIdleWorker: lambda _: QueryTimeout(
                        f"the query workers were busy for most of the {limit} limit; try again later"
                    ),
                    pool.DeadlinePassed: lambda _: QueryStopped(
                        f"the query ran longer than the {limit} limit and was stopped; "
                        "narrow it down (LIMIT, more specific patterns) and try again"
                    ),
                    pool.HeavyLaneFull: lambda _: QueryStopped(
                        f"the query ran past {self._fast_s:g} s while {self._workers.heavy_slots} long queries "
                        "were running already, and was stopped; try again later, or narrow it down"
                    ),
                    pool.MemoryExceeded: lambda _: QueryMemoryExceeded(
                        f"the query needed more than the {self._workers.memory_mb} MiB a query may use and was "
                        "stopped; narrow it down (LIMIT, more specific patterns, fewer ORDER BY keys)"
                    ),
                    pool.WorkerFailed: lambda _: StoreUnavailable(
                        "a query worker failed; it is being replaced, try again"
                    ),
                },
            )
        if status == "error":
            raise payload
        answer: QueryAnswer = payload
        return replace(answer, ran_long=True) if ran_long else answer

    def close(self) -> None:
        self._workers.close()
