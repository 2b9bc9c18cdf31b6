"""The submission guide: generated from the shapes the validator uses, never written by hand."""

from __future__ import annotations

import pytest
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF, XSD

from ceopgraph.config import Settings
from ceopgraph.namespaces import SH, prefix_map
from ceopgraph.validation.guide import guide_href, submission_guide


def test_the_guide_follows_the_shapes(shapes: Graph) -> None:
    """Generated, not written: a new constraint in the shapes graph appears in the guide."""
    changed = Graph()
    changed += shapes
    for prefix, namespace in shapes.namespaces():
        changed.bind(prefix, namespace)
    shape = next(s for s in changed.subjects(SH.targetClass, None) if "ObservationShape" in str(s))
    new = URIRef(f"{shape}/new-rule")
    changed.add((shape, SH.property, new))
    changed.add((new, SH.path, URIRef("http://purl.org/dc/terms/created")))
    changed.add((new, SH.minCount, Literal(1)))
    changed.add((new, SH.message, Literal("Observation has no creation date")))
    before = [r for s in submission_guide(shapes) for r in s.rules if r.iri == str(new)]
    after = [r for s in submission_guide(changed) for r in s.rules if r.iri == str(new)]
    assert before == []
    assert [(r.path, r.count, r.message) for r in after] == [
        ("dct:created", "required", "Observation has no creation date")
    ]


@pytest.mark.parametrize(
    ("low", "high", "count"),
    [
        (None, None, "optional"),
        (1, None, "required"),
        (2, None, "at least 2"),
        (1, 1, "exactly one"),
        (None, 1, "at most one"),
        (0, 3, "at most 3"),
    ],
)
def test_a_rule_says_how_many_values_and_what_kind_in_words(low: int | None, high: int | None, count: str) -> None:
    shapes = Graph()
    shapes.bind("xsd", XSD)
    shape, member, values = URIRef("urn:x:S"), URIRef("urn:x:S/p"), BNode()
    shapes.add((shape, RDF.type, SH.NodeShape))
    shapes.add((shape, SH.targetClass, URIRef("urn:x:C")))
    shapes.add((shape, SH.property, member))
    shapes.add((member, SH.path, URIRef("urn:x:p")))
    shapes.add((member, SH.datatype, XSD.integer))
    shapes.add((member, SH["in"], values))
    shapes.add((values, RDF.first, Literal(1)))
    shapes.add((values, RDF.rest, RDF.nil))
    for predicate, value in ((SH.minCount, low), (SH.maxCount, high)):
        if value is not None:
            shapes.add((member, predicate, Literal(value)))
    ((section,),) = [submission_guide(shapes)]
    assert section.targets == ("every <urn:x:C>",)
    ((rule,),) = [section.rules]
    assert (rule.path, rule.count, rule.expects, rule.severity) == (
        "<urn:x:p>",
        count,
        "xsd:integer; one of 1",
        "Violation",
    )


def test_every_rule_has_an_anchor_and_an_example_of_a_fix_that_is_turtle(
    shapes: Graph, union: Graph, settings: Settings
) -> None:
    """Walks every rule of the guide: a report links to it by its anchor (one per rule), and it shows an
    example of conforming data, written as Turtle a submitter can paste (the example submission's prefixes)."""
    guide = submission_guide(shapes, union)
    rules = [rule for section in guide for rule in section.rules]
    assert len({rule.anchor for rule in rules}) == len(rules)
    assert len({section.anchor for section in guide}) == len(guide)
    prologue = f"@base <{settings.base_uri}> .\n" + "".join(
        f"@prefix {prefix}: <{namespace}> .\n" for prefix, namespace in prefix_map(settings.scheme).items()
    )
    for rule in rules:
        assert rule.example, f"{rule.iri} has no example of a fix"
        assert len(Graph().parse(data=prologue + rule.example, format="turtle")) >= 1, rule.example


def test_a_property_rules_example_is_the_published_datas_own_values(
    shapes: Graph, union: Graph, settings: Settings
) -> None:
    """Examples of property rules are read from the published data (which conforms), never made up."""
    guide = submission_guide(shapes, union)
    (rule,) = [r for s in guide for r in s.rules if r.iri.endswith("/ObservationShape/obsValue")]
    figure = f"{settings.base_uri}data/annual-review-2012-13/children-protected-since-launch/since-launch-to-2012-2013"
    assert rule.example == f'<{figure}> sdmx-measure:obsValue "2255"^^xsd:integer .'


def test_a_reports_rule_links_to_its_guide_entry_or_else_its_shapes_section(shapes: Graph, settings: Settings) -> None:
    guide = submission_guide(shapes)
    shape = settings.base_uri + "def/shapes/ObservationShape"
    assert guide_href(guide, shape + "/obsValue", None) == "#rule-ObservationShape-obsValue"
    assert guide_href(guide, shape, shape + "/value-in-words") == "#rule-ObservationShape-value-in-words"
    assert guide_href(guide, shape, "http://www.w3.org/ns/shacl#ClassConstraintComponent") == "#shape-ObservationShape"
