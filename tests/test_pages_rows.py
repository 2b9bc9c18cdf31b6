"""``web.pages.rows``: query solutions read into typed records, checked as they are read."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from rdflib import BNode, Literal, URIRef
from rdflib.term import Node

from ceopgraph.web.pages.rows import UnexpectedSolution, join, read, read_all, text, variable_name

OBS = URIRef("https://w3id.org/ceopgraph/data/annual-review-2012-13/children-safeguarded/2012-2013")


@dataclass(frozen=True)
class _Row:
    obs: URIRef
    obs_label: Literal | None
    value: Node


@dataclass(frozen=True)
class _Unsupported:
    count: int


def test_fields_read_their_camel_case_variables_and_extra_variables_are_ignored() -> None:
    row = read(_Row, {"obs": OBS, "obsLabel": Literal("790 children"), "value": Literal(790), "other": BNode()})
    assert row == _Row(OBS, Literal("790 children"), Literal(790))
    assert read(_Row, {"obs": OBS, "value": OBS}).obs_label is None
    assert variable_name("source_start") == "sourceStart" and variable_name("obs") == "obs"
    assert read_all(_Row, []) == []


@pytest.mark.parametrize(
    ("solution", "message"),
    [
        ({"value": Literal(1)}, "_Row: the solution has no ?obs"),
        ({"obs": Literal("x"), "value": Literal(1)}, "_Row: ?obs is a Literal ('x'), not a URIRef"),
        ({"obs": OBS, "obsLabel": OBS, "value": Literal(1)}, "?obsLabel is a URIRef"),
        ({"obs": BNode("b0"), "value": Literal(1)}, "?obs is a BNode ('b0'), not a URIRef"),
    ],
)
def test_a_solution_that_does_not_fit_its_record_is_refused(solution: dict[str, Node], message: str) -> None:
    with pytest.raises(UnexpectedSolution, match=re.escape(message)):
        read(_Row, solution)


def test_a_record_holds_only_terms() -> None:
    with pytest.raises(TypeError, match=re.escape("_Unsupported.count")):
        read(_Unsupported, {"count": Literal(1)})


def test_text_of_an_optional_term() -> None:
    assert text(None) == "" and text(None, "reported") == "reported"
    assert text(Literal(0)) == "0"  # not the empty text a falsy literal would give with `or`


def test_rows_that_do_not_fit_are_left_off_not_the_page(caplog: pytest.LogCaptureFixture) -> None:
    """``serve --data`` can serve any RDF: a blank node where a page links an IRI loses its row only."""
    solutions = [{"obs": BNode(), "value": Literal(1)}, {"obs": OBS, "value": Literal(790)}]
    assert read_all(_Row, solutions) == [_Row(OBS, None, Literal(790))]
    assert "?obs is a BNode" in caplog.text


def test_join_merges_solutions_that_bind_the_keys_alike() -> None:
    a, b, d = URIRef("https://example.org/a"), URIRef("https://example.org/b"), URIRef("https://example.org/d")
    left = [{"obs": a, "dataset": d, "value": Literal(1)}, {"obs": b, "dataset": d, "value": Literal(2)}]
    right: list[dict[str, Node]] = [
        {"obs": a, "dataset": d, "status": Literal("reported")},
        {"obs": a, "dataset": d, "status": Literal("revised")},
        {"obs": a, "dataset": URIRef("https://example.org/other")},  # another dataset: not joined
    ]
    joined = join(left, right, ("obs", "dataset"), at_most=2)
    assert joined == [
        {"obs": a, "dataset": d, "value": Literal(1), "status": Literal("reported")},
        {"obs": a, "dataset": d, "value": Literal(1), "status": Literal("revised")},
    ]  # b has no solution on the right, so none joined


def test_a_join_past_its_bound_stops_there() -> None:
    """1,000 solutions joined with 1,000 that bind the same key would be a million: the join stops at its bound."""
    a, d = URIRef("https://example.org/a"), URIRef("https://example.org/d")
    left = [{"obs": a, "dataset": d, "value": Literal(i)} for i in range(1_000)]
    right = [{"obs": a, "dataset": d, "status": Literal(i)} for i in range(1_000)]
    assert join(left, right, ("obs", "dataset"), at_most=1_000) is None
    assert join(left[:1], right, ("obs", "dataset"), at_most=1_000) is not None
