"""The ``Store`` protocol the front end talks to, and its embedded backend on pyoxigraph.

Only this module imports the SPARQL engine. The front end never assumes the store is local: it asks
for serialised answers (``query``) or for rdflib terms from queries it wrote itself with bound values
(``select``, ``construct``), so a remote SPARQL 1.1 store can stand behind the same calls.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import queue
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Protocol

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import XSD
from rdflib.term import Node

from ceopgraph.conneg import RdfFormat

logger = logging.getLogger(__name__)


class StoreError(Exception):
    """Base of the store's failures; the web layer maps each subclass to one HTTP status."""


class QuerySyntaxError(StoreError):
    """The query does not parse (HTTP 400)."""


class QueryTimeout(StoreError):
    """The query ran past its time limit and was stopped (HTTP 503)."""


class StoreUnavailable(StoreError):
    """The store cannot be reached or failed (HTTP 502/503)."""


class QueryEvaluationError(StoreError):
    """The query parses but cannot be evaluated or its answer written in the asked format (HTTP 400)."""


@dataclass(frozen=True)
class DatasetSelection:
    """SPARQL Protocol ``default-graph-uri`` / ``named-graph-uri``; empty means the store's own dataset
    (default graph = union of the named graphs)."""

    default_graphs: tuple[str, ...] = ()
    named_graphs: tuple[str, ...] = ()


Bindings = Mapping[str, Node]
Row = dict[str, Node]


@dataclass(frozen=True)
class QueryJob:
    """One endpoint query, backend-neutral: what a local engine or a remote SPARQL 1.1 store is asked.

    ``result_format`` is a format name of ``ceopgraph.sparql.ALL_FORMATS`` ("json", "xml", "csv", "tsv"
    for SELECT/ASK; "turtle", "ntriples", "jsonld", "rdfxml", "trig", "nquads" for CONSTRUCT/DESCRIBE).
    A dataset selection that is not empty replaces the query's own ``FROM``/``FROM NAMED`` (SPARQL
    1.1 Protocol §2.1.4); graphs the store does not hold are empty, never fetched. Without either,
    the default graph is the union of the named graphs.
    """

    query: str
    form: str  # SELECT, ASK, CONSTRUCT or DESCRIBE (the caller has vetted the query)
    result_format: str
    dataset: DatasetSelection = field(default_factory=DatasetSelection)
    query_has_dataset: bool = False
    timeout_s: float = 10.0
    max_rows: int = 10_000  # solutions (SELECT) or triples (CONSTRUCT/DESCRIBE)
    prefixes: tuple[tuple[str, str], ...] = ()  # for Turtle, TriG, RDF/XML answers


@dataclass(frozen=True)
class QueryAnswer:
    body: bytes
    truncated: bool  # more than max_rows: the answer holds the first max_rows only


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


# Term conversion -------------------------------------------------------------------------------

_XSD_STRING = str(XSD.string)


def to_rdflib(term: object) -> Node:
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return Literal(term.value, lang=term.language)
        datatype = term.datatype.value
        return Literal(term.value, datatype=None if datatype == _XSD_STRING else URIRef(datatype))
    raise TypeError(f"no rdflib term for {term!r}")


def to_oxigraph(term: Node) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype is not None:
            return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
        return ox.Literal(str(term))
    raise TypeError(f"no Oxigraph term for {term!r}")


def _substitutions(
    bindings: Bindings | None,
) -> dict[ox.Variable, ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple] | None:
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
    """pyoxigraph in this process: in memory, or on disk and opened read-only.

    Our own queries (``select``, ``ask``, ``construct``) run here, in the calling thread. Endpoint
    queries (``execute``) come from anyone, and pyoxigraph's Python API cannot cancel a running
    query, so they run in a pool of worker processes holding their own copy of the data; a worker
    past its time limit is killed and replaced, which really ends the work.
    """

    def __init__(
        self, store: ox.Store, version: str, source: StoreSource | None = None, query_processes: int = 2
    ) -> None:
        self._store = store
        self._version = version
        self._source = source
        self._query_processes = query_processes
        self._pool: QueryPool | None = None
        self._pool_lock = threading.Lock()

    @classmethod
    def from_files(cls, paths: Sequence[Path], formats: Sequence[RdfFormat], query_processes: int = 2) -> EmbeddedStore:
        """Load RDF files into memory; triples of triple formats go into a graph named after the file."""
        digest = hashlib.sha256()
        parts = []
        for path, fmt in zip(paths, formats, strict=True):
            data = path.read_bytes()
            digest.update(data)
            parts.append((str(path), fmt.oxigraph_name, None if fmt.quads else path.resolve().as_uri()))
        source = StoreSource(tuple(parts))
        return cls(source.open(), digest.hexdigest()[:20], source, query_processes)

    @property
    def version(self) -> str:
        return self._version

    @property
    def engine(self) -> ox.Store:
        """The pyoxigraph store itself, for the SPARQL endpoint's own execution path."""
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
                source = self._source or StoreSource(nquads=self._store.dump(format=ox.RdfFormat.N_QUADS) or b"")
                self._pool = QueryPool(source, self._query_processes)
            pool = self._pool
        if wait:
            pool.wait_ready()

    def execute(self, job: QueryJob) -> QueryAnswer:
        self.start_query_pool()
        assert self._pool is not None
        return self._pool.run(job)

    def close(self) -> None:
        with self._pool_lock:
            if self._pool is not None:
                self._pool.close()
                self._pool = None


@dataclass(frozen=True)
class StoreSource:
    """How a worker process rebuilds the store: files (path, pyoxigraph format, target graph or
    None for quad formats), or an N-Quads dump of a store built in memory."""

    files: tuple[tuple[str, str, str | None], ...] = ()
    nquads: bytes = b""

    def open(self) -> ox.Store:
        store = ox.Store()
        for path, format_name, graph in self.files:
            store.bulk_load(
                Path(path).read_bytes(),
                format=getattr(ox.RdfFormat, format_name),
                to_graph=None if graph is None else ox.NamedNode(graph),
            )
        if self.nquads:
            store.bulk_load(self.nquads, format=ox.RdfFormat.N_QUADS)
        return store


# Query worker processes ------------------------------------------------------------------------

_RESULTS_FORMATS = {
    "json": ox.QueryResultsFormat.JSON,
    "xml": ox.QueryResultsFormat.XML,
    "csv": ox.QueryResultsFormat.CSV,
    "tsv": ox.QueryResultsFormat.TSV,
}
_GRAPH_FORMATS = {
    "turtle": ox.RdfFormat.TURTLE,
    "trig": ox.RdfFormat.TRIG,
    "ntriples": ox.RdfFormat.N_TRIPLES,
    "nquads": ox.RdfFormat.N_QUADS,
    "jsonld": ox.RdfFormat.JSON_LD,
    "rdfxml": ox.RdfFormat.RDF_XML,
}


def evaluate(store: ox.Store, job: QueryJob) -> QueryAnswer:
    """Run ``job`` on ``store`` and serialise at most ``job.max_rows`` solutions or triples."""
    options: dict[str, object] = {}
    if job.dataset.default_graphs or job.dataset.named_graphs:
        # SPARQL 1.1 Protocol §2.1.4: the protocol dataset overrides FROM / FROM NAMED.
        options["default_graph"] = [ox.NamedNode(g) for g in job.dataset.default_graphs]
        options["named_graphs"] = [ox.NamedNode(g) for g in job.dataset.named_graphs]
    elif not job.query_has_dataset:
        # No dataset anywhere: the default graph is the union of the named graphs. (With FROM in the
        # query this flag would make pyoxigraph ignore it, so it is set only without one.)
        options["use_default_graph_as_union"] = True
    try:
        result = store.query(job.query, **options)  # type: ignore[arg-type]
        if isinstance(result, ox.QueryBoolean):
            return QueryAnswer(result.serialize(format=_RESULTS_FORMATS[job.result_format]) or b"", False)
        if isinstance(result, ox.QuerySolutions):
            return _solutions_answer(result, job)
        triples = list(itertools.islice(result, job.max_rows + 1))
        prefixes = dict(job.prefixes)
        body = ox.serialize(triples[: job.max_rows], format=_GRAPH_FORMATS[job.result_format], prefixes=prefixes)
        assert body is not None
        return QueryAnswer(body, len(triples) > job.max_rows)
    except SyntaxError as exc:
        raise QuerySyntaxError(f"the query does not parse: {_short(exc)}") from exc
    except (ValueError, RuntimeError) as exc:
        raise QueryEvaluationError(f"the query cannot be answered: {_short(exc)}") from exc
    except OSError as exc:
        raise StoreUnavailable(f"the store failed: {exc}") from exc


def _short(exc: Exception, limit: int = 160) -> str:
    """The engine's message, first line, cut short (its parser lists every token it expected)."""
    text = (str(exc).splitlines() or [""])[0]
    return text if len(text) <= limit else text[:limit].rstrip() + "…"


def _solutions_answer(solutions: ox.QuerySolutions, job: QueryJob) -> QueryAnswer:
    """Cap the rows, then let the engine's own writers produce the format: the first rows are
    written as SPARQL TSV (terms in N-Triples syntax, one line each) and read back."""
    header = "\t".join("?" + v.value for v in solutions.variables)
    lines = [header]
    for solution in itertools.islice(solutions, job.max_rows):
        lines.append("\t".join("" if term is None else str(term) for term in solution))
    truncated = next(solutions, None) is not None
    tsv = ("\n".join(lines) + "\n").encode()
    capped = ox.parse_query_results(tsv, format=ox.QueryResultsFormat.TSV)
    return QueryAnswer(capped.serialize(format=_RESULTS_FORMATS[job.result_format]) or b"", truncated)


def worker_main(fd: int) -> None:
    """A query worker process: receive the source, load the data, then answer jobs until the
    socket closes (the parent went away) or the parent kills it (a timeout)."""
    conn = Connection(fd)
    source: StoreSource = conn.recv()
    store = source.open()
    conn.send(("ready", None))
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        try:
            conn.send(("ok", evaluate(store, job)))
        except StoreError as exc:
            conn.send(("error", exc))


_WORKER_COMMAND = "import sys; from ceopgraph.store import worker_main; worker_main(int(sys.argv[1]))"


@dataclass
class _Worker:
    process: subprocess.Popen[bytes]
    conn: Connection

    @classmethod
    def start(cls, source: StoreSource) -> _Worker:
        """A fresh interpreter (not a fork of this threaded server process) talking over a socket pair."""
        ours, theirs = socket.socketpair()
        with theirs:
            process = subprocess.Popen(
                [sys.executable, "-c", _WORKER_COMMAND, str(theirs.fileno())],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
            )
        conn = Connection(ours.detach())
        conn.send(source)
        return cls(process, conn)

    def kill(self) -> None:
        self.process.kill()
        self.conn.close()
        self.process.wait(timeout=10)


class QueryPool:
    """Worker processes answering endpoint queries, one query each at a time.

    A query waits for an idle worker, then for its answer, both within the job's time limit; past it
    the worker is killed (SIGKILL: the only way to stop pyoxigraph mid-query) and a fresh one is
    started in the background, so one costly query never holds up the others for long.
    """

    START_TIMEOUT_S = 60.0

    def __init__(self, source: StoreSource, size: int) -> None:
        self._source = source
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._closed = False
        self._starters = [threading.Thread(target=self._add_worker, daemon=True) for _ in range(max(1, size))]
        for starter in self._starters:
            starter.start()

    def wait_ready(self) -> None:
        for starter in self._starters:
            starter.join(self.START_TIMEOUT_S)

    def _add_worker(self) -> None:
        try:
            worker = _Worker.start(self._source)
        except OSError as exc:
            logger.error("cannot start a query worker: %s", exc)
            return
        try:
            ready = worker.conn.poll(self.START_TIMEOUT_S) and worker.conn.recv()[0] == "ready"
        except (EOFError, OSError):
            ready = False
        if not ready or self._closed:
            if not self._closed:
                logger.error("a query worker did not start (exit status %s)", worker.process.poll())
            worker.kill()
            return
        self._idle.put(worker)

    def _replace(self, worker: _Worker) -> None:
        worker.kill()
        if not self._closed:
            threading.Thread(target=self._add_worker, daemon=True).start()

    def run(self, job: QueryJob) -> QueryAnswer:
        deadline = time.monotonic() + job.timeout_s
        try:
            worker = self._idle.get(timeout=job.timeout_s)
        except queue.Empty:
            raise QueryTimeout(
                f"no query worker became free within the {job.timeout_s:g} s limit; try again later"
            ) from None
        try:
            worker.conn.send(job)
            if not worker.conn.poll(max(0.0, deadline - time.monotonic())):
                self._replace(worker)
                raise QueryTimeout(
                    f"the query ran longer than the {job.timeout_s:g} s limit and was stopped; "
                    "narrow it down (LIMIT, more specific patterns) and try again"
                )
            status, payload = worker.conn.recv()
        except (EOFError, OSError) as exc:
            self._replace(worker)
            raise StoreUnavailable("a query worker failed; it is being replaced, try again") from exc
        self._idle.put(worker)
        if status == "error":
            raise payload
        answer: QueryAnswer = payload
        return answer

    def close(self) -> None:
        self._closed = True
        while True:
            try:
                worker = self._idle.get_nowait()
            except queue.Empty:
                return
            worker.kill()
