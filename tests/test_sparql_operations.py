"""``web.sparql.QueryOperations``: the query operation answered before Flask runs, with every header the app's
hooks give others, and its failures rendered by Flask (``web.errors``), the one place errors are rendered."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from ceopgraph.config import Settings
from ceopgraph.web import middleware

from .apps import embedded_app

QUERY = "SELECT ?p ?o WHERE { <https://w3id.org/ceopgraph/id/quotation/past-year> ?p ?o }"
JSON = {"Accept": "application/sparql-results+json"}


@pytest.fixture(scope="module")
def app(settings: Settings, built_dist: Path) -> Iterator[Flask]:
    with embedded_app(settings, built_dist, answer_cache_mb=0) as app:
        yield app


@pytest.fixture
def flask_requests(app: Flask) -> Iterator[list[str]]:
    """The paths of the requests Flask itself handles while the test runs."""
    seen: list[str] = []

    def note() -> None:
        from flask import request

        seen.append(request.path)

    app.before_request_funcs.setdefault(None, []).insert(0, note)
    yield seen
    app.before_request_funcs[None].remove(note)


@pytest.mark.parametrize(
    ("method", "kwargs"),
    [
        ("GET", {"query_string": {"query": QUERY}, "headers": JSON}),
        ("HEAD", {"query_string": {"query": QUERY}, "headers": JSON}),
        ("POST", {"data": {"query": QUERY}, "headers": JSON}),
        ("POST", {"data": QUERY, "content_type": "application/sparql-query"}),
    ],
)
def test_a_query_is_answered_without_flask_and_with_every_common_header(
    app: Flask, flask_requests: list[str], method: str, kwargs: dict[str, object], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="ceopgraph.access"):
        answer = app.test_client().open("/sparql", method=method, **kwargs)  # type: ignore[arg-type]
    assert answer.status_code == 200 and flask_requests == []
    for name, value in middleware.ANSWER_HEADERS:
        assert answer.headers[name] == value
    assert answer.headers["Server-Timing"].startswith("app;dur=")
    assert (answer.data == b"") == (method == "HEAD") and int(answer.headers["Content-Length"]) > 100
    [line] = [r.getMessage() for r in caplog.records if r.name == "ceopgraph.access"]
    assert f'"{method} /sparql" 200' in line and line.endswith("query=" + answer.headers["X-Query-Hash"])


def test_the_common_headers_are_those_flask_gives_its_own_answers(app: Flask, flask_requests: list[str]) -> None:
    page = app.test_client().get("/sparql", headers={"Accept": "text/turtle"})  # the service description
    assert flask_requests == ["/sparql"]
    for name, value in middleware.ANSWER_HEADERS:
        assert page.headers[name] == value


@pytest.mark.parametrize(
    ("query_string", "headers", "status", "says"),
    [
        ({"query": "SELECT nonsense"}, {}, 400, "does not parse"),
        ({"query": "SELECT * { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }"}, {}, 400, "SERVICE is not allowed"),
        ({"query": QUERY}, {"Accept": "image/png"}, 406, "available as"),
        ({"query": QUERY, "format": "png"}, {}, 400, "format=png"),
        ({"update": "CLEAR ALL"}, {}, 403, "read-only"),
    ],
)
def test_a_failure_is_answered_by_flask_with_its_status_headers_and_hash(
    app: Flask,
    flask_requests: list[str],
    caplog: pytest.LogCaptureFixture,
    query_string: dict[str, str],
    headers: dict[str, str],
    status: int,
    says: str,
) -> None:
    with caplog.at_level(logging.INFO, logger="ceopgraph.access"):
        answer = app.test_client().get("/sparql", query_string=query_string, headers=headers)
    assert answer.status_code == status and says in answer.get_data(as_text=True)
    assert flask_requests == ["/sparql"]  # rendered there, once
    assert answer.headers["Access-Control-Allow-Origin"] == "*" and "Content-Security-Policy" in answer.headers
    [line] = [r.getMessage() for r in caplog.records if r.name == "ceopgraph.access"]
    assert f'"GET /sparql" {status}' in line
    if "query" in query_string:  # the query was read: its hash is logged, never the query
        assert not line.endswith("query=-")


def test_a_revalidation_gets_304_with_the_validators_and_the_hash_only(app: Flask) -> None:
    client = app.test_client()
    first = client.get("/sparql", query_string={"query": QUERY}, headers=JSON)
    conditional = {**JSON, "If-None-Match": first.headers["ETag"]}
    again = client.get("/sparql", query_string={"query": QUERY}, headers=conditional)
    assert again.status_code == 304 and again.data == b""
    for name in ("ETag", "X-Query-Hash", "Vary", "Cache-Control"):
        assert again.headers[name] == first.headers[name]
    assert "Content-Type" not in again.headers and "X-SPARQL-MaxRows" not in again.headers


@pytest.mark.parametrize(("fmt", "written"), [("csv", '"=HYPERLINK(""http://evil.example"")"'), ("tsv", None)])
def test_csv_and_tsv_results_carry_values_unchanged(app: Flask, fmt: str, written: str | None) -> None:
    """The W3C result formats: a value that a spreadsheet would run is not neutralised (the README says to
    open them with care; reports and table downloads go through ``csvsafe``)."""
    query = 'SELECT ?x { BIND("=HYPERLINK(\\"http://evil.example\\")" AS ?x) }'
    answer = app.test_client().get("/sparql", query_string={"query": query, "format": fmt})
    assert answer.status_code == 200
    lines = answer.get_data(as_text=True).splitlines()
    expected = written if written is not None else '"=HYPERLINK(\\"http://evil.example\\")"'
    assert lines[1] == expected


# What a browser's navigation to a query URL sends (Chromium's Accept for a document).
BROWSER = {
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8",
    "Sec-Fetch-Mode": "navigate",
    "Sec-Fetch-Dest": "document",
}


def test_a_browser_following_a_query_link_gets_the_editor_with_that_query(app: Flask) -> None:
    """An example link opened in a new tab downloaded SPARQL XML: the browser's Accept ranks application/xml
    above */*. The editor page holds the query, for its script to run, and the no-script form holds it too."""
    graph = "https://w3id.org/ceopgraph/graph/figures"
    answer = app.test_client().get(
        "/sparql", query_string={"query": QUERY, "default-graph-uri": graph}, headers=BROWSER
    )
    assert answer.status_code == 200 and answer.mimetype == "text/html"
    assert "Accept" in answer.vary and "script-src 'self'" in answer.headers["Content-Security-Policy"]
    page = answer.get_data(as_text=True)
    escaped = QUERY.replace("<", "&lt;").replace(">", "&gt;")
    assert f'data-query="{escaped}"' in page and f">{escaped}</textarea>" in page
    assert f"data-default-graphs='[\"{graph}\"]'" in page
    assert f'name="default-graph-uri" value="{graph}"' in page


@pytest.mark.parametrize(
    ("headers", "query_string", "media_type"),
    [
        (JSON, {}, "application/sparql-results+json"),
        ({"Accept": "application/sparql-results+xml"}, {}, "application/sparql-results+xml"),
        ({"Accept": "*/*"}, {}, "application/sparql-results+json"),
        ({}, {}, "application/sparql-results+json"),
        ({"Accept": "application/xml, text/html;q=0.5"}, {}, "application/sparql-results+xml"),
        ({"Accept": "text/html, application/sparql-results+json"}, {}, "application/sparql-results+json"),
        (BROWSER, {"format": "xml"}, "application/sparql-results+xml"),  # format= names it outright
    ],
)
def test_programmatic_clients_still_get_results(
    app: Flask, headers: dict[str, str], query_string: dict[str, str], media_type: str
) -> None:
    answer = app.test_client().get("/sparql", query_string={"query": QUERY, **query_string}, headers=headers)
    assert answer.status_code == 200 and answer.mimetype == media_type


def test_a_browser_posting_a_query_gets_results(app: Flask) -> None:
    """Only a GET is a navigation to a page: a form POST is the protocol's query operation."""
    answer = app.test_client().post("/sparql", data={"query": QUERY}, headers=BROWSER)
    assert answer.status_code == 200 and answer.mimetype == "application/sparql-results+xml"
