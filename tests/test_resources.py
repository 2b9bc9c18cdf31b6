"""Linked data over HTTP (Flask test client): every IRI of our URI space resolves, in every format,
with content negotiation, caching and refusal of hostile paths."""

from __future__ import annotations

import gzip
import json
import re
import urllib.parse
from collections.abc import Callable
from functools import cache
from pathlib import Path

import brotli
import pytest
from flask import Flask
from flask.testing import FlaskClient
from rdflib import BNode, Dataset, Graph, URIRef
from rdflib.namespace import FOAF, RDFS

from ceopgraph import describe
from ceopgraph.build import build_dataset, union_graph, write_dumps
from ceopgraph.config import Settings, load_settings
from ceopgraph.conneg import FORMATS_BY_EXTENSION, RDF_FORMATS

from .apps import LARGE_ANSWER_TIMEOUT_S, embedded_app
from .test_rdfio import bounded

ROOT = Path(__file__).resolve().parents[1]
BASE = load_settings(environ={}, root=ROOT).base_uri
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
RESOURCE_FORMATS = {  # name: (media type, extension, rdflib parser)
    "turtle": ("text/turtle", "ttl", "turtle"),
    "jsonld": ("application/ld+json", "jsonld", "json-ld"),
    "rdfxml": ("application/rdf+xml", "rdf", "xml"),
    "ntriples": ("application/n-triples", "nt", "nt"),
}


@cache
def _union() -> Graph:
    return union_graph(build_dataset(load_settings(environ={}, root=ROOT)))


def subject_iris() -> list[str]:
    """Every subject IRI of the dataset in our URI space (known at collection time, for parametrising)."""
    return sorted({str(s) for s in _union().subjects() if isinstance(s, URIRef) and str(s).startswith(BASE)})


def object_only_iris() -> list[str]:
    subjects = set(subject_iris())
    objects = {str(o) for o in _union().objects() if isinstance(o, URIRef) and str(o).startswith(BASE)}
    return sorted(objects - subjects)


def local_path(iri: str) -> str:
    return "/" + iri[len(BASE) :]


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def get(client: FlaskClient, path: str, accept: str | None = None, **headers: str):  # type: ignore[no-untyped-def]
    if accept is not None:
        headers["Accept"] = accept
    return client.get(path, headers=headers)


# Every IRI resolves --------------------------------------------------------------------------------


def test_the_dataset_has_iris_in_every_part_of_the_uri_space() -> None:
    paths = [local_path(iri) for iri in subject_iris()]
    for space in ("/id/", "/def/", "/data/"):
        assert any(p.startswith(space) for p in paths), space
    assert len(paths) > 150


@pytest.mark.parametrize("fmt", RESOURCE_FORMATS)
@pytest.mark.parametrize("iri", subject_iris())
def test_every_subject_resolves_in_every_format(client: FlaskClient, iri: str, fmt: str) -> None:
    media_type, _, parser = RESOURCE_FORMATS[fmt]
    answer = get(client, local_path(iri), media_type)
    if iri.startswith(BASE + "id/"):
        assert answer.status_code == 303
        location = answer.headers["Location"]
        assert location == "/doc/" + iri[len(BASE + "id/") :]
        answer = get(client, location, media_type)
    assert answer.status_code == 200
    assert answer.mimetype == media_type
    assert "Accept" in answer.vary
    assert "X-SPARQL-MaxRows" not in answer.headers  # no document of the built dataset is cut
    graph = Graph().parse(data=answer.get_data(), format=parser)
    node = URIRef(iri)
    assert (node, None, None) in graph
    for _, predicate, obj in _union().triples((node, None, None)):
        assert (node, predicate, obj) in graph, f"{iri}: {predicate} missing"
    for subject, predicate, _ in _union().triples((None, None, node)):
        assert (subject, predicate, node) in graph, f"{iri}: incoming {predicate} missing"
    # The document about a thing says so; a resource served at its own IRI is its own document.
    documents = set(graph.subjects(FOAF.primaryTopic, node))
    assert documents == ({URIRef(BASE + "doc/" + iri[len(BASE + "id/") :])} if iri.startswith(BASE + "id/") else set())


@pytest.mark.parametrize("iri", subject_iris())
def test_every_subject_has_a_page(client: FlaskClient, iri: str) -> None:
    path = local_path(iri).replace("/id/", "/doc/", 1)
    answer = get(client, path, BROWSER_ACCEPT)
    assert answer.status_code == 200
    assert answer.mimetype == "text/html"
    html = answer.get_data(as_text=True)
    assert "<h1>" in html and iri in html
    assert 'href="javascript:' not in html
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert "unsafe-inline" not in answer.headers["Content-Security-Policy"]


@pytest.mark.parametrize("iri", object_only_iris())
def test_iris_named_only_as_objects_resolve_too(client: FlaskClient, iri: str) -> None:
    with get(client, local_path(iri), BROWSER_ACCEPT) as answer:  # the dumps are served from their files
        assert answer.status_code == 200, iri


def test_named_graphs_resolve_to_their_triples(client: FlaskClient, dataset) -> None:  # type: ignore[no-untyped-def]
    for graph in dataset.graphs():
        if not str(graph.identifier).startswith(BASE) or not len(graph):
            continue
        answer = get(client, local_path(str(graph.identifier)), "application/n-triples")
        assert answer.status_code == 200
        served = Graph().parse(data=answer.get_data(), format="nt")
        assert set(graph) <= set(served), graph.identifier


def test_shapes_are_served_as_rdf_and_documentation(client: FlaskClient, settings: Settings) -> None:
    from ceopgraph.validation.shapes import load_shapes

    shapes = load_shapes(settings.shapes_dir, settings.scheme)
    served = Graph().parse(data=get(client, "/def/shapes.ttl").get_data(), format="turtle")
    assert len(served) >= len(shapes)
    page = get(client, "/def/shapes", BROWSER_ACCEPT).get_data(as_text=True)
    assert "Shapes" in page and "/def/shapes/ObservationShape" in page
    assert get(client, "/def/shapes/ObservationShape", BROWSER_ACCEPT).status_code == 200


# Content negotiation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "text/html"),
        (BROWSER_ACCEPT, "text/html"),
        ("*/*", "text/html"),
        ("text/html", "text/html"),
        ("application/xhtml+xml", "text/html"),
        ("text/turtle", "text/turtle"),
        ("application/ld+json", "application/ld+json"),
        ("application/rdf+xml", "application/rdf+xml"),
        ("application/n-triples", "application/n-triples"),
        ("application/json", "application/json"),
        ("text/plain", "text/plain"),
        ("text/turtle;q=0.5, application/rdf+xml;q=0.9", "application/rdf+xml"),
        ("text/html;q=0.1, text/turtle", "text/turtle"),
        ("text/*", "text/html"),
        ("application/*", "application/ld+json"),
        ("text/html;q=0, */*;q=0.1", "text/turtle"),
        ("image/png, text/turtle;q=0.2", "text/turtle"),
    ],
)
def test_accept_picks_the_format(client: FlaskClient, accept: str | None, expected: str) -> None:
    answer = get(client, "/doc/organisation/ceop", accept)
    assert answer.status_code == 200
    assert answer.mimetype == expected
    assert "Accept" in answer.vary
    assert answer.headers["Content-Location"].startswith("/doc/organisation/ceop.")


def test_nothing_acceptable_is_406(client: FlaskClient) -> None:
    answer = get(client, "/doc/organisation/ceop", "image/png")
    assert answer.status_code == 406
    assert "text/turtle" in answer.get_data(as_text=True)


@pytest.mark.parametrize(
    ("extension", "expected"),
    [
        ("ttl", "text/turtle"),
        ("jsonld", "application/ld+json"),
        ("rdf", "application/rdf+xml"),
        ("nt", "application/n-triples"),
        ("html", "text/html"),
    ],
)
def test_extension_fixes_the_format_whatever_the_accept(client: FlaskClient, extension: str, expected: str) -> None:
    for path in ("/doc/organisation/ceop", "/def/threat-area", "/data/annual-review-2012-13"):
        answer = get(client, f"{path}.{extension}", BROWSER_ACCEPT)
        assert answer.status_code == 200
        assert answer.mimetype == expected
        assert "Accept" not in answer.vary


def test_id_with_extension_redirects_to_that_document(client: FlaskClient) -> None:
    answer = get(client, "/id/organisation/ceop.ttl")
    assert answer.status_code == 303
    assert answer.headers["Location"] == "/doc/organisation/ceop.ttl"


def test_alternates_are_announced(client: FlaskClient) -> None:
    answer = get(client, "/doc/organisation/ceop", BROWSER_ACCEPT)
    link = answer.headers["Link"]
    for media_type, extension, _ in RESOURCE_FORMATS.values():
        assert f'</doc/organisation/ceop.{extension}>; rel="alternate"; type="{media_type}"' in link
        assert f'<link rel="alternate" type="{media_type}" href="/doc/organisation/ceop.{extension}"' in (
            answer.get_data(as_text=True)
        )


def test_jsonld_uses_the_published_context(client: FlaskClient) -> None:
    published = json.loads(get(client, "/contexts/ceopgraph.jsonld").get_data())
    served = json.loads(get(client, "/doc/organisation/ceop.jsonld").get_data())
    assert served["@context"] == published["@context"]
    assert published["@context"]["org"] == "http://www.w3.org/ns/org#"


def test_served_under_a_path_prefix(app: Flask) -> None:
    client = app.test_client()
    answer = client.get("/id/organisation/ceop", base_url="http://localhost/ld/")
    assert answer.status_code == 303
    assert answer.headers["Location"] == "/ld/doc/organisation/ceop"
    page = client.get("/doc/organisation/ceop", base_url="http://localhost/ld/", headers={"Accept": "text/html"})
    html = page.get_data(as_text=True)
    assert 'href="/ld/doc/person/peter-davies"' in html or 'href="/ld/doc/post/ceop-chief-executive"' in html
    assert 'href="/doc/' not in html
    turtle = client.get("/doc/organisation/ceop.ttl", base_url="http://localhost/ld/").get_data(as_text=True)
    assert BASE + "id/organisation/ceop" in turtle  # RDF keeps the canonical IRIs


# Caching ------------------------------------------------------------------------------------------


def test_validators_and_cache_control(client: FlaskClient) -> None:
    answer = get(client, "/doc/organisation/ceop", "text/turtle")
    assert answer.headers["ETag"]
    assert answer.headers["Last-Modified"]
    assert answer.headers["Cache-Control"].startswith("public")
    other = get(client, "/doc/organisation/ceop", "application/ld+json")
    assert other.headers["ETag"] != answer.headers["ETag"]


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/doc/organisation/ceop",
        "/id/organisation/ceop",
        "/.well-known/void",
        "/def/shapes",
        "/data/annual-review-2012-13.ttl",
        "/contexts/ceopgraph.jsonld",
    ],
)
def test_conditional_get_answers_304(client: FlaskClient, path: str) -> None:
    first = get(client, path, "text/html")
    assert first.status_code in (200, 303)
    again = get(client, path, "text/html", **{"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert again.get_data() == b""
    assert again.headers["ETag"] == first.headers["ETag"]
    since = get(client, path, "text/html", **{"If-Modified-Since": first.headers["Last-Modified"]})
    assert since.status_code == 304
    changed = get(client, path, "text/html", **{"If-None-Match": '"another-version-html"'})
    assert changed.status_code == first.status_code


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/id/organisation/ceop",
        "/doc/organisation/ceop",
        "/.well-known/void",
        "/dumps/ceopgraph.ttl",
        "/id/no/such/thing",
    ],
)
def test_head_works_everywhere(client: FlaskClient, path: str) -> None:
    with client.get(path) as full, client.head(path) as head:  # a dump's answer holds its file open
        assert head.status_code == full.status_code
        assert head.get_data() == b""
        assert head.headers.get("Content-Type") == full.headers.get("Content-Type")


# VoID and dumps --------------------------------------------------------------------------------------


def test_void_served_at_the_canonical_base_names_only_the_canonical_endpoint(client: FlaskClient) -> None:
    answer = client.get("/.well-known/void", base_url=BASE, headers={"Accept": "text/turtle"})
    assert answer.status_code == 200
    void = Graph().parse(data=answer.get_data(), format="turtle")
    endpoints = set(void.objects(URIRef(BASE + "data/ceopgraph"), URIRef("http://rdfs.org/ns/void#sparqlEndpoint")))
    assert endpoints == {URIRef(BASE + "sparql")}
    assert (URIRef(BASE + "sparql"), RDFS.comment, None) not in void  # not told apart as "this server's"


def test_void_names_the_live_endpoint_and_the_dumps(client: FlaskClient) -> None:
    answer = get(client, "/.well-known/void", "text/turtle")
    assert answer.status_code == 200
    void = Graph().parse(data=answer.get_data(), format="turtle")
    dataset = URIRef(BASE + "data/ceopgraph")
    endpoints = set(void.objects(dataset, URIRef("http://rdfs.org/ns/void#sparqlEndpoint")))
    assert URIRef("http://localhost/sparql") in endpoints
    assert URIRef(BASE + "sparql") in endpoints
    downloads = set(void.objects(None, URIRef("http://www.w3.org/ns/dcat#downloadURL")))
    tables = {url for url in downloads if str(url).endswith(".csv")}
    assert tables == {URIRef(BASE + "data/annual-review-2012-13.csv")}  # the one cube's table
    assert len(downloads - tables) == len(RDF_FORMATS)
    for url in downloads - tables:
        with client.get(local_path(str(url))) as dump:  # served from its file, closed with the answer
            assert dump.status_code == 200, url
            fmt = FORMATS_BY_EXTENSION[str(url).rsplit(".", 1)[1]]
            assert dump.mimetype == fmt.media_type
            assert dump.headers["Cache-Control"].startswith("public")
            assert len(dump.get_data()) > 10_000
    (table,) = tables
    with client.get(local_path(str(table))) as answer:
        assert answer.status_code == 200 and answer.mimetype == "text/csv"


def test_the_dataset_document_describes_its_distributions(client: FlaskClient) -> None:
    """A harvester reading ``/data/ceopgraph`` alone finds each distribution's download and access URLs
    (DCAT-AP's mandatory one), as the VoID gives them."""
    dcat = "http://www.w3.org/ns/dcat#"
    document = Graph().parse(data=get(client, "/data/ceopgraph", "text/turtle").get_data(), format="turtle")
    void = Graph().parse(data=get(client, "/.well-known/void", "text/turtle").get_data(), format="turtle")
    dataset = URIRef(BASE + "data/ceopgraph")
    distributions = set(document.objects(dataset, URIRef(dcat + "distribution")))
    assert len(distributions) == len(RDF_FORMATS)
    for distribution in distributions:
        for prop in ("downloadURL", "accessURL", "mediaType"):
            found = set(document.objects(distribution, URIRef(dcat + prop)))
            assert found and found == set(void.objects(distribution, URIRef(dcat + prop))), (distribution, prop)


def test_void_for_browsers_is_the_dataset_page(client: FlaskClient) -> None:
    answer = get(client, "/.well-known/void", BROWSER_ACCEPT)
    assert answer.status_code == 200 and answer.mimetype == "text/html"
    assert "CEOP Annual Review 2012/13 as linked open data" in answer.get_data(as_text=True)


def test_home_answers_rdf_clients_with_the_dataset_description(client: FlaskClient) -> None:
    answer = get(client, "/", "text/turtle")
    assert answer.mimetype == "text/turtle"
    assert "Accept" in get(client, "/", BROWSER_ACCEPT).vary


# Not found and hostile paths ----------------------------------------------------------------------------


def test_unknown_iri_is_404_with_a_hint_for_people(client: FlaskClient) -> None:
    page = get(client, "/id/organisation/no-such-body", BROWSER_ACCEPT)
    assert page.status_code == 404 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert "/doc/organisation/ceop" in html  # a resource with a similar address
    assert "/sparql" in html
    text = get(client, "/id/organisation/no-such-body", "text/turtle")
    assert text.status_code == 404 and text.mimetype == "text/plain"
    assert len(text.get_data()) < 100


HOSTILE = [
    "/id/<script>alert(1)</script>",
    "/doc/%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    "/doc/%22onmouseover=%22alert(1)",
    "/id/organisation%2Fceop",
    "/id/organisation%2fceop",
    "/doc/organisation%5Cceop",
    "/id//evil.example",
    "//evil.example/",
    "////evil.example",
    "/id/%2F%2Fevil.example",
    "/id/..%2F..%2Fetc%2Fpasswd",
    "/id/../../etc/passwd",
    "/data/graph/../../pyproject.toml",
    "/id/organisation/ceop/",
    "/id/organisation/ceop%00",
    "/id/organisation/ceop%252F",
    "/id/javascript:alert(1)",
    "/id/%E2%80%AEevil",
    "/doc/" + "a/" * 400 + "b",
    "/id/" + "x" * 5000,
    "/dumps/../pyproject.toml",
    "/dumps/ceopgraph.exe",
    "/dumps/%2E%2E%2Fpyproject.toml",
    "/def/shapes/..",
    "/.well-known/void/..%2F",
]


@pytest.mark.parametrize("path", HOSTILE)
@pytest.mark.parametrize("accept", [BROWSER_ACCEPT, "text/turtle"])
def test_hostile_paths_are_refused_safely(client: FlaskClient, path: str, accept: str) -> None:
    # The path exactly as a raw request line would carry it (the test client would read "//host" as a host).
    raw, _, _ = path.partition("?")
    decoded = urllib.parse.unquote(raw, errors="surrogateescape").encode("utf-8", "surrogateescape").decode("latin-1")
    environ = {"PATH_INFO": decoded, "RAW_URI": path, "REQUEST_URI": path}
    answer = client.get("/", headers={"Accept": accept}, environ_overrides=environ)
    assert answer.status_code in (400, 404), (path, answer.status_code)
    location = answer.headers.get("Location")
    assert location is None or (location.startswith("/") and not location.startswith("//"))
    body = answer.get_data(as_text=True)
    assert "<script>" not in body and "onmouseover" not in body and "evil.example" not in body
    assert "javascript:" not in body


# Hostile data: 21,000 statements on one resource, as a draft of 4 MiB can make -------------------------

TWINS = 21_000
IRI_TWINS = 1_500
HUGE = ("/doc/organisation/ceop", "/data/graph/figures")  # the resource the twins point at, their graph


@pytest.fixture(scope="module")
def twins_dist(tmp_path_factory: pytest.TempPathFactory, built_dist: Path, settings: Settings) -> Path:
    """The dataset with 21,000 identical blank nodes ``_:b rdfs:seeAlso <ceop>`` and 1,500 IRIs saying the
    same, dumped as a release is."""
    data = Dataset()
    data.parse(built_dist / "ceopgraph.trig", format="trig")
    figures = data.graph(URIRef(BASE + "data/graph/figures"))
    for _ in range(TWINS):
        figures.add((BNode(), RDFS.seeAlso, URIRef(BASE + "id/organisation/ceop")))
    for i in range(IRI_TWINS):  # as many IRIs again as a page may list: the graph's page lists no members
        figures.add((URIRef(f"{BASE}id/twin/{i}"), RDFS.seeAlso, URIRef(BASE + "id/organisation/ceop")))
    out = tmp_path_factory.mktemp("twins")
    write_dumps(data, out, settings.scheme)
    return out


@pytest.mark.parametrize("accept", [BROWSER_ACCEPT, *(media_type for media_type, _, _ in RESOURCE_FORMATS.values())])
def test_documents_with_21000_statements_are_cut_promptly_and_the_same_in_two_apps(
    settings: Settings, twins_dist: Path, accept: str
) -> None:
    """A document lists the first ``MAX_STATEMENTS`` statements (in SPARQL order, chosen in a query
    process) and says it was cut: ``X-SPARQL-MaxRows``, and on the page a link to the query of them all.
    Two apps (as two server workers) answer the same bytes and ETag. Each with two query processes, as a
    server has more than one: a cut that runs long replaces its process, and with one the next document
    waited for it to start again (a 503 on a busy machine)."""
    answers = []
    for _ in range(2):
        with embedded_app(settings, twins_dist, started=True, query_processes=2) as app:
            client = app.test_client()
            for path in (*HUGE, "/def/shapes"):
                answer = bounded(lambda client=client, path=path: get(client, path, accept), 30.0)  # type: ignore[misc]  # a lambda binding the loop's values by default
                assert answer.status_code == 200, (path, answer.get_data()[:300])
                answers.append(
                    (path, answer.headers["ETag"], answer.headers.get("X-SPARQL-MaxRows"), answer.get_data())
                )
    assert answers[:3] == answers[3:]
    limit = str(describe.MAX_STATEMENTS)
    assert [cut for _, _, cut, _ in answers[:3]] == [limit, limit, None]  # the shapes' 1,000 twins fit
    for path, _, _, body in answers[:2]:
        if accept == BROWSER_ACCEPT:
            page = body.decode()
            assert f"This page shows the first {describe.MAX_STATEMENTS:,} statements" in page
            query = urllib.parse.parse_qs(urllib.parse.urlsplit(_rest_link(page)).query)["query"][0]
            assert "ORDER BY ?s ?p ?o" in query and BASE in query
            assert "/id/twin/" not in page or path != "/data/graph/figures"  # members: all, or none past the cap
        else:  # RDF/XML too: its rdf:nodeID labels are XML names
            parser = next(p for media_type, _, p in RESOURCE_FORMATS.values() if media_type == accept)
            graph = Graph().parse(data=body, format=parser)
            # The statements kept, and the document's foaf:primaryTopic (a thing's document says it).
            assert describe.MAX_STATEMENTS - 10 <= len(graph) <= describe.MAX_STATEMENTS + 1, path


@pytest.fixture(scope="module")
def trees_dist(tmp_path_factory: pytest.TempPathFactory, built_dist: Path, settings: Settings) -> Path:
    """The dataset with 7,333 identical three-deep trees of blank nodes under the CEOP organisation."""
    data = Dataset()
    data.parse(built_dist / "ceopgraph.trig", format="trig")
    figures = data.graph(URIRef(BASE + "data/graph/figures"))
    for _ in range(7_333):
        above: URIRef | BNode = URIRef(BASE + "id/organisation/ceop")
        for _ in range(3):
            node = BNode()
            figures.add((above, RDFS.seeAlso, node))
            above = node
    out = tmp_path_factory.mktemp("trees")
    write_dumps(data, out, settings.scheme)
    return out


def test_a_cut_document_with_blank_nodes_is_answered(settings: Settings, trees_dist: Path) -> None:
    """The query that picks a cut document's statements binds its values outside any subquery: with the
    labels of predicates read by a subquery, Oxigraph evaluated it over the whole store and ran out of time."""
    with embedded_app(settings, trees_dist, started=True) as app:
        answer = bounded(lambda: get(app.test_client(), "/doc/organisation/ceop", "application/n-triples"), 30.0)
    assert answer.status_code == 200
    assert answer.headers["X-SPARQL-MaxRows"] == str(describe.MAX_STATEMENTS)
    graph = Graph().parse(data=answer.get_data(), format="nt")
    assert describe.MAX_STATEMENTS - 10 <= len(graph) <= describe.MAX_STATEMENTS + 1


def _rest_link(page: str) -> str:
    found = re.search(r'<p class="cut-notice"[^>]*>.*?<a href="([^"]+)"', page)
    assert found is not None
    return found.group(1).replace("&amp;", "&")


def test_the_query_of_a_cut_document_answers_its_statements(settings: Settings, twins_dist: Path) -> None:
    """The link on a cut page is a query the endpoint answers: every statement about the resource (the
    endpoint's row limit raised above them, where by default it would say it cut them at 10,000; ~1 s alone)."""
    with embedded_app(
        settings, twins_dist, started=True, max_result_rows=30_000, query_timeout_s=LARGE_ANSWER_TIMEOUT_S
    ) as app:
        client = app.test_client()
        page = get(client, HUGE[0], BROWSER_ACCEPT).get_data(as_text=True)
        answer = client.get(_rest_link(page), headers={"Accept": "application/sparql-results+json"})
        assert answer.status_code == 200
        rows = answer.get_json()["results"]["bindings"]
        pointing = {row["s"]["value"] for row in rows if row["p"]["value"] == str(RDFS.seeAlso)}
        assert len(pointing) == TWINS + IRI_TWINS


@pytest.mark.parametrize("path", ["/id//evil.example", "/id/organisation/ceop/../../..//evil.example"])
def test_no_redirect_ever_leaves_the_host(client: FlaskClient, path: str) -> None:
    answer = client.get(path, follow_redirects=False)
    location = answer.headers.get("Location", "")
    assert "evil.example" not in location


# CORS: every public answer may be read by a script on another site ---------------------------------

CORS_PATHS = [
    "/",
    "/doc/organisation/ceop",
    "/id/organisation/ceop",
    "/def/shapes",
    "/data/annual-review-2012-13",
    "/.well-known/void",
    "/contexts/ceopgraph.jsonld",
    "/dumps/ceopgraph.ttl",
    "/sparql",
    "/validate",
    "/id/no/such/thing",
    "/no/route/here",
]


@pytest.mark.parametrize("path", CORS_PATHS)
@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_cors_headers_on_every_answer_errors_included(client: FlaskClient, path: str, method: str) -> None:
    """Only /sparql carried CORS: a JavaScript app elsewhere could not read a document or the context."""
    headers = {"Origin": "https://elsewhere.example", "Accept": "text/turtle"}
    with client.open(path, method=method, headers=headers) as answer:  # a dump's answer holds its file open
        assert answer.status_code in (200, 303, 404)
        assert answer.headers["Access-Control-Allow-Origin"] == "*"
        exposed = {name.strip() for name in answer.headers["Access-Control-Expose-Headers"].split(",")}
        assert {
            "ETag",
            "Link",
            "Location",
            "X-Query-Hash",
            "X-SPARQL-MaxRows",
            "Content-Range",
            "Accept-Ranges",
        } <= exposed
        assert "Access-Control-Allow-Credentials" not in answer.headers


def test_cors_on_a_validation_report(client: FlaskClient) -> None:
    answer = client.post(
        "/validate",
        data=b"<https://example.org/a> <https://example.org/b> <https://example.org/c> .\n",
        headers={"Content-Type": "application/n-triples", "Origin": "https://elsewhere.example"},
    )
    assert answer.status_code < 500
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in answer.headers


@pytest.mark.parametrize(
    ("path", "methods"),
    [
        ("/doc/organisation/ceop", "GET, HEAD, OPTIONS"),
        ("/id/organisation/ceop", "GET, HEAD, OPTIONS"),
        ("/def/shapes", "GET, HEAD, OPTIONS"),
        ("/data/annual-review-2012-13", "GET, HEAD, OPTIONS"),
        ("/.well-known/void", "GET, HEAD, OPTIONS"),
        ("/contexts/ceopgraph.jsonld", "GET, HEAD, OPTIONS"),
        ("/dumps/ceopgraph.ttl", "GET, HEAD, OPTIONS"),
        ("/", "GET, HEAD, OPTIONS"),
        ("/sparql", "GET, HEAD, POST, OPTIONS"),
        ("/validate", "GET, HEAD, POST, OPTIONS"),
    ],
)
def test_preflight_everywhere_names_the_methods_of_the_route(client: FlaskClient, path: str, methods: str) -> None:
    """Preflights were answered on /sparql only (elsewhere Flask's 200 without any CORS header)."""
    answer = client.options(
        path,
        headers={
            "Origin": "https://elsewhere.example",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "if-none-match",
        },
    )
    assert answer.status_code == 204 and answer.get_data() == b""
    assert answer.headers["Allow"] == answer.headers["Access-Control-Allow-Methods"] == methods
    allowed = {name.strip().lower() for name in answer.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"if-none-match", "range", "if-range"} <= allowed  # a download resumed by a script
    assert int(answer.headers["Access-Control-Max-Age"]) > 0
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in answer.headers


# Byte ranges of the dumps ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("requested", "status", "content_range"),
    [
        ("bytes=0-9", 206, "bytes 0-9/{size}"),
        ("bytes=-5", 206, "bytes {last5}-{end}/{size}"),
        ("bytes=0-9,20-29", 200, None),  # several ranges: the whole file (RFC 9110 14.2 lets a server ignore them)
        ("bytes=abc", 200, None),  # a Range that does not parse: ignored
        ("bytes=999999999-", 416, "bytes */{size}"),  # past the end: 416 says the length
    ],
)
def test_a_dump_answers_one_byte_range_and_says_why_not_otherwise(
    client: FlaskClient, built_dist: Path, requested: str, status: int, content_range: str | None
) -> None:
    whole = (built_dist / "ceopgraph.nq").read_bytes()
    size = len(whole)
    with client.get("/dumps/ceopgraph.nq", headers={"Range": requested}) as answer:
        assert answer.status_code == status
        expected = content_range.format(size=size, last5=size - 5, end=size - 1) if content_range else None
        assert answer.headers.get("Content-Range") == expected
        if status == 200:
            assert answer.data == whole
        elif status == 206:
            assert answer.data == (whole[:10] if requested == "bytes=0-9" else whole[-5:])


# Compressed downloads -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["ceopgraph.nq", "annual-review-2012-13.csv"])
@pytest.mark.parametrize(("coding", "decode"), [("gzip", gzip.decompress), ("br", brotli.decompress)])
def test_a_dump_goes_compressed_with_an_etag_per_coding(
    client: FlaskClient, built_dist: Path, name: str, coding: str, decode: Callable[[bytes], bytes]
) -> None:
    whole = (built_dist / name).read_bytes()
    with client.get(f"/dumps/{name}") as plain:
        assert plain.data == whole and "Content-Encoding" not in plain.headers
        assert "Accept-Encoding" in plain.vary
        plain_etag = plain.headers["ETag"]
    with client.get(f"/dumps/{name}", headers={"Accept-Encoding": coding}) as coded:
        assert coded.status_code == 200 and coded.headers["Content-Encoding"] == coding
        assert "Accept-Encoding" in coded.vary and coded.headers["Cache-Control"].startswith("public")
        assert decode(coded.data) == whole and len(coded.data) < len(whole)
        etag = coded.headers["ETag"]
    assert etag != plain_etag
    again = client.get(f"/dumps/{name}", headers={"Accept-Encoding": coding, "If-None-Match": etag})
    assert again.status_code == 304
    with client.get(f"/dumps/{name}", headers={"Accept-Encoding": coding, "Range": "bytes=0-9"}) as part:
        assert part.status_code == 206 and "Content-Encoding" not in part.headers  # ranges count the file's bytes
        assert part.data == whole[:10]
