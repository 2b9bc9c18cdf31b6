"""Repeated GET queries replayed before Flask runs (``web.replay``): the same answer, headers and access log as
the app's own."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from flask import Flask

from ceopgraph.config import Settings, load_settings
from ceopgraph.store.jobs import StoreUnavailable
from ceopgraph.web.app import create_app
from ceopgraph.web.services import close_app

QUERY = "SELECT ?p ?o WHERE { <https://w3id.org/ceopgraph/id/quotation/past-year> ?p ?o }"


def test_repeated_get_is_replayed_with_the_same_headers(app: Flask, caplog: pytest.LogCaptureFixture) -> None:
    client = app.test_client()
    accept = {"Accept": "application/sparql-results+json"}
    first = client.get("/sparql", query_string={"query": QUERY}, headers=accept)
    with caplog.at_level(logging.INFO, logger="ceopgraph.access"):
        second = client.get("/sparql", query_string={"query": QUERY}, headers=accept)
    assert first.status_code == second.status_code == 200
    assert second.data == first.data
    assert second.headers["Server-Timing"].startswith("app;dur=")
    assert {k: v for k, v in second.headers.items() if k != "Server-Timing"} == {
        k: v for k, v in first.headers.items() if k != "Server-Timing"
    }
    assert second.headers["Access-Control-Allow-Origin"] == "*"
    assert "Content-Security-Policy" in second.headers
    [line] = [r.getMessage() for r in caplog.records if r.name == "ceopgraph.access"]
    assert '"GET /sparql" 200' in line and line.endswith("query=" + first.headers["X-Query-Hash"])


def test_another_accept_or_a_conditional_request_gets_its_own_answer(app: Flask) -> None:
    client = app.test_client()
    json = client.get("/sparql", query_string={"query": QUERY}, headers={"Accept": "application/sparql-results+json"})
    csv = client.get("/sparql", query_string={"query": QUERY}, headers={"Accept": "text/csv"})
    assert csv.mimetype == "text/csv" and json.mimetype == "application/sparql-results+json"
    again = client.get("/sparql", query_string={"query": QUERY}, headers={"If-None-Match": json.headers["ETag"]})
    assert again.status_code == 304


def test_errors_are_never_replayed(app: Flask) -> None:
    client = app.test_client()
    for _ in range(2):
        answer = client.get("/sparql", query_string={"query": "SELECT nonsense"})
        assert answer.status_code == 400


class _DownStore:
    """A store that cannot be reached, as a remote one is while it restarts."""

    @property
    def version(self) -> str:
        raise StoreUnavailable("the SPARQL store at http://127.0.0.1:9/ does not answer")

    def execute(self, job: object) -> object:
        raise StoreUnavailable("the SPARQL store at http://127.0.0.1:9/ does not answer")


def test_a_store_that_is_down_gets_503_not_500(settings: Settings, built_dist: Path) -> None:
    """Regression: the fast path asked the store for its version outside Flask's error handling."""
    down = create_app(load_settings(environ={}, root=settings.root, dist_dir=built_dist), _DownStore())  # type: ignore[arg-type]
    try:
        answer = down.test_client().get("/sparql", query_string={"query": "ASK { ?s ?p ?o }"})
    finally:
        close_app(down)
    assert answer.status_code == 503
    assert "does not answer" in answer.get_data(as_text=True)
