"""``ceopgraph.queryvet``: the checker's refusals cross from its process as the protocol's errors.

(One verdict per shape, and refusals never kept: ``test_queryshape``.)
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ceopgraph.queryvet import QueryChecker
from ceopgraph.sparql import MalformedQuery, ProtocolError, ServiceRefused, UpdateRefused


@pytest.fixture(scope="module")
def checker() -> Iterator[QueryChecker]:
    checker = QueryChecker(size=1, memory_mb=512)
    yield checker
    checker.close()


@pytest.mark.parametrize(
    ("query", "error", "status", "says"),
    [
        ("CLEAR ALL", UpdateRefused, 403, "read-only"),
        ("ASK { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }", ServiceRefused, 400, "SERVICE is not allowed"),
        ("SELECT * { ?s ?p }", MalformedQuery, 400, "line 1, column"),
    ],
)
def test_a_refusal_is_the_protocol_error_of_its_kind(
    checker: QueryChecker, query: str, error: type[ProtocolError], status: int, says: str
) -> None:
    with pytest.raises(error, match=says) as refused:
        checker.check(query, timeout_s=10)
    assert refused.value.status == status
