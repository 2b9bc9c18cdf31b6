"""The query checker's worker processes: every endpoint query is parsed here before any engine sees it.

Parsing grows with the query (pyparsing: seconds and hundreds of megabytes for a hostile 64 KB query),
so it runs in killable, confined worker processes (``ceopgraph.processes.pool``), not in the server's
threads, and the same checker guards the embedded engine and a remote store (which federates ``SERVICE``
too). The verdict is ``ceopgraph.sparqltext.vet_query``'s: the query form, its dataset clauses, and the
text to run; or the refusal, raised as it is (``web.errors`` gives each kind its status). A
query of a shape already vetted (``ceopgraph.queryshape``: the same tokens, other constants) gets its
shape's verdict here, in the calling thread, without a parse: real traffic repeats a few shapes with
different subjects and thresholds, and a parse costs milliseconds.

It stays beside ``ceopgraph.sparqltext``, not in the store package: it is the endpoint's front door,
which the store never calls (the store runs jobs already vetted).
"""

from __future__ import annotations

import sys

from ceopgraph.processes import pool
from ceopgraph.queryshape import Verdict, Verdicts, shape_of
from ceopgraph.sparql import MalformedQuery
from ceopgraph.sparqltext import QueryInfo, QueryRefused, vet_query

# Lanes: a parse past FAST_PARSE_S takes the one slow slot, so the other checker keeps answering the
# ordinary queries (1-4 ms each) while one client's long query is parsed.
FAST_PARSE_S = 0.25
# Deep enough for any real query (a few hundred nested groups or brackets: pyparsing spends some twenty
# frames a level), shallow enough that the interpreter's own stack holds it; deeper is refused (400).
_RECURSION_LIMIT = 20_000


class CheckerUnavailable(Exception):
    """No checker could take the query (all busy, or one failed); the query was not run (HTTP 503)."""


def worker_main(fd: int) -> None:
    """A checker process: answer ``vet_query`` for each query text until the pool goes away."""
    sys.setrecursionlimit(_RECURSION_LIMIT)
    pool.serve_jobs(fd, lambda _: None, _vet)


def _vet(_: None, query: str) -> tuple[str, object]:
    try:
        return ("ok", vet_query(query))
    except QueryRefused as exc:
        return ("refused", exc)


class QueryChecker:
    """Checker processes for one server worker; ``check`` gives a verdict within a time limit."""

    def __init__(self, size: int, memory_mb: int) -> None:
        self._workers = pool.WorkerPool(
            "ceopgraph.queryvet:worker_main",
            None,
            size,
            "query checker",
            memory_mb=memory_mb,
            heavy_slots=1,
            fast_budget_s=FAST_PARSE_S,
        )
        self._verdicts = Verdicts()

    def check(self, query: str, timeout_s: float) -> QueryInfo:
        """The verdict on ``query``, or the ``QueryRefused`` that refuses it: its shape's, when a query of
        that shape was accepted before, else a full parse's."""
        shape = shape_of(query)
        known = self._verdicts.get(shape) if shape is not None else None
        if known is not None:  # a shaped query has no escapes to expand: the text is the one checked
            return QueryInfo(known.form, query, known.variable_order)
        info = self._parse(query, timeout_s)
        if shape is not None and not info.has_dataset_clause:
            self._verdicts.put(shape, Verdict(info.form, info.variable_order))
        return info

    def _parse(self, query: str, timeout_s: float) -> QueryInfo:
        try:
            status, payload = self._workers.run(query, timeout_s)
        except pool.WorkerPoolError as exc:
            pool.raise_as(
                exc,
                {
                    pool.DeadlinePassed: lambda _: MalformedQuery(
                        f"the query could not be parsed within {timeout_s:g} s: simplify it"
                    ),
                    pool.MemoryExceeded: lambda _: MalformedQuery(
                        f"parsing the query needed more than {self._workers.memory_mb} MiB: simplify it"
                    ),
                    (pool.NoIdleWorker, pool.HeavyLaneFull): lambda exc: CheckerUnavailable(
                        f"the query checker is busy ({exc}); try again in a moment"
                    ),
                    pool.WorkerFailed: lambda _: CheckerUnavailable(
                        "a query checker failed; it is being replaced, try again"
                    ),
                },
            )
        if status == "refused":
            refusal: QueryRefused = payload
            raise refusal
        info: QueryInfo = payload
        return info

    def close(self) -> None:
        """Kill the idle checkers; busy ones exit when their socket closes."""
        self._workers.close()
