"""``ceopgraph.labels``: which label a node gets, and the readable names of IRIs without one."""

from __future__ import annotations

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDFS, SKOS

from ceopgraph import labels

NODE = URIRef("https://w3id.org/ceopgraph/id/organisation/ceop")


def _graph(*triples: tuple[URIRef, URIRef, object]) -> Graph:
    graph = Graph()
    for s, p, o in triples:
        graph.add((s, p, o))  # type: ignore[arg-type]
    return graph


def test_english_then_untagged_then_any_language() -> None:
    graph = _graph(
        (NODE, RDFS.label, Literal("Centre", lang="fr")),
        (NODE, RDFS.label, Literal("Centre (untagged)")),
        (NODE, RDFS.label, Literal("Centre (English)", lang="en-gb")),
    )
    assert labels.label(graph, NODE) == "Centre (English)"
    graph.remove((NODE, RDFS.label, Literal("Centre (English)", lang="en-gb")))
    assert labels.label(graph, NODE) == "Centre (untagged)"
    graph.remove((NODE, RDFS.label, Literal("Centre (untagged)")))
    assert labels.label(graph, NODE) == "Centre"


def test_the_first_property_with_a_literal_wins() -> None:
    graph = _graph(
        (NODE, SKOS.prefLabel, URIRef("https://example.org/not-a-label")),
        (NODE, RDFS.label, Literal("The label")),
        (NODE, DCTERMS.title, Literal("A title")),
    )
    assert labels.label(graph, NODE) == "The label"
    assert labels.label(_graph((NODE, DCTERMS.title, Literal("A title"))), NODE) == "A title"
    assert labels.label(Graph(), NODE) is None


def test_reports_read_only_the_two_label_properties() -> None:
    graph = _graph((NODE, DCTERMS.title, Literal("A title")))
    assert labels.label(graph, NODE, labels.REPORT_LABEL_PROPERTIES) is None
    graph.add((NODE, SKOS.prefLabel, Literal("Preferred")))
    graph.add((NODE, RDFS.label, Literal("Label")))
    assert labels.label(graph, NODE, labels.REPORT_LABEL_PROPERTIES) == "Preferred"


@pytest.mark.parametrize(
    ("iri", "expected"),
    [
        ("https://w3id.org/ceopgraph/def/unit/child", "child"),
        ("http://www.w3.org/ns/org#FormalOrganization", "FormalOrganization"),
        ("https://w3id.org/ceopgraph/def/shapes/", "shapes"),
        ("http://example.org/vocab#", "vocab"),
        ("urn:x", "urn:x"),
        ("", ""),
    ],
)
def test_local_names(iri: str, expected: str) -> None:
    assert labels.local_name(iri) == expected
