"""The query processes' half of the embedded store: a job in, a serialised answer out.

A separate module, light on imports (pyoxigraph, the standard library and ``ceopgraph.store.jobs``,
no rdflib), because it is all that each of the killable query processes
(``ceopgraph.store.embedded.QueryPool``) imports: every process of every server worker pays for its
imports in memory (~20 MB each for rdflib). With ``ceopgraph.store.embedded`` it is the only code
that drives the engine.
"""

from __future__ import annotations

import itertools

import pyoxigraph as ox

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
from ceopgraph.store.workers import serve_jobs


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
    written as SPARQL TSV (terms in N-Triples syntax, one line each) and read back."""
    names = ordered_variables([v.value for v in solutions.variables], job.variable_order)
    lines = ["\t".join("?" + name for name in names)]
    for solution in itertools.islice(solutions, job.max_rows):
        lines.append("\t".join("" if solution[name] is None else str(solution[name]) for name in names))
    truncated = next(solutions, None) is not None
    tsv = ("\n".join(lines) + "\n").encode()
    capped = ox.parse_query_results(tsv, format=ox.QueryResultsFormat.TSV)
    return QueryAnswer(capped.serialize(format=RESULTS_WRITERS[job.result_format]) or b"", truncated)


def worker_main(fd: int) -> None:
    """A query worker process: open the on-disk store read-only, then answer jobs until the pool goes
    away or kills it (a timeout)."""
    serve_jobs(fd, lambda path: ox.Store.read_only(path), _answer)


def _answer(store: ox.Store, job: QueryJob) -> tuple[str, object]:
    try:
        return ("ok", evaluate(store, job))
    except StoreError as exc:
        return ("error", exc)
