"""The W3C SPARQL 1.1 Service Description tests (``service-description/manifest.ttl``) on the live server.

The manifest names three tests: a GET on the endpoint returns RDF, that RDF has an ``sd:endpoint`` triple
naming the URL that was asked, and it conforms to the Service Description vocabulary. The last is checked
against the vocabulary's classes, properties, domains and ranges as SPARQL 1.1 Service Description §3
defines them (written out below: the schema document is not fetched).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import RDF
from rdflib.term import Node

from .endpoint import TIMEOUT_S
from .manifest import load_suite, params_or_missing

SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
ENTAILMENT = "http://www.w3.org/ns/entailment/"
FORMATS = "http://www.w3.org/ns/formats/"
# rdflib parsers of the RDF media types a client may ask the description in.
RDF_TYPES = {
    "text/turtle": "turtle",
    "application/rdf+xml": "xml",
    "application/n-triples": "nt",
    "application/ld+json": "json-ld",
    "application/trig": "trig",
    "application/n-quads": "nquads",
}

# SPARQL 1.1 Service Description §3.2-3.4: the subclasses (a Dataset is a GraphCollection), the instances
# the vocabulary defines, and each property's domain and range ("IRI": any IRI; "literal": a literal).
SUBCLASSES = {
    SD.Dataset: SD.GraphCollection,
    SD.Language: SD.Feature,
    SD.Function: SD.Feature,
    SD.Aggregate: SD.Feature,
    SD.LanguageExtension: SD.Feature,
}
INSTANCES = {
    SD.SPARQL10Query: SD.Language,
    SD.SPARQL11Query: SD.Language,
    SD.SPARQL11Update: SD.Language,
    SD.DereferencesURIs: SD.Feature,
    SD.UnionDefaultGraph: SD.Feature,
    SD.RequiresDataset: SD.Feature,
    SD.EmptyGraphs: SD.Feature,
    SD.BasicFederatedQuery: SD.Feature,
}
PROPERTIES: dict[URIRef, tuple[URIRef, URIRef | str]] = {
    SD.endpoint: (SD.Service, "IRI"),
    SD.feature: (SD.Service, SD.Feature),
    SD.defaultEntailmentRegime: (SD.Service, SD.EntailmentRegime),
    SD.entailmentRegime: (SD.NamedGraph, SD.EntailmentRegime),
    SD.defaultSupportedEntailmentProfile: (SD.Service, SD.EntailmentProfile),
    SD.supportedEntailmentProfile: (SD.NamedGraph, SD.EntailmentProfile),
    SD.extensionFunction: (SD.Service, SD.Function),
    SD.extensionAggregate: (SD.Service, SD.Aggregate),
    SD.languageExtension: (SD.Service, SD.LanguageExtension),
    SD.supportedLanguage: (SD.Service, SD.Language),
    SD.propertyFeature: (SD.Service, "IRI"),
    SD.defaultDataset: (SD.Service, SD.Dataset),
    SD.availableGraphs: (SD.Service, SD.GraphCollection),
    SD.resultFormat: (SD.Service, "IRI"),
    SD.inputFormat: (SD.Service, "IRI"),
    SD.defaultGraph: (SD.Dataset, SD.Graph),
    SD.namedGraph: (SD.GraphCollection, SD.NamedGraph),
    SD.name: (SD.NamedGraph, "IRI"),
    SD.graph: (SD.NamedGraph, SD.Graph),
}
CLASSES = {
    SD.Service,
    SD.Feature,
    SD.Language,
    SD.Function,
    SD.Aggregate,
    SD.LanguageExtension,
    SD.GraphCollection,
    SD.Dataset,
    SD.Graph,
    SD.NamedGraph,
    SD.EntailmentRegime,
    SD.EntailmentProfile,
}


def describe(endpoint: str, accept: str | None = None) -> tuple[requests.Response, Graph]:
    """A bare GET on the endpoint (no query): the service description, parsed by rdflib."""
    response = requests.get(endpoint, headers={"Accept": accept} if accept else {}, timeout=TIMEOUT_S)
    assert response.status_code == 200, response.text[:300]
    fmt = response.headers["Content-Type"].split(";")[0].strip()
    assert fmt in RDF_TYPES, f"the description came as {fmt}"
    graph = Graph().parse(data=response.content, format=RDF_TYPES[fmt])
    assert len(graph) > 0
    return response, graph


def is_a(graph: Graph, node: Node, cls: URIRef) -> bool:
    """``node`` is a ``cls``: typed so (or as its subclass), one of the vocabulary's instances of it, or, for an
    entailment regime, a regime IRI of the W3C entailment namespace (§3.2.5)."""
    types = {t for t in graph.objects(node, RDF.type) if isinstance(t, URIRef)}
    if isinstance(node, URIRef) and node in INSTANCES:
        types.add(INSTANCES[node])
    types |= {SUBCLASSES[t] for t in types if t in SUBCLASSES}
    if cls == SD.EntailmentRegime and str(node).startswith(ENTAILMENT):
        return True
    return cls in types


def returns_rdf(endpoint: str) -> None:
    for accept in (None, "application/rdf+xml, text/turtle", *RDF_TYPES):
        describe(endpoint, accept)


def has_endpoint_triple(endpoint: str) -> None:
    _, graph = describe(endpoint)
    services = set(graph.subjects(SD.endpoint, URIRef(endpoint)))
    assert services, f"no sd:endpoint <{endpoint}>"
    assert all(is_a(graph, service, SD.Service) for service in services)


def conforms_to_schema(endpoint: str) -> None:
    _, graph = describe(endpoint)
    problems = []
    for s, p, o in graph:
        if p == RDF.type and str(o).startswith(str(SD)):
            if o not in CLASSES:
                problems.append(f"{o} is not a class of the vocabulary")
            continue
        if not isinstance(p, URIRef) or not str(p).startswith(str(SD)):
            continue
        if p not in PROPERTIES:
            problems.append(f"{p} is not a property of the vocabulary")
            continue
        domain, range_ = PROPERTIES[p]
        if not is_a(graph, s, domain):
            problems.append(f"{s.n3()} {p.n3()}: the subject is not a {domain.n3()}")
        if range_ == "IRI" and not isinstance(o, URIRef):
            problems.append(f"{s.n3()} {p.n3()} {o.n3()}: the value is not an IRI")
        elif isinstance(range_, URIRef) and (isinstance(o, Literal) or not is_a(graph, o, range_)):
            problems.append(f"{s.n3()} {p.n3()} {o.n3()}: the value is not a {range_.n3()}")
    for named in graph.subjects(RDF.type, SD.NamedGraph):
        if len(set(graph.objects(named, SD.name))) != 1:
            problems.append(f"{named.n3()}: a named graph has exactly one sd:name")
    assert SD.SPARQL11Query in set(graph.objects(None, SD.supportedLanguage))
    assert all(str(f).startswith(FORMATS) for f in graph.objects(None, SD.resultFormat))
    assert not problems, "\n".join(problems)


TESTS: dict[str, Callable[[str], None]] = {
    "returns-rdf": returns_rdf,
    "has-endpoint-triple": has_endpoint_triple,
    "conforms-to-schema": conforms_to_schema,
}


def _params() -> list[object]:
    return [test.name for test in load_suite("service-description")]


@pytest.mark.parametrize("name", params_or_missing(_params))
def test_service_description(w3c_endpoint: str, name: str) -> None:
    assert name in TESTS, f"service description test {name} has no check"
    TESTS[name](w3c_endpoint)
