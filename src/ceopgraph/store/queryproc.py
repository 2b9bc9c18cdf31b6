"""The query processes' half of the embedded store: a job in, a serialised answer out.

A separate module, light on imports (pyoxigraph, the standard library and ``ceopgraph.store``'s
``jobs``, ``disk`` and ``workers``, no rdflib), because it is all that the killable query processes
(``ceopgraph.store.embedded.QueryPool``) import. With ``ceopgraph.store.embedded`` it is the only code
that drives the engine.

Two ways to hold the data (``Settings.query_store``): ``memory`` (``holder_main``), where one holder
per pool loads the files into an in-memory store and forks the query processes, which share it page by
page; or ``disk`` (``worker_main``), where each query process opens the one on-disk copy read-only.
The engine answers from memory several times faster (at 100k triples: joins 4.6x, aggregates 4x,
bench/results.md), at the cost of the data's size in memory once per server worker.
"""

from __future__ import annotations

import contextlib
import io
import itertools

import pyoxigraph as ox

from ceopgraph.processes.pool import hold_and_fork, serve_jobs
from ceopgraph.store.disk import Source, load_sources
from ceopgraph.store.jobs import (
    GRAPH_WRITERS,
    RESULTS_WRITERS,
    QueryAnswer,
    QueryEvaluationError,
    QueryJob,
    QuerySyntaxError,
    StoreError,
    StoreUnavailable,
    ordered_variables,
)


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
            return QueryAnswer(result.serialize(format=RESULTS_WRITERS[job.result_format]) or b"", False)
        if isinstance(result, ox.QuerySolutions):
            return _solutions_answer(result, job)
        triples = list(itertools.islice(result, job.max_rows + 1))
        prefixes = dict(job.prefixes)
        body = ox.serialize(triples[: job.max_rows], format=GRAPH_WRITERS[job.result_format], prefixes=prefixes)
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
    written as SPARQL TSV (terms in N-Triples syntax, one line each) and read back.

    The engine writes the TSV itself, into a sink that stops it one row past the cap, unless the
    columns must be put in the query's order (``SELECT *``), which is done here, row by row."""
    engine_names = [v.value for v in solutions.variables]
    names = ordered_variables(engine_names, job.variable_order)
    if names == engine_names:
        sink = _RowSink(job.max_rows + 1)
        with contextlib.suppress(_EnoughRows):  # the sink stops the writer one row past the cap
            solutions.serialize(sink, format=ox.QueryResultsFormat.TSV)
        head, *rows = sink.getvalue().split(b"\n")[:-1]  # whole lines only: the head, then the rows
        truncated = len(rows) > job.max_rows
        tsv = b"\n".join([head, *rows[: job.max_rows]]) + b"\n"
    else:
        text = ["\t".join("?" + name for name in names)]
        for solution in itertools.islice(solutions, job.max_rows):
            text.append("\t".join("" if solution[name] is None else str(solution[name]) for name in names))
        truncated = next(solutions, None) is not None
        tsv = ("\n".join(text) + "\n").encode()
    capped = ox.parse_query_results(tsv, format=ox.QueryResultsFormat.TSV)
    return QueryAnswer(capped.serialize(format=RESULTS_WRITERS[job.result_format]) or b"", truncated)


class _EnoughRows(Exception):
    """The sink has a row past the cap: the engine need not write more."""


class _RowSink(io.BytesIO):
    """Where the engine writes TSV: keeps what it writes until ``rows`` rows (after the head) are in."""

    def __init__(self, rows: int) -> None:
        super().__init__()
        self.rows = -1  # the head line is not a row
        self._limit = rows

    def write(self, data: bytes) -> int:  # type: ignore[override]  # the engine writes bytes only
        written = super().write(data)
        self.rows += data.count(b"\n")
        if self.rows >= self._limit:
            raise _EnoughRows
        return written


def worker_main(fd: int) -> None:
    """A query worker process (``disk``): open the on-disk store read-only, then answer jobs until the
    pool goes away or kills it (a timeout)."""
    serve_jobs(fd, lambda path: ox.Store.read_only(path), _answer)


def holder_main(fd: int) -> None:
    """The holder of a pool's data (``memory``): load the files into memory, then fork query processes
    that answer jobs from it until the pool goes away or kills them."""
    hold_and_fork(fd, _in_memory, _answer)


def _in_memory(sources: list[Source]) -> ox.Store:
    store = ox.Store()
    load_sources(store, sources)
    return store


def _answer(store: ox.Store, job: QueryJob) -> tuple[str, object]:
    try:
        return ("ok", evaluate(store, job))
    except StoreError as exc:
        return ("error", exc)
