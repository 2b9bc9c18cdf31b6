"""What the store room is asked and answers: endpoint jobs, their answers, and the store's errors.

Light on imports (pyoxigraph, the standard library and ``ceopgraph.querydataset``, no rdflib), because
the query processes (``ceopgraph.store.queryproc``) unpickle these values: every process of every server
worker pays for its imports in memory (~20 MB each for rdflib). Both backends write answers with pyoxigraph's writers,
so the format names of a job map to them here, once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyoxigraph as ox

from ceopgraph.querydataset import DatasetClauses, DatasetSelection

# Errors ----------------------------------------------------------------------------------------


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


class StoreBadGateway(StoreUnavailable):
    """A remote store answered, but not with an answer: an HTTP error, a refused query, unreadable results (502)."""


class QueryEvaluationError(StoreError):
    """The query parses but cannot be evaluated or its answer written in the asked format (HTTP 400)."""


# Jobs and answers ------------------------------------------------------------------------------


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
    # The query's FROM clauses as the checker read them (``QueryInfo.dataset_clauses``); a remote store
    # reads them itself from ``query`` when a job comes without them.
    dataset_clauses: DatasetClauses | None = None


@dataclass(frozen=True)
class QueryAnswer:
    body: bytes
    truncated: bool  # more than max_rows: the answer holds the first max_rows only
    ran_long: bool = False  # it ran past the fast lane's budget (the embedded store's pool says so)


# pyoxigraph's writer for each format name of a job: the query processes write answers with them, and a
# remote store converts the SPARQL JSON it fetched with them (as a converter only, never as an engine).
RESULTS_WRITERS = {
    "json": ox.QueryResultsFormat.JSON,
    "xml": ox.QueryResultsFormat.XML,
    "csv": ox.QueryResultsFormat.CSV,
    "tsv": ox.QueryResultsFormat.TSV,
}


def written_as(results: object, result_format: str) -> bytes:
    """A SELECT or ASK answer written in one of ``RESULTS_WRITERS``' formats, in this thread: the engine's
    results may only be dropped by the thread that made them (``terms.read_in_full``), and this frame lets
    go of them before a failure (a lazy parse error) can keep it in a traceback."""
    try:
        if not isinstance(results, ox.QuerySolutions | ox.QueryBoolean):
            raise TypeError(f"not the answer of a SELECT or ASK query: {type(results).__name__}")
        return results.serialize(format=RESULTS_WRITERS[result_format]) or b""
    finally:
        del results


GRAPH_WRITERS = {
    "turtle": ox.RdfFormat.TURTLE,
    "trig": ox.RdfFormat.TRIG,
    "ntriples": ox.RdfFormat.N_TRIPLES,
    "nquads": ox.RdfFormat.N_QUADS,
    "jsonld": ox.RdfFormat.JSON_LD,
    "rdfxml": ox.RdfFormat.RDF_XML,
}


def ordered_variables(names: list[str], order: tuple[str, ...]) -> list[str]:
    """``names`` in ``order`` (SELECT *: as they first appear in the query); names it lacks keep their
    place after those it has."""
    rank = {name: i for i, name in enumerate(order)}
    return sorted(names, key=lambda name: rank.get(name, len(rank)))
