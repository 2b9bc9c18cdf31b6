"""The real servers: gunicorn (the default) and Granian serving the app on loopback, stopped by PID."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from .live import LiveServer, running_server


def test_live_server_answers_health_checks_under_gunicorn(live_server: LiveServer) -> None:
    answer = requests.get(live_server.url + "healthz", timeout=5)
    assert answer.status_code == 200
    assert answer.text == "ok\n"
    assert answer.headers["Server"].startswith("gunicorn")
    assert answer.headers["Cache-Control"] == "no-store"
    os.kill(live_server.pid, 0)  # the process we will stop is the one answering


@pytest.fixture(scope="module")
def granian_server(tmp_path_factory: pytest.TempPathFactory, built_dist: Path) -> Iterator[LiveServer]:
    log = tmp_path_factory.mktemp("granian") / "server.log"
    with running_server(["--dist", str(built_dist), "--workers", "1", "--server", "granian"], log) as server:
        yield server


def test_granian_serves_the_same_app(granian_server: LiveServer, live_server: LiveServer) -> None:
    query = {"query": "SELECT ?label WHERE { ?s a <http://www.w3.org/ns/org#FormalOrganization> ; "
             "<http://www.w3.org/2000/01/rdf-schema#label> ?label } ORDER BY ?label"}  # fmt: skip
    csv = {"Accept": "text/csv"}
    ours = requests.get(granian_server.url + "sparql", params=query, headers=csv, timeout=10)
    reference = requests.get(live_server.url + "sparql", params=query, headers=csv, timeout=10)
    assert ours.status_code == 200 and "gunicorn" not in ours.headers.get("Server", "")
    assert ours.text == reference.text
    assert ours.headers["Access-Control-Allow-Origin"] == "*"
    page = requests.get(granian_server.url + "id/organisation/ceop", allow_redirects=False, timeout=10)
    assert page.status_code == 303 and page.headers["Location"].endswith("/doc/organisation/ceop")
    assert "Content-Security-Policy" in requests.get(granian_server.url, timeout=10).headers


def test_granian_cannot_refuse_an_encoded_slash_as_gunicorn_does(
    granian_server: LiveServer, live_server: LiveServer
) -> None:
    """The documented difference (README, Performance): Granian passes no raw request URI, so the app
    sees ``%2F`` decoded. gunicorn refuses the path; under Granian it is the resource it decodes to."""
    path = "id/organisation%2Fceop"
    assert requests.get(live_server.url + path, allow_redirects=False, timeout=10).status_code == 404
    assert requests.get(granian_server.url + path, allow_redirects=False, timeout=10).status_code == 303
