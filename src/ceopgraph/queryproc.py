"""The query processes' half of the embedded store: a job in, a serialised answer out.

A separate module, light on imports (pyoxigraph and the standard library, no rdflib), because it is
all that each of the killable query processes (``ceopgraph.store.QueryPool``) imports: every process
of every server worker pays for its imports in memory (~20 MB each for rdflib). The jobs, answers and
errors are defined here so that they unpickle in those processes; ``ceopgraph.store`` is where the rest
of the code finds them, and the only other place that touches the engine.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import pyoxigraph as ox

from ceopgraph.workers import serve_jobs


class StoreError(Exception):
    """Base of the store's failures; the web layer maps each subclass to one HTTP status."""


class QuerySyntaxError(StoreError):
    """The query does not parse (HTTP 400)."""


class QueryTimeout(StoreError):
    """The query could not be answered in time: it ran past its limit, or waited for a process (HTTP 503)."""


class QueryStopped(QueryTimeout):
    """The query itself ran too long (past its time limit, or past the fast lane's budget with the heavy
    lane full) and was stopped (HTTP 503)."""


class QueryMemoryExceeded(StoreError):
    """The query needed more memory than a query process may have and was stopped (HTTP 503)."""


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
    # The client's queries were heavy lately: this one leaves the last idle query process to others
    # (a scheduling hint for the embedded store's pool; a remote store ignores it).
    demoted: bool = False
    # SELECT *: the column order (``QueryInfo.variable_order``); empty keeps the engine's.
    variable_order: tuple[str, ...] = ()
    # What relative IRIs in a query without BASE resolve against: the endpoint's URL, as the protocol's
    # tests expect (the query's own BASE wins).
    base_iri: str | None = None


@dataclass(frozen=True)
class QueryAnswer:
    body: bytes
    truncated: bool  # more than max_rows: the answer holds the first max_rows only
    ran_long: bool = False  # it ran past the fast lane's budget (the embedded store's pool says so)


# The query process ------------------------------------------------------------------------

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
    try:
        if job.dataset.default_graphs or job.dataset.named_graphs:
            # SPARQL 1.1 Protocol §2.1.4: the protocol dataset overrides FROM / FROM NAMED.
            options["default_graph"] = [ox.NamedNode(g) for g in job.dataset.default_graphs]
            options["named_graphs"] = [ox.NamedNode(g) for g in job.dataset.named_graphs]
        elif not job.query_has_dataset:
            # No dataset anywhere: the default graph is the union of the named graphs. (With FROM in
            # the query this flag would make pyoxigraph ignore it, so it is set only without one.)
            options["use_default_graph_as_union"] = True
        if job.base_iri is not None:
            options["base_iri"] = job.base_iri
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


def ordered_variables(names: list[str], order: tuple[str, ...]) -> list[str]:
    """``names`` in ``order`` (SELECT *: as they first appear in the query); names it lacks keep their
    place after those it has."""
    rank = {name: i for i, name in enumerate(order)}
    return sorted(names, key=lambda name: rank.get(name, len(rank)))


def _solutions_answer(solutions: ox.QuerySolutions, job: QueryJob) -> QueryAnswer:
    """Cap the rows, then let the engine's own writers produce the format: the first rows are
    written as SPARQL TSV (terms in N-Triples syntax, one line each) and read back."""
    names = ordered_variables([v.value for v in solutions.variables], job.variable_order)
    lines = ["\t".join("?" + name for name in names)]
    for solution in itertools.islice(solutions, job.max_rows):
        lines.append("\t".join("" if solution[name] is None else str(solution[name]) for name in names))
    truncated = next(solutions, None) is not None
    tsv = ("\n".join(lines) + "\n").encode()
    capped = ox.parse_query_results(tsv, format=ox.QueryResultsFormat.TSV)
    return QueryAnswer(capped.serialize(format=_RESULTS_FORMATS[job.result_format]) or b"", truncated)


def worker_main(fd: int) -> None:
    """A query worker process: open the on-disk store read-only, then answer jobs until the pool goes
    away or kills it (a timeout)."""
    serve_jobs(fd, lambda path: ox.Store.read_only(path), _answer)


def _answer(store: ox.Store, job: QueryJob) -> tuple[str, object]:
    try:
        return ("ok", evaluate(store, job))
    except StoreError as exc:
        return ("error", exc)
