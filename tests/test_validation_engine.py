"""One ``Validator`` (the shapes checked and split once) validates any number of graphs as a fresh
validation of each would: nothing of one validation is left to the next, and the shapes are only read."""

from __future__ import annotations

from rdflib import Graph

from ceopgraph.validation.engine import Validator, validate_graph

from .submissions import MUTATIONS, PUBLISHED, Corpus

# Graphs that violate different constraints, each followed by a conforming one: a result kept from an
# earlier validation would show in a later report.
_CASES = (MUTATIONS[0].name, PUBLISHED, MUTATIONS[-1].name, PUBLISHED)


def test_a_validator_used_again_reports_what_a_fresh_validation_reports(corpus: Corpus, shapes: Graph) -> None:
    before = set(shapes)
    validator = Validator.of(shapes)
    for name in _CASES:
        again = validator.validate(corpus.data(name))
        fresh = validate_graph(corpus.data(name), shapes)
        assert (again.conforms, again.results) == (fresh.conforms, fresh.results), name
    assert {validator.validate(corpus.data(name)).conforms for name in _CASES} == {True, False}
    assert set(shapes) == before
