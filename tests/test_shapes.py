"""The shapes: the published data conforms, every constraint catches its invalid submission, and the
shapes graph itself is valid SHACL."""

from __future__ import annotations

import pytest
from pyshacl import validate as pyshacl_validate
from pyshacl.errors import ReportableRuntimeError
from rdflib import BNode, Graph, URIRef
from rdflib.namespace import RDF

from ceopgraph.config import Settings
from ceopgraph.namespaces import SH
from ceopgraph.validation.report import Report, Result

from .submissions import BLANK_NODE, FIGURES_AGREEING, MUTATIONS, PUBLISHED, Corpus, Mutation, Variant, absolute


@pytest.fixture(scope="session")
def published_report(corpus: Corpus) -> Report:
    return corpus.report(PUBLISHED)


def test_published_data_conforms_without_warnings(published_report: Report) -> None:
    assert published_report.conforms, published_report.to_text()
    assert published_report.results == ()


def test_a_string_figure_is_not_compared_with_numbers(corpus: Corpus, settings: Settings) -> None:
    """Regression: a figure given as a string was also reported as below the count since launch, as
    though "790" > 25000; comparing a string with a number is a type error (SPARQL 1.1 section 17.3)."""
    (mutation,) = [m for m in MUTATIONS if m.name == "figure-as-string"]
    report = corpus.report(mutation.name)
    assert {r.source_shape for r in report.results} == {absolute(settings, mutation.shape)}


@pytest.mark.parametrize("variant", FIGURES_AGREEING, ids=[v.name for v in FIGURES_AGREEING])
def test_a_figure_agreeing_with_its_words_conforms(variant: Variant, corpus: Corpus) -> None:
    """The other direction of the figure-and-words rules: the ways people write a number or a period pass."""
    report = corpus.report(variant.name)
    assert report.conforms, report.to_text()
    assert report.results == (), report.to_text()


def test_a_figure_contradicting_its_words_is_named_with_its_value_and_quote(corpus: Corpus, settings: Settings) -> None:
    """The issue's example (the 790 figure copied, its period and value changed): each violation names the
    figure, the value or period it states and the words it cites, so a submitter can see what disagrees."""
    copy = absolute(settings, "data/annual-review-2012-13/children-safeguarded/2013-2014")
    words = '"The Centre safeguarded and protected 790 children in 2012/2013"'
    for name, rule, stated in (
        ("copied-figure-other-value", "value", "900"),
        ("copied-figure-other-period", "period", "2013-2014"),
    ):
        report = corpus.report(name)
        shape = absolute(settings, f"def/shapes/ObservationShape/{rule}-in-words")
        (result,) = [r for r in report.results if r.focus_node == copy and r.source_constraint == shape]
        assert copy in result.message and stated in result.message and words in result.message, result.message
        assert not report.conforms


def test_shapes_pass_shacl_for_shacl(shapes: Graph) -> None:
    """pySHACL's meta-SHACL checks the shapes graph against the SHACL-for-SHACL shapes (SHACL appendix C)."""
    conforms, _, text = pyshacl_validate(
        Graph(), shacl_graph=shapes, meta_shacl=True, inference="none", advanced=False, do_owl_imports=False
    )
    assert conforms, text  # meta-SHACL failures would make this raise or not conform


def test_no_blank_node_shapes_are_reported(shapes: Graph) -> None:
    """Every property shape and SPARQL constraint has an IRI, so reports name exactly one."""
    for predicate in (SH.property, SH.sparql):
        for member in shapes.objects(None, predicate):
            assert isinstance(member, URIRef), member


def _constraints(shapes: Graph, settings: Settings) -> set[str]:
    """What the corpus must cover: every property shape, SPARQL constraint, node-level sh:xone, sh:nodeKind
    and sh:class."""
    named = {str(o) for p in (SH.property, SH.sparql) for o in shapes.objects(None, p)}
    named |= {str(s) for s in shapes.subjects(SH.xone, None) if isinstance(s, URIRef)}
    named |= {
        str(s)
        for constraint in (SH.nodeKind, SH["class"])
        for s in shapes.subjects(constraint, None)
        if (s, RDF.type, SH.NodeShape) in shapes
    }
    return {n.removeprefix(settings.base_uri) for n in named}


def test_the_corpus_covers_every_constraint(shapes: Graph, settings: Settings) -> None:
    covered = {m.shape for m in MUTATIONS}
    assert _constraints(shapes, settings) - covered == set()
    assert covered - _constraints(shapes, settings) == set(), "the corpus names a constraint that does not exist"


def test_every_applicable_integrity_constraint_is_a_labelled_shape(shapes: Graph, settings: Settings) -> None:
    applicable = [1, 2, 3, 4, 5, 6, *range(11, 20)]
    for number in applicable:
        shape = URIRef(f"{settings.base_uri}def/shapes/IC-{number}")
        assert (shape, RDF.type, SH.NodeShape) in shapes
        assert str(shapes.value(shape, URIRef("http://www.w3.org/2000/01/rdf-schema#label"))).startswith(
            f"IC-{number} "
        )
    text = (settings.shapes_dir / "ceopgraph-shapes.ttl").read_text()
    for number in (7, 8, 9, 10, 20, 21):
        assert f"IC-{number} (" in text, f"IC-{number} is not listed as inapplicable with its reason"


def _is_focus(report: Report, result: Result, expected: str, absolute_focus: str) -> bool:
    if expected != BLANK_NODE:
        return result.focus_node == absolute_focus
    return any(
        isinstance(node, BNode) and str(node) == result.focus_node for node in report.graph.objects(None, SH.focusNode)
    )


@pytest.mark.parametrize("mutation", MUTATIONS, ids=[m.name for m in MUTATIONS])
def test_invalid_submission_is_reported(mutation: Mutation, corpus: Corpus, settings: Settings) -> None:
    report = corpus.report(mutation.name)
    shape, focus = absolute(settings, mutation.shape), absolute(settings, mutation.focus)
    matching = [
        r
        for r in report.results
        if _is_focus(report, r, mutation.focus, focus) and shape in (r.source_shape, r.source_constraint)
    ]
    assert matching, f"expected {mutation.shape} on {mutation.focus}; got:\n{report.to_text()}"
    assert {r.severity for r in matching} == {mutation.severity}
    assert report.conforms is (mutation.severity != "Violation")
    assert all(r.message for r in matching)


def test_shacl_for_shacl_does_catch_a_broken_shape(shapes: Graph) -> None:
    """Guards the check above: a shapes graph with an ill-formed constraint is refused."""
    broken = Graph()
    broken += shapes
    broken.parse(
        data='@prefix sh: <http://www.w3.org/ns/shacl#> . <urn:x:S> a sh:NodeShape ; sh:property [ sh:path "p" ] .',
        format="turtle",
    )
    with pytest.raises(ReportableRuntimeError, match="MetaSHACL"):
        pyshacl_validate(Graph(), shacl_graph=broken, meta_shacl=True, inference="none", do_owl_imports=False)
