"""``describe``: the symmetric concise bounded description of a resource, with the labels a page needs.

Over a small store written here, so every expected triple is stated: the resource's own triples either
way, blank nodes followed three levels deep (not four), the labels of what it links to and of the
predicates either way, and nothing of its neighbours' other triples.
"""

from __future__ import annotations

from collections.abc import Iterator

import pyoxigraph as ox
import pytest
from rdflib import Graph, URIRef

from ceopgraph import describe
from ceopgraph.store.embedded import EmbeddedStore

EX = "https://example.org/"
DATA = f"""
@prefix ex: <{EX}> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .

ex:thing ex:linksTo ex:other ; ex:size 3 ;
    ex:has [ ex:about ex:named ; ex:part [ ex:part [ ex:part [ ex:depth 4 ] ; ex:depth 3 ] ] ] .
ex:other rdfs:label "Other"@en ; ex:unrelated "not in the description" .
ex:named skos:prefLabel "Named" ; ex:unrelated "nor this" .
ex:linksTo rdfs:label "links to" .
ex:about rdfs:label "about" .
ex:referrer ex:mentions ex:thing ; rdfs:label "Referrer" ; ex:unrelated "nor this either" .
ex:mentions rdfs:label "mentions" .
ex:plain ex:linksTo ex:other .
"""


@pytest.fixture(scope="module")
def store() -> Iterator[EmbeddedStore]:
    engine = ox.Store()
    engine.load(DATA.encode(), ox.RdfFormat.TURTLE, to_graph=ox.NamedNode(EX + "graph"))
    embedded = EmbeddedStore(engine, "test", query_processes=1)
    yield embedded
    embedded.close()


def _lines(graph: Graph) -> set[str]:
    """The triples, blank nodes written as ``_:`` so that sets of them can be compared."""
    return {" ".join("_:" if t.n3().startswith("_:") else t.n3() for t in triple) for triple in graph}


def _iri(local: str) -> str:
    return f"<{EX}{local}>"


def test_a_description_follows_blank_nodes_three_levels_and_labels_what_it_links(store: EmbeddedStore) -> None:
    found = _lines(describe.describe(store, URIRef(EX + "thing")).graph)
    label = "<http://www.w3.org/2000/01/rdf-schema#label>"
    expected = {
        f"{_iri('thing')} {_iri('linksTo')} {_iri('other')}",
        f'{_iri("thing")} {_iri("size")} "3"^^<http://www.w3.org/2001/XMLSchema#integer>',
        f"{_iri('thing')} {_iri('has')} _:",
        f"_: {_iri('part')} _:",  # levels one to three (one line, as a set)
        f"_: {_iri('about')} {_iri('named')}",
        f'_: {_iri("depth")} "3"^^<http://www.w3.org/2001/XMLSchema#integer>',
        f"{_iri('referrer')} {_iri('mentions')} {_iri('thing')}",
        f'{_iri("other")} {label} "Other"@en',
        f'{_iri("named")} <http://www.w3.org/2004/02/skos/core#prefLabel> "Named"',
        f'{_iri("referrer")} {label} "Referrer"',
        f'{_iri("linksTo")} {label} "links to"',
        f'{_iri("mentions")} {label} "mentions"',
        f'{_iri("about")} {label} "about"',
    }
    assert found == expected
    assert not any('depth> "4"' in line for line in found)  # the fourth level is not followed


def test_a_description_without_blank_nodes(store: EmbeddedStore) -> None:
    found = _lines(describe.describe(store, URIRef(EX + "plain")).graph)
    label = "<http://www.w3.org/2000/01/rdf-schema#label>"
    assert found == {
        f"{_iri('plain')} {_iri('linksTo')} {_iri('other')}",
        f'{_iri("other")} {label} "Other"@en',
        f'{_iri("linksTo")} {label} "links to"',
    }


def test_an_unknown_resource_has_an_empty_description(store: EmbeddedStore) -> None:
    assert len(describe.describe(store, URIRef(EX + "nothing")).graph) == 0
