"""``/sparql`` on a live server (gunicorn on loopback): the W3C SPARQL 1.1 Protocol cases adapted to our
data, every result format read back by an independent parser, SPARQLWrapper, CORS, the service
description, refused updates, SSRF probes and the timeout."""

from __future__ import annotations

import csv
import io
import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pyoxigraph as ox
import pytest
import requests
from rdflib import Graph, Literal, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import RDF
from rdflib.query import Result
from requests.structures import CaseInsensitiveDict
from SPARQLWrapper import CSV, JSON, JSONLD, N3, POST, RDFXML, TSV, TURTLE, XML, SPARQLWrapper

from ceopgraph.conneg import RDF_FORMATS, RdfFormat
from ceopgraph.namespaces import SD
from ceopgraph.store.embedded import EmbeddedStore
from ceopgraph.web.sparql import FORMAT_IRIS

from .listener import Listener
from .live import CAPPED_ROWS, LiveServer, running_server

G = "https://w3id.org/ceopgraph/data/graph/"
ID = "https://w3id.org/ceopgraph/id/"
CLAIM = f"<{ID}claim/children-reached>"
QUOTATION = f"<{ID}quotation/past-year>"
COSTLY = "SELECT (COUNT(*) AS ?n) { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
SELECT = """PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?s ?label ?n WHERE {
  ?s rdfs:label ?label .
  OPTIONAL { ?s <http://purl.org/linked-data/sdmx/2009/measure#obsValue> ?n }
} ORDER BY ?s ?label"""
CONSTRUCT = """CONSTRUCT { ?s ?p ?o } WHERE { GRAPH <https://w3id.org/ceopgraph/data/graph/quotations> { ?s ?p ?o } }"""


@pytest.fixture(scope="module")
def endpoint(live_server: LiveServer) -> str:
    return live_server.url + "sparql"


# W3C SPARQL 1.1 Protocol test suite (w3c/rdf-tests sparql/sparql11/protocol), query side, adapted ------


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    params: list[tuple[str, str]] = field(default_factory=list)
    content_type: str | None = None
    body: bytes = b""
    status: int = 200  # the exact status we answer (the suite asks for 2xx or 4xx)
    boolean: bool | None = None
    kind: str | None = None  # "boolean", "tabular" or "rdf": what the answer must parse as


def q(text: str) -> bytes:
    return ("query=" + quote(text)).encode()


W3C_CASES = [
    Case("query_post_form", "POST", [("default-graph-uri", G + "claims")], "application/x-www-form-urlencoded",
         q("ASK {}"), boolean=True),
    Case("query_dataset_default_graphs_get", "GET",
         [("query", f"ASK {{ {CLAIM} a ?type . {QUOTATION} a ?type2 }}"),
          ("default-graph-uri", G + "claims"), ("default-graph-uri", G + "quotations")], boolean=True),
    Case("query_dataset_default_graphs_get (one graph only)", "GET",
         [("query", f"ASK {{ {CLAIM} a ?type . {QUOTATION} a ?type2 }}"), ("default-graph-uri", G + "claims")],
         boolean=False),
    Case("query_dataset_default_graphs_post", "POST",
         [("default-graph-uri", G + "claims"), ("default-graph-uri", G + "quotations")], "application/sparql-query",
         f"ASK {{ {CLAIM} a ?type . {QUOTATION} a ?type2 }}".encode(), boolean=True),
    Case("query_dataset_named_graphs_post", "POST",
         [("named-graph-uri", G + "claims"), ("named-graph-uri", G + "quotations")], "application/sparql-query",
         f"ASK {{ GRAPH ?g1 {{ {CLAIM} a ?type }} GRAPH ?g2 {{ {QUOTATION} a ?type2 }} }}".encode(), boolean=True),
    Case("query_dataset_named_graphs_get", "GET",
         [("query", f"ASK {{ GRAPH ?g1 {{ {CLAIM} a ?type }} GRAPH ?g2 {{ {QUOTATION} a ?type2 }} }}"),
          ("named-graph-uri", G + "claims"), ("named-graph-uri", G + "quotations")], boolean=True),
    Case("query_dataset_full", "POST",
         [("default-graph-uri", G + "figures"), ("named-graph-uri", G + "claims"),
          ("named-graph-uri", G + "quotations")], "application/sparql-query",
         (f"ASK {{ ?obs a <http://purl.org/linked-data/cube#Observation> "
          f"GRAPH ?g1 {{ {CLAIM} a ?type }} GRAPH ?g2 {{ {QUOTATION} a ?type2 }} }}").encode(), boolean=True),
    Case("query_multiple_dataset (the protocol dataset wins over FROM)", "POST",
         [("default-graph-uri", G + "claims")], "application/sparql-query",
         f"ASK FROM <{G}threat-areas> {{ {CLAIM} a ?type }}".encode(), boolean=True),
    Case("query_get", "GET", [("query", "ASK {}"), ("default-graph-uri", G + "claims")], boolean=True),
    Case("query_content_type_select", "POST", [], "application/sparql-query", b"SELECT (1 AS ?value) {}",
         kind="tabular"),
    Case("query_content_type_ask", "POST", [], "application/sparql-query", b"ASK {}", kind="boolean"),
    Case("query_content_type_describe", "POST", [], "application/sparql-query",
         f"DESCRIBE {QUOTATION}".encode(), kind="rdf"),
    Case("query_content_type_construct", "POST", [], "application/sparql-query",
         b"CONSTRUCT { <http://example.org/s> <http://example.org/p> 1 } WHERE {}", kind="rdf"),
    Case("query_post_direct", "POST", [], "application/sparql-query", b"ASK {}", boolean=True),
    Case("bad_query_method", "PUT", [("query", "ASK {}")], "application/x-www-form-urlencoded", status=405),
    Case("bad_multiple_queries", "GET", [("query", "ASK {}"), ("query", "SELECT * {}")], status=400),
    Case("bad_query_wrong_media_type", "POST", [], "text/plain", b"ASK {}", status=415),
    Case("bad_query_missing_form_type", "POST", [], None, q("ASK {}"), status=415),
    Case("bad_query_missing_direct_type", "POST", [], None, b"ASK {}", status=415),
    Case("bad_query_non_utf8", "POST", [], "application/sparql-query; charset=UTF-16", "ASK {}".encode("utf-16"),
         status=415),
    Case("bad_query_syntax", "GET", [("query", "ASK {")], status=400),
    # The update cases: this endpoint is read-only, so each is refused and changes nothing.
    Case("bad_update_get", "GET", [("update", "CLEAR ALL")], status=403),
    Case("bad_multiple_updates", "POST", [], "application/x-www-form-urlencoded",
         b"update=CLEAR%20NAMED&update=CLEAR%20DEFAULT", status=403),
    Case("bad_update_wrong_media_type", "POST", [], "text/plain", b"CLEAR NAMED", status=415),
    Case("bad_update_missing_form_type", "POST", [], None, b"update=CLEAR%20NAMED", status=415),
    Case("bad_update_non_utf8", "POST", [], "application/sparql-update; charset=UTF-16",
         "CLEAR NAMED".encode("utf-16"), status=403),
    Case("bad_update_syntax", "POST", [], "application/sparql-update", b"INSERT DATA { <s> <p> }", status=403),
    Case("bad_update_dataset_conflict", "POST", [("using-graph-uri", G + "claims")], "application/sparql-update",
         b"CLEAR ALL", status=403),
    Case("update_post_form", "POST", [], "application/x-www-form-urlencoded", b"update=CLEAR%20ALL", status=403),
    Case("update_post_direct", "POST", [], "application/sparql-update", b"DROP ALL", status=403),
    Case("update sent as a query", "POST", [], "application/sparql-query", b"CLEAR ALL", status=403),
    Case("LOAD sent as a query", "GET", [("query", "LOAD <http://127.0.0.1:9/x.ttl>")], status=403),
]  # fmt: skip


def send(endpoint: str, case: Case, accept: str | None = None) -> requests.Response:
    headers = {"Content-Type": case.content_type} if case.content_type else {}
    if accept:
        headers["Accept"] = accept
    return requests.request(case.method, endpoint, params=case.params, data=case.body, headers=headers, timeout=10)


@pytest.mark.parametrize("case", W3C_CASES, ids=lambda c: c.name)
def test_w3c_protocol_case(endpoint: str, case: Case) -> None:
    answer = send(endpoint, case)
    assert answer.status_code == case.status, answer.text
    if case.status >= 400:
        # A short message saying what is wrong; never a stack trace.
        assert answer.headers["Content-Type"].startswith("text/plain")
        assert 10 < len(answer.text) < 400 and "Traceback" not in answer.text
        return
    media_type = answer.headers["Content-Type"].split(";")[0]
    if case.boolean is not None:
        assert answer.json()["boolean"] is case.boolean
    if case.kind == "boolean":
        assert media_type in ("application/sparql-results+json", "application/sparql-results+xml")
        assert answer.json()["boolean"] is True
    if case.kind == "tabular":
        assert answer.json()["results"]["bindings"][0]["value"]["value"] == "1"
    if case.kind == "rdf":
        assert media_type == "text/turtle"
        assert len(Graph().parse(data=answer.text, format="turtle")) > 0


def test_updates_changed_nothing(endpoint: str, built_store: EmbeddedStore) -> None:
    for case in W3C_CASES:
        if "update" in case.name:
            send(endpoint, case)
    count = requests.get(endpoint, params={"query": "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }"}, timeout=10).json()
    expected = built_store.select("SELECT (COUNT(*) AS ?n) { ?s ?p ?o }")[0]["n"]
    assert int(count["results"]["bindings"][0]["n"]["value"]) == int(expected)  # type: ignore[call-overload]  # a count Literal


# Every result format, read back by an independent parser and compared with the engine's answer -------------


def engine_rows(built_store: EmbeddedStore) -> list[tuple[str | None, ...]]:
    rows = built_store.select(SELECT)
    return sorted(tuple(None if row.get(v) is None else str(row[v]) for v in ("s", "label", "n")) for row in rows)


def parsed_rows(media_type: str, body: bytes) -> list[tuple[str | None, ...]]:
    if media_type == "application/sparql-results+json":
        bindings = json.loads(body)["results"]["bindings"]
        return sorted(tuple(b[v]["value"] if v in b else None for v in ("s", "label", "n")) for b in bindings)
    if media_type == "text/csv":
        reader = csv.DictReader(io.StringIO(body.decode()))
        return sorted(tuple(r[v] or None for v in ("s", "label", "n")) for r in reader)
    fmt = {"application/sparql-results+xml": "xml", "text/tab-separated-values": "tsv"}[media_type]
    result = Result.parse(io.BytesIO(body), format=fmt)
    # A SELECT's rows are ResultRows; rdflib types them as any query's result.
    return sorted(tuple(None if row[v] is None else str(row[v]) for v in ("s", "label", "n")) for row in result)  # type: ignore[index, call-overload]


@pytest.mark.parametrize(
    "media_type",
    ["application/sparql-results+json", "application/sparql-results+xml", "text/csv", "text/tab-separated-values"],
)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_select_in_every_results_format(
    endpoint: str, built_store: EmbeddedStore, media_type: str, method: str
) -> None:
    if method == "GET":
        answer = requests.get(endpoint, params={"query": SELECT}, headers={"Accept": media_type}, timeout=10)
    else:
        answer = requests.post(endpoint, data={"query": SELECT}, headers={"Accept": media_type}, timeout=10)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].split(";")[0] == media_type
    expected = engine_rows(built_store)
    assert len(expected) > 20
    assert parsed_rows(media_type, answer.content) == expected


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_ask_in_both_results_formats(endpoint: str, fmt: str) -> None:
    for query, expected in ((f"ASK {{ {QUOTATION} ?p ?o }}", True), ("ASK { <http://example.org/none> ?p ?o }", False)):
        answer = requests.get(endpoint, params={"query": query, "format": fmt}, timeout=10)
        assert answer.status_code == 200
        assert Result.parse(io.BytesIO(answer.content), format=fmt).askAnswer is expected


@pytest.mark.parametrize(
    ("media_type", "rdflib_format"),
    [
        ("text/turtle", "turtle"),
        ("application/n-triples", "nt"),
        ("application/ld+json", "json-ld"),
        ("application/rdf+xml", "xml"),
        ("application/trig", "trig"),
        ("application/n-quads", "nquads"),
    ],
)
def test_construct_in_every_rdf_format(
    endpoint: str, built_store: EmbeddedStore, media_type: str, rdflib_format: str
) -> None:
    answer = requests.get(endpoint, params={"query": CONSTRUCT}, headers={"Accept": media_type}, timeout=10)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].split(";")[0] == media_type
    if rdflib_format in ("trig", "nquads"):
        from rdflib import Dataset

        parsed = Dataset()
        parsed.parse(data=answer.content, format=rdflib_format)
        graph = Graph()
        for s, p, o, _ in parsed.quads():
            graph.add((s, p, o))
    else:
        graph = Graph().parse(data=answer.content, format=rdflib_format)
    expected = built_store.construct(CONSTRUCT)
    assert len(expected) > 10
    assert isomorphic(graph, expected)


def test_describe_a_resource(endpoint: str) -> None:
    answer = requests.get(endpoint, params={"query": f"DESCRIBE {QUOTATION}", "format": "ntriples"}, timeout=10)
    graph = Graph().parse(data=answer.text, format="nt")
    assert (URIRef(QUOTATION[1:-1]), RDF.type, URIRef("http://schema.org/Quotation")) in graph


# SPARQLWrapper, every return format, both methods ----------------------------------------------------


@pytest.mark.parametrize("method", ["GET", POST])
@pytest.mark.parametrize("return_format", [JSON, XML, CSV, TSV])
def test_sparqlwrapper_select(endpoint: str, built_store: EmbeddedStore, method: str, return_format: str) -> None:
    client = SPARQLWrapper(endpoint, returnFormat=return_format)
    client.setMethod(method)
    client.setQuery(SELECT)
    result = client.query()
    media_type = result.response.headers["Content-Type"].split(";")[0]
    body = result.response.read()
    assert parsed_rows(media_type, body) == engine_rows(built_store)


@pytest.mark.parametrize("method", ["GET", POST])
@pytest.mark.parametrize("return_format", [TURTLE, N3, RDFXML, XML, JSONLD])
def test_sparqlwrapper_construct(endpoint: str, built_store: EmbeddedStore, method: str, return_format: str) -> None:
    client = SPARQLWrapper(endpoint, returnFormat=return_format)
    client.setMethod(method)
    client.setQuery(CONSTRUCT)
    converted = client.queryAndConvert()
    graph = converted if isinstance(converted, Graph) else Graph().parse(data=converted, format="turtle")  # type: ignore[arg-type]  # Turtle text
    assert isomorphic(graph, built_store.construct(CONSTRUCT))


@pytest.mark.parametrize("method", ["GET", POST])
def test_sparqlwrapper_ask(endpoint: str, method: str) -> None:
    client = SPARQLWrapper(endpoint, returnFormat=JSON)
    client.setMethod(method)
    client.setQuery(f"ASK {{ {QUOTATION} ?p ?o }}")
    assert client.queryAndConvert()["boolean"] is True  # type: ignore[index, call-overload]  # JSON asked: a dict


# CORS, caching, limits --------------------------------------------------------------------------------


def test_cors_on_answers_and_preflight(endpoint: str) -> None:
    answer = requests.get(endpoint, params={"query": "ASK {}"}, headers={"Origin": "https://elsewhere.example"})
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in answer.headers
    preflight = requests.options(
        endpoint,
        headers={
            "Origin": "https://elsewhere.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
        timeout=10,
    )
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "content-type" in preflight.headers["Access-Control-Allow-Headers"].lower()
    assert "Access-Control-Allow-Credentials" not in preflight.headers


def test_conditional_get(endpoint: str) -> None:
    first = requests.get(endpoint, params={"query": SELECT}, timeout=10)
    assert first.headers["ETag"] and "public" in first.headers["Cache-Control"]
    again = requests.get(endpoint, params={"query": SELECT}, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and not again.content


DIRECT = {"Content-Type": "application/sparql-query"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.mark.parametrize(
    ("request_args", "status"),
    [
        ({"method": "POST", "data": b"ASK {" + b" " * 70_000 + b"}", "headers": DIRECT}, 413),
        ({"method": "POST", "data": {"query": "ASK {" + " " * 70_000 + "}"}}, 413),
        ({"method": "GET", "params": {"query": "ASK { ?s ?p ?o "}}, 400),
        ({"method": "GET", "params": {"query": "ASK {}", "format": "png"}}, 400),
        ({"method": "GET", "params": {"query": "ASK {}"}, "headers": {"Accept": "image/png"}}, 406),
        ({"method": "GET", "params": {"query": "SELECT (<http://ex/f>(1) AS ?x) {}"}}, 400),
        ({"method": "GET", "params": {"query": "ASK {}", "default-graph-uri": "javascript:alert(1) x"}}, 400),
        ({"method": "POST", "data": b"query=%FF", "headers": FORM}, 400),
        ({"method": "POST", "data": b"\xff\xfe", "headers": DIRECT}, 400),
        ({"method": "DELETE", "params": {"query": "ASK {}"}}, 405),
    ],
)  # fmt: skip
def test_malformed_input_is_never_a_server_error(endpoint: str, request_args: dict[str, object], status: int) -> None:
    answer = requests.request(url=endpoint, timeout=10, **request_args)  # type: ignore[arg-type]
    assert answer.status_code == status, answer.text
    assert "Traceback" not in answer.text
    assert answer.headers["Access-Control-Allow-Origin"] == "*"  # a browser tool can read the reason


def test_row_cap_is_signalled(capped_server: LiveServer) -> None:
    answer = requests.get(capped_server.url + "sparql", params={"query": "SELECT * { ?s ?p ?o }"}, timeout=10)
    assert CAPPED_ROWS == 25 and answer.headers["X-SPARQL-MaxRows"] == "25"
    assert len(answer.json()["results"]["bindings"]) == 25
    small = requests.get(capped_server.url + "sparql", params={"query": "SELECT * { ?s ?p ?o } LIMIT 3"}, timeout=10)
    assert "X-SPARQL-MaxRows" not in small.headers


# The service description --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "fmt"), [("text/turtle", "turtle"), ("application/rdf+xml", "xml"), ("*/*", "turtle")]
)
def test_service_description(endpoint: str, built_store: EmbeddedStore, accept: str, fmt: str) -> None:
    answer = requests.get(endpoint, headers={"Accept": accept}, timeout=10)
    assert answer.status_code == 200
    sd = Graph().parse(data=answer.content, format=fmt)
    service = URIRef(endpoint)
    assert (service, RDF.type, SD.Service) in sd
    assert (service, SD.endpoint, service) in sd
    assert (service, SD.supportedLanguage, SD.SPARQL11Query) in sd
    formats = set(sd.objects(service, SD.resultFormat))
    assert URIRef("http://www.w3.org/ns/formats/SPARQL_Results_JSON") in formats
    assert URIRef("http://www.w3.org/ns/formats/Turtle") in formats
    dataset = sd.value(service, SD.defaultDataset)
    names = {sd.value(named, SD.name) for named in sd.objects(dataset, SD.namedGraph)}
    assert names == set(built_store.graphs())
    assert sd.value(dataset, SD.defaultGraph) is not None


@pytest.mark.parametrize("fmt", RDF_FORMATS, ids=lambda f: f.name)
def test_service_description_in_every_advertised_format_in_the_default_graph(endpoint: str, fmt: RdfFormat) -> None:
    """Comunica asks for N-Quads first (it was a 500); Jena reads TriG's triples into the default graph
    only when no graph block holds them (they sat in a blank-node graph)."""
    answer = requests.get(endpoint, headers={"Accept": fmt.media_type}, timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"].startswith(fmt.media_type)
    quads = list(ox.parse(answer.content, format=getattr(ox.RdfFormat, fmt.oxigraph_name)))
    service = ox.NamedNode(endpoint)
    assert ox.Quad(service, ox.NamedNode(str(RDF.type)), ox.NamedNode(str(SD.Service)), ox.DefaultGraph()) in quads
    assert all(q.graph_name == ox.DefaultGraph() for q in quads)
    # Every advertised format reaches this server's own service description.
    advertised = {q.object for q in quads if q.predicate == ox.NamedNode(str(SD.resultFormat))}
    assert ox.NamedNode(f"http://www.w3.org/ns/formats/{FORMAT_IRIS[fmt.name]}") in advertised


@pytest.mark.parametrize("fmt", RDF_FORMATS, ids=lambda f: f.name)
def test_service_description_is_the_same_bytes_from_every_worker(endpoint: str, fmt: RdfFormat) -> None:
    """Blank nodes once had random labels: the two workers answered different bytes."""
    bodies = set()
    for _ in range(6):  # a new connection each time: both workers answer some
        answer = requests.get(endpoint, headers={"Accept": fmt.media_type, "Connection": "close"}, timeout=10)
        bodies.add(answer.content)
    assert len(bodies) == 1


@pytest.mark.parametrize(
    ("params", "accept"),
    [
        (None, "text/turtle"),
        (None, "application/n-quads"),
        (None, "text/html"),
        ({"query": "ASK { ?s ?p ?o } # head-first"}, "application/sparql-results+json"),
        ({"query": "SELECT ?s { ?s a ?type } LIMIT 3 # head-first"}, "text/csv"),
    ],
)
def test_head_answers_as_get_without_a_body(endpoint: str, params: dict[str, str] | None, accept: str) -> None:
    """HEAD was refused (400) although the preflight advertised it. The first HEAD of a query reaches
    the app (nothing is recorded yet); the HEAD after the GET is replayed from the recorded GET."""
    headers = {"Accept": accept}
    first_head = requests.head(endpoint, params=params, headers=headers, timeout=10)
    full = requests.get(endpoint, params=params, headers=headers, timeout=10)
    replayed_head = requests.head(endpoint, params=params, headers=headers, timeout=10)
    assert full.status_code == 200 and full.content
    for head in (first_head, replayed_head):
        assert head.status_code == full.status_code
        assert head.content == b""
        assert head.headers.get("Content-Length") in (None, full.headers.get("Content-Length"))
        assert _comparable(head.headers) == _comparable(full.headers)
    if params is not None:
        assert first_head.headers["ETag"] == full.headers["ETag"]


def _comparable(headers: CaseInsensitiveDict[str]) -> dict[str, str]:
    """The headers a HEAD must share with its GET: all but the time, the timing and the length."""
    return {k.lower(): v for k, v in headers.items() if k.lower() not in ("date", "server-timing", "content-length")}


def test_browsers_get_the_editor_page(endpoint: str) -> None:
    answer = requests.get(endpoint, headers={"Accept": "text/html,*/*;q=0.8"}, timeout=10)
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/html")
    assert "<script>" not in answer.text  # no inline script: page code is a static file
    assert "script-src 'self'" in answer.headers["Content-Security-Policy"]
    for asset in ("/sparql/editor/yasgui.min.js", "/sparql/editor/yasgui.min.css", "/static/sparql.js"):
        assert asset in answer.text
        assert requests.get(endpoint.removesuffix("/sparql") + asset, timeout=10).status_code == 200


# No outbound network ----------------------------------------------------------------------------------


def ssrf_probes(target: str) -> list[tuple[str, dict[str, str]]]:
    return [
        (f"SELECT * {{ SERVICE <{target}> {{ ?s ?p ?o }} }}", {}),
        (f"SELECT * {{ SERVICE SILENT <{target}sparql> {{ ?s ?p ?o }} }}", {}),
        (f"SELECT * {{ \\u0053ERVICE <{target}> {{ ?s ?p ?o }} }}", {}),
        (f"SELECT * {{ BIND(<{target}> AS ?where) SERVICE ?where {{ ?s ?p ?o }} }}", {}),
        (f"SELECT * FROM <{target}data.ttl> {{ ?s ?p ?o }}", {}),
        (f"SELECT * FROM NAMED <{target}data.ttl> {{ GRAPH ?g {{ ?s ?p ?o }} }}", {}),
        ("SELECT * { ?s ?p ?o }", {"default-graph-uri": f"{target}data.ttl"}),
        ("SELECT * { GRAPH ?g { ?s ?p ?o } }", {"named-graph-uri": f"{target}data.ttl"}),
        (f"LOAD <{target}data.ttl>", {}),
        (f"DESCRIBE <{target}thing>", {}),
        (f"SELECT * {{ <{target}thing> ?p ?o }}", {}),
    ]


def test_no_probe_reaches_the_network(endpoint: str, listener: Listener) -> None:
    statuses = []
    for query, params in ssrf_probes(listener.url):
        answer = requests.get(endpoint, params={"query": query, **params}, timeout=10)
        statuses.append(answer.status_code)
        assert answer.status_code < 500
        if answer.status_code == 200:  # answered from the store only: nothing there about the listener
            assert "@context" not in answer.text
    assert statuses[:4] == [400, 400, 400, 400]  # SERVICE in any spelling
    time.sleep(0.2)
    assert listener.requests == 0, listener.paths


def test_the_listener_would_have_seen_a_request(listener: Listener) -> None:
    """The probe above is meaningful: the engine itself does federate SERVICE when asked directly."""
    import pyoxigraph

    with pytest.raises(RuntimeError, match="Content-Type"):  # the listener answers JSON-LD, not SPARQL results
        list(pyoxigraph.Store().query(f"SELECT * {{ SERVICE <{listener.url}> {{ ?s ?p ?o }} }}"))  # type: ignore[arg-type]  # a SELECT's solutions
    assert listener.requests == 1


# The timeout, with a concurrent query ----------------------------------------------------------------


def test_timeout_answers_503_and_others_keep_being_answered(tmp_path: Path, built_dist: Path) -> None:
    env = {"CEOPGRAPH_QUERY_TIMEOUT_S": "2"}
    log = tmp_path / "server.log"
    with running_server(["--dist", str(built_dist), "--workers", "1", "--threads", "4"], log, env) as server:
        url = server.url + "sparql"
        outcome: dict[str, object] = {}

        def costly() -> None:
            started = time.monotonic()
            answer = requests.get(url, params={"query": COSTLY}, timeout=30)
            outcome["status"], outcome["text"] = answer.status_code, answer.text
            outcome["answered"] = moment = time.monotonic()
            outcome["elapsed"] = moment - started

        thread = threading.Thread(target=costly)
        thread.start()
        time.sleep(0.3)
        answered = []
        for i in range(10):
            quick = requests.get(url, params={"query": f"ASK {{ ?s ?p {i} }}"}, timeout=10)
            answered.append(time.monotonic())
            assert quick.status_code == 200
        thread.join()
        # Cheap queries never queue behind the costly one: they are answered while it still runs (one queued
        # behind it could only be answered once it was stopped at its 2 s limit). The order of events, not a
        # latency bound, so a busy machine does not decide it.
        costly_answered = float(outcome["answered"])  # type: ignore[arg-type]
        assert answered[0] < costly_answered, (answered, costly_answered)
        assert sum(moment < costly_answered for moment in answered) >= 5, (answered, costly_answered)
        assert outcome["status"] == 503
        assert "longer than the 2 s limit" in str(outcome["text"])
        assert 1.9 < float(outcome["elapsed"]) < 4  # type: ignore[arg-type]
        # The killed worker was replaced: the server still answers, costly queries too (and stop again).
        assert requests.get(url, params={"query": "ASK {}"}, timeout=10).status_code == 200
        assert requests.get(url, params={"query": COSTLY + " # again"}, timeout=30).status_code == 503
    lines = [line for line in log.read_text().splitlines() if "ceopgraph.access" in line]
    assert any('"GET /sparql" 503' in line and "query=" in line for line in lines)


def test_access_log_has_method_path_status_time_and_query_hash(endpoint: str, live_server: LiveServer) -> None:
    answer = requests.get(endpoint, params={"query": "ASK { ?s ?p 'access log' }"}, timeout=10)
    query_hash = answer.headers["X-Query-Hash"]
    time.sleep(0.2)
    line = next(line for line in live_server.log.read_text().splitlines() if query_hash in line)
    assert '"GET /sparql" 200' in line and "ms query=" in line
    assert "access log" not in line  # the hash, never the query


def test_literal_values_survive_a_round_trip(endpoint: str) -> None:
    text = 'tab\there, newline\nthere, quote " and ünïcödé'
    literal = Literal(text, lang="en")
    query = f"SELECT ?x {{ BIND({literal.n3()} AS ?x) }}"
    for fmt in ("json", "xml", "tsv"):
        answer = requests.get(endpoint, params={"query": query, "format": fmt}, timeout=10)
        row = next(iter(Result.parse(io.BytesIO(answer.content), format=fmt)))
        assert row[0] == literal, fmt  # type: ignore[index]  # a SELECT's row
