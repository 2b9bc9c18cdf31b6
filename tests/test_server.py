"""The real servers: Granian (the default) and gunicorn serving the app on loopback, stopped by PID."""

from __future__ import annotations

import os

import requests

from .live import LiveServer


def test_live_server_answers_health_checks_under_granian(live_server: LiveServer) -> None:
    answer = requests.get(live_server.url + "healthz", timeout=5)
    assert answer.status_code == 200
    assert answer.text == "ok\n"
    assert answer.headers["Server"] == "granian"
    assert answer.headers["Cache-Control"] == "no-store"
    os.kill(live_server.pid, 0)  # the process we will stop is the one answering


def test_gunicorn_serves_the_same_app(gunicorn_server: LiveServer, live_server: LiveServer) -> None:
    query = {"query": "SELECT ?label WHERE { ?s a <http://www.w3.org/ns/org#FormalOrganization> ; "
             "<http://www.w3.org/2000/01/rdf-schema#label> ?label } ORDER BY ?label"}  # fmt: skip
    csv = {"Accept": "text/csv"}
    ours = requests.get(gunicorn_server.url + "sparql", params=query, headers=csv, timeout=10)
    reference = requests.get(live_server.url + "sparql", params=query, headers=csv, timeout=10)
    assert ours.status_code == 200 and ours.headers["Server"].startswith("gunicorn")
    assert ours.text == reference.text
    assert ours.headers["Access-Control-Allow-Origin"] == "*"
    page = requests.get(gunicorn_server.url + "id/organisation/ceop", allow_redirects=False, timeout=10)
    assert page.status_code == 303 and page.headers["Location"].endswith("/doc/organisation/ceop")
    assert "Content-Security-Policy" in requests.get(gunicorn_server.url, timeout=10).headers


def test_only_gunicorn_can_refuse_an_encoded_slash_between_valid_segments(
    gunicorn_server: LiveServer, live_server: LiveServer
) -> None:
    """The documented difference (``ceopgraph.server``, README): Granian passes no raw request URI, so the
    app sees ``%2F`` decoded. gunicorn refuses the path; under Granian it is the resource it decodes to,
    answered as that resource is (the hostile encoded paths are refused under both: test_resources_live)."""
    path = "id/organisation%2Fceop"
    assert requests.get(gunicorn_server.url + path, allow_redirects=False, timeout=10).status_code == 404
    decoded = requests.get(live_server.url + path, allow_redirects=False, timeout=10)
    plain = requests.get(live_server.url + "id/organisation/ceop", allow_redirects=False, timeout=10)
    assert decoded.status_code == plain.status_code == 303
    assert decoded.headers["Location"] == plain.headers["Location"] == "/doc/organisation/ceop"
