"""The shapes: the published data conforms, every constraint catches its invalid submission, and the
shapes graph itself is valid SHACL."""

from __future__ import annotations

import json

import pytest
from pyshacl import validate as pyshacl_validate
from pyshacl.errors import ReportableRuntimeError
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF

from ceopgraph.config import Settings
from ceopgraph.namespaces import SH
from ceopgraph.validate import Report, Result, UnsafeShapes, load_shapes, sparql_prefixes, validate_graph

from .listener import Listener, listener  # noqa: F401 (the fixture)
from .submissions import BLANK_NODE, MUTATIONS, THEN, Mutation


@pytest.fixture(scope="session")
def shapes(settings: Settings) -> Graph:
    return load_shapes(settings.shapes_dir, settings.base_uri)


@pytest.fixture(scope="session")
def published_report(union: Graph, shapes: Graph) -> Report:
    return validate_graph(union, shapes)


def absolute(settings: Settings, iri: str) -> str:
    return iri if iri.startswith("http") else settings.base_uri + iri


def mutate(union: Graph, settings: Settings, update: str) -> Graph:
    copy = Graph()
    copy += union
    prologue = f"BASE <{settings.base_uri}>\n" + "".join(
        f"PREFIX {p}: <{ns}>\n" for p, ns in sparql_prefixes(settings.base_uri).items()
    )
    before = set(copy)
    for operation in update.split(THEN):
        copy.update(prologue + operation)
    assert set(copy) != before, "the mutation changed nothing"
    return copy


def test_published_data_conforms_without_warnings(published_report: Report) -> None:
    assert published_report.conforms, published_report.to_text()
    assert published_report.results == ()


# IC-1 as first written: a UNION whose first group filters on $this. Run once for all focus nodes,
# that filter would not see $this bound, so this form is left to pySHACL's pre-binding.
_IC1_PER_FOCUS_NODE = """
    SELECT DISTINCT $this WHERE {
        { FILTER NOT EXISTS { $this qb:dataSet ?dataset } }
        UNION
        { $this qb:dataSet ?dataset1, ?dataset2 . FILTER (?dataset1 != ?dataset2) }
    }"""


def _with_select(shapes: Graph, constraint: URIRef, select: str) -> Graph:
    changed = Graph()
    changed += shapes
    changed.set((constraint, SH.select, Literal(select)))
    return changed


@pytest.mark.parametrize("name", ["IC-1-no-dataset", "IC-1-two-datasets"])
def test_a_sparql_constraint_run_once_reports_what_pre_binding_reports(
    name: str, union: Graph, shapes: Graph, settings: Settings
) -> None:
    """SHACL 5.3.1: the bulk run (our IC-1, once for all observations) and pySHACL's per-focus-node
    pre-binding (IC-1 in a form only it runs) give the same report."""
    (mutation,) = [m for m in MUTATIONS if m.name == name]
    data = mutate(union, settings, mutation.update)
    constraint = URIRef(absolute(settings, mutation.shape))
    per_node = validate_graph(data, _with_select(shapes, constraint, _IC1_PER_FOCUS_NODE))
    once = validate_graph(data, shapes)
    assert once.results == per_node.results
    assert once.conforms is per_node.conforms is False


def test_a_shape_query_with_service_is_refused_before_anything_runs(
    union: Graph, shapes: Graph, settings: Settings, listener: Listener
) -> None:
    """Oxigraph federates SERVICE over HTTP; a shape's query that has one is never run."""
    constraint = URIRef(absolute(settings, "def/shapes/ConceptShape/top-concept-in-scheme"))
    remote = f"SELECT $this WHERE {{ SERVICE <{listener.url}> {{ $this ?p ?o }} }}"
    with pytest.raises(UnsafeShapes, match="SERVICE"):
        validate_graph(union, _with_select(shapes, constraint, remote))
    assert listener.requests == 0


def test_a_string_figure_is_not_compared_with_numbers(union: Graph, shapes: Graph, settings: Settings) -> None:
    """Regression: a figure given as a string was also reported as below the count since launch, as
    though "790" > 25000; comparing a string with a number is a type error (SPARQL 1.1 section 17.3)."""
    (mutation,) = [m for m in MUTATIONS if m.name == "figure-as-string"]
    report = validate_graph(mutate(union, settings, mutation.update), shapes)
    assert {r.source_shape for r in report.results} == {absolute(settings, mutation.shape)}


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
def test_invalid_submission_is_reported(mutation: Mutation, union: Graph, shapes: Graph, settings: Settings) -> None:
    report = validate_graph(mutate(union, settings, mutation.update), shapes)
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


def test_a_complex_result_path_is_written_out_not_a_blank_node(union: Graph, shapes: Graph, settings: Settings) -> None:
    """Regression: a sequence path was reported as a random blank-node label."""
    (mutation,) = [m for m in MUTATIONS if m.name == "threat-area-numbered-in-words"]
    report = validate_graph(mutate(union, settings, mutation.update), shapes)
    (result,) = [r for r in report.results if r.source_shape == absolute(settings, mutation.shape)]
    skos = "http://www.w3.org/2004/02/skos/core#"
    assert result.result_path == f"(<{skos}hasTopConcept>/<{skos}notation>)"


def test_reports_render_as_json_turtle_and_grouped_text(union: Graph, shapes: Graph, settings: Settings) -> None:
    mutation = next(m for m in MUTATIONS if m.name == "negative-count")
    report = validate_graph(mutate(union, settings, mutation.update), shapes)
    document = json.loads(report.to_json())
    assert document["conforms"] is False
    keys = {"focusNode", "resultPath", "value", "severity", "message", "sourceShape", "sourceConstraint"}
    assert all(set(r) == keys for r in document["results"])
    assert (None, RDF.type, SH.ValidationReport) in Graph().parse(data=report.to_turtle(), format="turtle")
    text = report.to_text()
    assert "A count cannot be negative" in text
    assert "(Children safeguarded and protected, 2012-2013)" in text  # the focus node's label
    groups = report.groups()
    assert sum(len(g.results) for g in groups) == len(report.results)
    assert len({(g.severity, g.source_shape, g.message) for g in groups}) == len(groups)


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
