"""What real clients and the W3C SPARQL 1.1 tests expect of the endpoint's answers, each case named after
what broke: the column order of ``SELECT *``, relative IRIs in a query without ``BASE``, an endpoint URL
with a trailing slash, and answers cut at the row limit."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree

import pyoxigraph as ox
import pytest
from flask import Flask
from rdflib import Dataset

from ceopgraph import sparql, sparqltext
from ceopgraph.config import Settings

from .apps import embedded_app

# Variables first seen in the order o, s, p, then a: neither alphabetical nor the engine's.
STAR = "SELECT * WHERE { ?o ?p2 ?s . ?s ?p ?o . BIND(1 AS ?a) } LIMIT 2"
ORDER = ["o", "p2", "s", "p", "a"]


def columns(media_type: str, body: bytes) -> list[str]:
    """The answer's variables, read by a parser of each format (not by ours)."""
    if media_type == "application/sparql-results+json":
        return list(json.loads(body)["head"]["vars"])
    if media_type == "application/sparql-results+xml":
        namespace = "{http://www.w3.org/2005/sparql-results#}"
        head = ElementTree.fromstring(body).find(namespace + "head")
        assert head is not None
        return [v.attrib["name"] for v in head.iter(namespace + "variable")]
    delimiter = "," if media_type == "text/csv" else "\t"
    header = next(csv.reader(io.StringIO(body.decode()), delimiter=delimiter))
    return [name.removeprefix("?") for name in header]


def test_select_star_lists_variables_as_they_first_appear() -> None:
    assert sparqltext.vet_query(STAR).variable_order == tuple(ORDER)
    assert sparqltext.vet_query("SELECT ?s ?o { ?o ?p ?s }").variable_order == ()  # a projection keeps its own


@pytest.mark.parametrize("fmt", sparql.RESULTS_FORMATS, ids=[f.name for f in sparql.RESULTS_FORMATS])
def test_select_star_columns_are_in_query_order_in_every_format(app: Flask, fmt: sparql.ResultFormat) -> None:
    """SPARQL 1.1 §18.2.1; the W3C csv-tsv-res and json-res tests failed on the alphabetical order alone."""
    answer = app.test_client().get("/sparql", query_string={"query": STAR, "format": fmt.name})
    assert answer.status_code == 200
    assert columns(fmt.media_type, answer.data) == ORDER
    if fmt.name == "json":  # and every row's values are under their own names
        rows = json.loads(answer.data)["results"]["bindings"]
        assert rows and all(row["a"]["value"] == "1" for row in rows)


def test_relative_iris_without_base_resolve_against_the_endpoint(app: Flask) -> None:
    """W3C protocol test query_content_type_construct: ``CONSTRUCT { <s> <p> 1 } WHERE {}`` was a 400."""
    answer = app.test_client().get(
        "/sparql",
        query_string={"query": "CONSTRUCT { <s> <p> 1 } WHERE {}"},
        headers={"Accept": "application/n-triples"},
    )
    assert answer.status_code == 200
    triples = list(ox.parse(answer.data, format=ox.RdfFormat.N_TRIPLES))
    assert [(t.subject.value, t.predicate.value) for t in triples] == [
        ("http://localhost/s", "http://localhost/p")  # the test client's endpoint is http://localhost/sparql
    ]


def test_the_query_own_base_wins(app: Flask) -> None:
    query = "BASE <http://example.org/base/> CONSTRUCT { <s> <p> 1 } WHERE {}"
    answer = app.test_client().get(
        "/sparql", query_string={"query": query}, headers={"Accept": "application/n-triples"}
    )
    triples = list(ox.parse(answer.data, format=ox.RdfFormat.N_TRIPLES))
    assert triples[0].subject.value == "http://example.org/base/s"


def test_answers_for_two_endpoint_urls_are_cached_apart(app: Flask) -> None:
    query = {"query": "SELECT ?x { BIND(<x> AS ?x) }"}
    first = app.test_client().get("/sparql", query_string=query, base_url="http://a.example")
    second = app.test_client().get("/sparql", query_string=query, base_url="http://b.example")
    values = [json.loads(a.data)["results"]["bindings"][0]["x"]["value"] for a in (first, second)]
    assert values == ["http://a.example/x", "http://b.example/x"]
    assert first.headers["ETag"] != second.headers["ETag"]


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_an_endpoint_url_with_a_trailing_slash_answers_queries(app: Flask, method: str) -> None:
    """``/sparql/`` was a 404: clients that write endpoint URLs with a slash got nothing."""
    client = app.test_client()
    query = {"query": "SELECT (1 AS ?one) WHERE {}"}
    headers = {"Accept": "application/sparql-results+json"}
    if method == "GET":
        with_slash, without = (
            client.get(path, query_string=query, headers=headers) for path in ("/sparql/", "/sparql")
        )
    else:
        with_slash, without = (client.post(path, data=query, headers=headers) for path in ("/sparql/", "/sparql"))
    assert with_slash.status_code == 200 and with_slash.mimetype == "application/sparql-results+json"
    assert with_slash.data == without.data


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_the_bare_endpoint_with_a_trailing_slash_is_sent_to_the_endpoint(app: Flask, method: str) -> None:
    answer = app.test_client().open("/sparql/", method=method, headers={"Accept": "text/html"})
    assert (answer.status_code, answer.headers["Location"]) == (308, "/sparql")


@pytest.mark.parametrize("accept", ["text/turtle", "application/n-triples", "text/html", None])
@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_the_bare_endpoint_carries_validators_and_answers_304(app: Flask, method: str, accept: str | None) -> None:
    """As every cacheable answer does: clients (Comunica) read the service description before every query."""
    client = app.test_client()
    headers = {"Accept": accept} if accept else {}
    first = client.open("/sparql", method=method, headers=headers)
    assert first.status_code == 200 and first.headers["ETag"] and "Accept" in first.vary
    assert first.headers["Cache-Control"] == "public, max-age=300"
    again = client.open("/sparql", method=method, headers={**headers, "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    other = "text/html" if accept != "text/html" else "text/turtle"
    assert client.get("/sparql", headers={"Accept": other}).headers["ETag"] != first.headers["ETag"]


ROW_LIMIT = 3
NOTICE = sparql.truncation_notice(ROW_LIMIT)
# Where each format says it was cut (None: the header alone, the format has no place for it).
NOTICE_IN_BODY = {
    "json": None,  # head.link instead, checked below
    "xml": f"<!-- {NOTICE} -->",
    "csv": None,
    "tsv": None,
    "turtle": f"# {NOTICE}",
    "trig": f"# {NOTICE}",
    "ntriples": f"# {NOTICE}",
    "nquads": f"# {NOTICE}",
    "jsonld": None,
    "rdfxml": f"<!-- {NOTICE} -->",
}
RDFLIB_PARSERS = {
    "turtle": "turtle",
    "trig": "trig",
    "ntriples": "nt",
    "nquads": "nquads",
    "jsonld": "json-ld",
    "rdfxml": "xml",
}


@pytest.fixture(scope="module")
def capped_app(settings: Settings, built_dist: Path) -> Iterator[Flask]:
    with embedded_app(settings, built_dist, {"CEOPGRAPH_MAX_RESULT_ROWS": str(ROW_LIMIT)}) as app:
        yield app


def rows(fmt: str, body: bytes) -> int:
    """How many solutions or triples the answer holds, read by a parser of each format (not ours)."""
    if fmt == "json":
        return len(json.loads(body)["results"]["bindings"])
    if fmt == "xml":
        return len(ElementTree.fromstring(body).findall(".//{http://www.w3.org/2005/sparql-results#}result"))
    if fmt in ("csv", "tsv"):
        return len(body.decode().splitlines()) - 1
    parsed = Dataset()
    parsed.parse(data=body, format=RDFLIB_PARSERS[fmt])
    return len(list(parsed.quads()))


@pytest.mark.parametrize("fmt", sparql.ALL_FORMATS, ids=[f.name for f in sparql.ALL_FORMATS])
def test_an_answer_cut_at_the_row_limit_says_so_in_its_body(capped_app: Flask, fmt: sparql.ResultFormat) -> None:
    """The cut was said in a header only, which people and most clients never see."""
    form = "SELECT ?s ?p ?o" if fmt in sparql.RESULTS_FORMATS else "CONSTRUCT { ?s ?p ?o }"
    answer = capped_app.test_client().get(
        "/sparql", query_string={"query": f"{form} WHERE {{ ?s ?p ?o }}", "format": fmt.name}
    )
    assert answer.status_code == 200 and answer.headers["X-SPARQL-MaxRows"] == str(ROW_LIMIT)
    assert rows(fmt.name, answer.data) == ROW_LIMIT  # still a valid document of its format
    expected = NOTICE_IN_BODY[fmt.name]
    if expected is not None:
        assert expected in answer.get_data(as_text=True)
    if fmt.name == "json":
        assert json.loads(answer.data)["head"]["link"] == ["http://localhost/sparql#row-limit"]


def test_an_answer_under_the_row_limit_carries_no_notice(capped_app: Flask) -> None:
    query = "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o } LIMIT 2"
    answer = capped_app.test_client().get("/sparql", query_string={"query": query, "format": "turtle"})
    assert answer.status_code == 200 and "X-SPARQL-MaxRows" not in answer.headers
    assert "Truncated" not in answer.get_data(as_text=True)


def test_the_link_in_a_cut_answer_leads_to_the_limit_explained(capped_app: Flask) -> None:
    page = capped_app.test_client().get("/sparql", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert 'id="row-limit"' in page and f"at most {ROW_LIMIT} results" in page


@pytest.mark.parametrize(
    ("header", "matches"),
    [(None, False), ("{etag}", True), ("W/{etag}", True), ('"x", {etag}', True), ("*", True), ('"x"', False)],
)
def test_if_none_match_is_read_as_rfc_9110_says(app: Flask, header: str | None, matches: bool) -> None:
    """Weak comparison, lists and ``*`` (RFC 9110 §13.1.2), by werkzeug, as for every other answer."""
    query = {"query": "SELECT (2 AS ?two) WHERE {}"}
    first = app.test_client().get("/sparql", query_string=query)
    etag = first.headers["ETag"]
    headers = {} if header is None else {"If-None-Match": header.format(etag=etag)}
    again = app.test_client().get("/sparql", query_string=query, headers=headers)
    assert again.status_code == (304 if matches else 200)
    assert again.headers["ETag"] == etag and again.headers["X-Query-Hash"] == first.headers["X-Query-Hash"]
