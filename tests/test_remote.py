"""The front end over a remote SPARQL 1.1 store answers as it does over the embedded one.

Each backend kind (Oxigraph server, Virtuoso) is started on loopback, the dataset published into it,
and the same requests are made of an app over the embedded store and an app over ``RemoteStore``.
Two differences are the stores' own and are normalised away: Virtuoso writes ``"85"^^xsd:decimal``
back as ``"85"^^xsd:integer`` (numbers are compared by value), and both lower-case language tags.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from rdflib import Dataset, Graph, Literal, URIRef
from rdflib.namespace import XSD
from rdflib.term import Node

from ceopgraph.config import Settings
from ceopgraph.conneg import rdf_format_for_media_type
from ceopgraph.publish import Target, publish
from ceopgraph.sparqltext import read_dataset_clauses
from ceopgraph.store.client import Credentials
from ceopgraph.store.embedded import EmbeddedStore
from ceopgraph.store.jobs import QueryJob
from ceopgraph.store.remote import RemoteStore
from ceopgraph.web.app import create_app
from ceopgraph.web.services import close_app

from .stores import STORE_KINDS, VIRTUOSO_PASSWORD, VIRTUOSO_USER, StoreProcess, VirtuosoServer, make_store

NUMERIC = {str(XSD[t]) for t in ("integer", "decimal", "double", "float", "int", "long", "nonNegativeInteger")}


def normal(term: Node) -> object:
    """A term as both stores must agree on it: numbers by value, language tags in lower case."""
    if isinstance(term, Literal):
        if term.datatype is not None and str(term.datatype) in NUMERIC:
            return ("number", Decimal(str(term)))
        return ("literal", str(term), (term.language or "").lower(), str(term.datatype or ""))
    return term


def normal_graph(graph: Graph) -> set[tuple[object, ...]]:
    return {tuple(normal(t) for t in triple) for triple in graph}


@pytest.fixture(scope="module", params=STORE_KINDS)
def published(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, dataset: Dataset, settings: Settings
) -> Iterator[StoreProcess]:
    """A store of each kind, started and holding the dataset."""
    store = make_store(request.param, tmp_path_factory.mktemp(request.param))
    store.start()
    try:
        credentials = Credentials(VIRTUOSO_USER, VIRTUOSO_PASSWORD) if isinstance(store, VirtuosoServer) else None
        target = Target(store.query_url, update_url=store.update_url, credentials=credentials)
        assert publish(dataset, target, prefix(settings)).verified
        yield store
    finally:
        store.stop()


def prefix(settings: Settings) -> str:
    return str(settings.scheme.graph)


@pytest.fixture(scope="module")
def remote(published: StoreProcess, settings: Settings) -> RemoteStore:
    return RemoteStore(published.query_url, prefix(settings), timeout_s=10)


# The Store protocol -------------------------------------------------------------------------------


def test_graphs_and_version(remote: RemoteStore, built_store: EmbeddedStore) -> None:
    assert remote.graphs() == built_store.graphs()
    assert remote.version == remote.version  # stable while the data is


def test_select_with_bound_values(remote: RemoteStore, built_store: EmbeddedStore, settings: Settings) -> None:
    query = "SELECT ?s ?p (COUNT(*) AS ?n) WHERE { ?s ?p ?o } GROUP BY ?s ?p"
    subject = {"s": URIRef(settings.base_uri + "id/organisation/ceop")}

    def rows(store: Any) -> set[tuple[object, ...]]:
        return {tuple(normal(v) for _, v in sorted(row.items())) for row in store.select(query, subject)}

    assert rows(remote) == rows(built_store)
    assert rows(remote)


def test_ask_and_construct(remote: RemoteStore, built_store: EmbeddedStore, settings: Settings) -> None:
    ceop = URIRef(settings.base_uri + "id/organisation/ceop")
    assert remote.ask("ASK { ?s ?p ?o }", {"s": ceop}) is built_store.ask("ASK { ?s ?p ?o }", {"s": ceop}) is True
    assert remote.ask("ASK { ?s ?p ?o }", {"s": URIRef("urn:x:nothing")}) is False
    query = "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }"
    assert normal_graph(remote.construct(query, {"s": ceop})) == normal_graph(built_store.construct(query, {"s": ceop}))


def test_graph_triples(remote: RemoteStore, built_store: EmbeddedStore) -> None:
    for graph in built_store.graphs():
        assert normal_graph(remote.graph_triples(graph)) == normal_graph(built_store.graph_triples(graph))


def test_graphs_that_are_not_ours_stay_invisible(remote: RemoteStore, published: StoreProcess) -> None:
    """Virtuoso holds system graphs; none of them may show through graphs() or GRAPH ?g."""
    rows = remote.select("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }")
    assert {row["g"] for row in rows} == set(remote.graphs())
    job = QueryJob("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }", "SELECT", "json")
    answer = json.loads(remote.execute(job).body)
    assert {b["g"]["value"] for b in answer["results"]["bindings"]} == {str(g) for g in remote.graphs()}
    query = "SELECT (COUNT(*) AS ?n) FROM <http://www.openlinksw.com/schemas/virtrdf#> WHERE { ?s ?p ?o }"
    named = QueryJob(query, "SELECT", "json", query_has_dataset=True, dataset_clauses=read_dataset_clauses(query))
    answer = json.loads(remote.execute(named).body)
    assert answer["results"]["bindings"][0]["n"]["value"] == "0"


# The endpoint's execution path -----------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "xml", "csv", "tsv"])
def test_execute_select_formats_and_row_cap(remote: RemoteStore, fmt: str) -> None:
    job = QueryJob("SELECT ?s WHERE { ?s ?p ?o }", "SELECT", fmt, max_rows=5)
    answer = remote.execute(job)
    assert answer.truncated
    assert answer.body
    if fmt == "json":
        assert len(json.loads(answer.body)["results"]["bindings"]) == 5


@pytest.mark.parametrize("fmt", ["turtle", "ntriples", "jsonld", "rdfxml"])
def test_execute_construct_formats(remote: RemoteStore, built_store: EmbeddedStore, fmt: str) -> None:
    query = "CONSTRUCT { ?s a ?t } WHERE { ?s a ?t }"
    ours = remote.execute(QueryJob(query, "CONSTRUCT", fmt, max_rows=100_000))
    theirs = built_store.execute(QueryJob(query, "CONSTRUCT", fmt, max_rows=100_000))
    from ceopgraph.conneg import FORMATS_BY_NAME
    from ceopgraph.rdfio import parse_rdf

    parsed = [parse_rdf(a.body, FORMATS_BY_NAME[fmt], "answer", 10**8) for a in (ours, theirs)]
    assert normal_graph(parsed[0]) == normal_graph(parsed[1])


def test_execute_refused_query_is_a_syntax_error(remote: RemoteStore) -> None:
    from ceopgraph.store.jobs import QuerySyntaxError

    with pytest.raises(QuerySyntaxError, match="refused"):
        remote.execute(QueryJob("SELECT ?s WHERE { ?s ?p }", "SELECT", "json"))


# The front end over both backends ----------------------------------------------------------------

SELECT_COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
REQUESTS = [
    ("/", "text/html"),
    ("/healthz", "text/plain"),
    ("/sparql?query=" + SELECT_COUNT.replace(" ", "+"), "application/sparql-results+json"),
    ("/sparql?query=SELECT+DISTINCT+?g+WHERE+{+GRAPH+?g+{+?s+?p+?o+}+}", "application/sparql-results+json"),
    ("/sparql?query=CONSTRUCT+{+?s+a+?t+}+WHERE+{+?s+a+?t+}", "text/turtle"),
    ("/sparql?query=ASK+{+?s+?p+?o+}", "application/sparql-results+xml"),
    ("/id/organisation/ceop", "text/turtle"),
    ("/doc/organisation/ceop", "text/turtle"),
    ("/doc/organisation/ceop", "text/html"),
    ("/doc/organisation/ceop", "application/ld+json"),
    ("/def/ceop", "text/turtle"),
    ("/.well-known/void", "text/turtle"),
    ("/doc/organisation/no-such-thing", "text/html"),
]


@pytest.fixture(scope="module")
def apps(remote: RemoteStore, built_store: EmbeddedStore, settings: Settings) -> Iterator[tuple[Flask, Flask]]:
    made = create_app(settings, built_store), create_app(settings, remote)
    yield made
    for app in made:
        close_app(app)


def comparable(body: bytes, media_type: str) -> object:
    """What must be equal between backends: parsed results or graphs, not bytes (order may differ)."""
    essence = media_type.split(";")[0].strip()
    if essence == "text/plain":
        return body
    if essence == "application/sparql-results+json":
        answer = json.loads(body)
        if "boolean" in answer:
            return answer["boolean"]
        return sorted(json.dumps(row, sort_keys=True) for row in answer["results"]["bindings"])
    fmt = rdf_format_for_media_type(essence)
    if fmt is not None and essence != "application/xml":
        from ceopgraph.rdfio import parse_rdf

        return normal_graph(parse_rdf(body, fmt, "answer", 10**8))
    if essence == "text/html":
        return body.count(b"<") > 0  # pages are compared by status and type; their order is the store's
    return body


@pytest.mark.parametrize(("path", "accept"), REQUESTS)
def test_front_end_answers_the_same(apps: tuple[Flask, Flask], path: str, accept: str) -> None:
    answers = [app.test_client().get(path, headers={"Accept": accept}) for app in apps]
    embedded, remote = answers
    assert remote.status_code == embedded.status_code, remote.get_data(as_text=True)[:500]
    assert remote.mimetype == embedded.mimetype
    assert remote.headers.get("Location") == embedded.headers.get("Location")
    if embedded.status_code == 200:
        assert comparable(remote.get_data(), remote.content_type) == comparable(
            embedded.get_data(), embedded.content_type
        )
