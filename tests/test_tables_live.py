"""The CSV round trip through a CSV on the Web implementation nobody here wrote (PyPI ``csvw-functions``),
reading the table and its metadata from a real server: standard mode must give back the cube's observations
exactly (IRIs, datatypes, values), and the processor's own reader of ``Link`` headers must find the metadata."""

from __future__ import annotations

from collections.abc import Iterable

import requests
from csvw_functions import create_annotated_table_group, create_rdf
from csvw_functions.csvw_functions import get_metadata_from_link_header
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import PROV, RDF, RDFS, XSD
from rdflib.term import Node

from ceopgraph import tables
from ceopgraph.namespaces import OA, QB

from .live import LiveServer

CSV = "data/annual-review-2012-13.csv"

Triple = tuple[str, str, str]


def _n3(triples: Iterable[tuple[Node, Node, Node]]) -> set[Triple]:
    """Triples as N-Triples terms, so IRIs, lexical forms, datatypes and languages all count. A simple
    literal is written as the ``xsd:string`` it is in RDF 1.1 (Concepts 3.3), as a processor may write it."""
    return {(s.n3(), p.n3(), _rdf11(o).n3()) for s, p, o in triples}


def _rdf11(term: Node) -> Node:
    if isinstance(term, Literal) and term.datatype is None and not term.language:
        return Literal(str(term), datatype=XSD.string)
    return term


def _cube_statements(union: Graph) -> tuple[set[Triple], set[Triple]]:
    """The observations' statements the table converts (type, dataset, label, every component of the
    structure, the segment each was read from), and the ones it shows only to people (what a derived figure
    was computed from)."""
    (dataset,) = tables.datasets(union)
    components = {
        p
        for structure in union.objects(dataset, QB.structure)
        for spec in union.objects(structure, QB.component)
        for kind in (QB.dimension, QB.measure, QB.attribute)
        for p in union.objects(spec, kind)
    }
    converted: set[tuple[Node, Node, Node]] = set()
    shown: set[tuple[Node, Node, Node]] = set()
    for observation in union.subjects(QB.dataSet, dataset):
        for p, o in union.predicate_objects(observation):
            if p in components or p in (RDF.type, QB.dataSet, RDFS.label):
                converted.add((observation, p, o))
            elif p == PROV.wasDerivedFrom:
                (converted if (o, OA.hasSelector, None) in union else shown).add((observation, p, o))
    return _n3(converted), _n3(shown)


def test_a_standard_csvw_processor_gives_back_the_cubes_observations(live_server: LiveServer, union: Graph) -> None:
    group = create_annotated_table_group(live_server.url + CSV + tables.METADATA_SUFFIX)
    converted = Graph().parse(data=create_rdf(group, mode="standard"), format="nt")
    observations = {s for s in union.subjects(RDF.type, QB.Observation) if isinstance(s, URIRef)}
    about_observations = _n3(t for t in converted if t[0] in observations)
    expected, shown_only = _cube_statements(union)
    assert len(observations) == 8 and {s for s, _, _ in expected} == {o.n3() for o in observations}
    assert about_observations == expected
    assert len(shown_only) == 4
    assert not about_observations & shown_only


def test_the_processors_link_reader_finds_the_metadata_of_the_csv(live_server: LiveServer) -> None:
    url = live_server.url + CSV
    response = requests.get(url, timeout=10)
    assert response.status_code == 200
    metadata, location = get_metadata_from_link_header(response.headers["Link"], url, False)
    assert location == url + tables.METADATA_SUFFIX
    assert metadata is not None and metadata["tables"][0]["url"] == url
