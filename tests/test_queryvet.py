"""``ceopgraph.queryvet``: the checker's refusals cross from its process as they were raised there.

(One verdict per shape, and refusals never kept: ``test_queryshape``.)
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ceopgraph.queryvet import QueryChecker
from ceopgraph.sparqltext import QueryIsUpdate, QueryRefused, QueryUsesService, UnparsableQuery
from ceopgraph.web.errors import status_of


@pytest.fixture(scope="module")
def checker() -> Iterator[QueryChecker]:
    checker = QueryChecker(size=1, memory_mb=512)
    yield checker
    checker.close()


@pytest.mark.parametrize(
    ("query", "error", "status", "says"),
    [
        ("CLEAR ALL", QueryIsUpdate, 403, "read-only"),
        ("ASK { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }", QueryUsesService, 400, "SERVICE is not allowed"),
        ("SELECT * { ?s ?p }", UnparsableQuery, 400, "line 1, column"),
    ],
)
def test_a_refusal_is_answered_with_its_kinds_status(
    checker: QueryChecker, query: str, error: type[QueryRefused], status: int, says: str
) -> None:
    with pytest.raises(error, match=says) as refused:
        checker.check(query, timeout_s=10)
    assert status_of(refused.value) == status
