"""The same guarantees through the real servers (Granian, the default, and gunicorn): raw request lines,
redirects, dumps."""

from __future__ import annotations

import http.client
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import requests

from .live import LiveServer

RAW_PATHS = [
    "//evil.example/",
    "////evil.example",
    "/id//evil.example",
    "/id/%3Cscript%3Ealert(1)%3C/script%3E",
    # Encoded separators that decode to a path no valid segment makes (refused on the decoded path too:
    # ``%2F`` between two valid segments is the one difference, test_server).
    "/id/..%2F..%2Fetc%2Fpasswd",
    "/id/%2F%2Fevil.example",
    "/doc/organisation%5Cceop",
    "/doc/organisation%00ceop",
    "/dumps/%2E%2E%2Fpyproject.toml",
    "/id/../../etc/passwd",
    "/id/organisation/ceop/",
    "/doc/" + "a" * 3000,
]


@contextmanager
def raw_get(server: LiveServer, path: str, accept: str = "text/html") -> Iterator[http.client.HTTPResponse]:
    """The answer to ``GET path`` sent as it is (no client normalises it); the connection closed afterwards."""
    address = urllib.parse.urlsplit(server.url)
    connection = http.client.HTTPConnection(address.hostname or "127.0.0.1", address.port, timeout=10)
    try:
        connection.putrequest("GET", path, skip_accept_encoding=True)
        connection.putheader("Accept", accept)
        connection.endheaders()
        yield connection.getresponse()
    finally:
        connection.close()


@pytest.fixture(params=["granian", "gunicorn"])
def either_server(request: pytest.FixtureRequest) -> LiveServer:
    server: LiveServer = request.getfixturevalue("live_server" if request.param == "granian" else "gunicorn_server")
    return server


@pytest.mark.parametrize("path", RAW_PATHS)
def test_hostile_request_lines_never_redirect_off_host_or_fail(either_server: LiveServer, path: str) -> None:
    with raw_get(either_server, path) as answer:
        body = answer.read().decode("utf-8", "replace")
        assert answer.status in (400, 404), (path, answer.status)
        location = answer.getheader("Location")
        assert location is None or (location.startswith("/") and not location.startswith("//"))
        assert "<script>" not in body and "evil.example" not in body


def test_id_redirects_relative_to_the_document(live_server: LiveServer) -> None:
    with raw_get(live_server, "/id/person/peter-davies", "text/turtle") as answer:
        assert answer.status == 303
        assert answer.getheader("Location") == "/doc/person/peter-davies"


def test_dumps_download_from_the_served_dist(live_server: LiveServer) -> None:
    with raw_get(live_server, "/dumps/ceopgraph.nt", "*/*") as answer:
        assert answer.status == 200
        assert answer.getheader("Content-Type", "").startswith("application/n-triples")
        assert len(answer.read()) > 10_000


def test_pages_report_their_render_time(live_server: LiveServer) -> None:
    with raw_get(live_server, "/data/annual-review-2012-13") as answer:
        answer.read()
        timing = answer.getheader("Server-Timing", "")
        assert timing.startswith("app;dur=")
        assert float(timing.split("=", 1)[1]) >= 0  # how fast: bench/scale.py, not a test


@pytest.mark.parametrize(
    "path",
    ["/doc/organisation/ceop", "/contexts/ceopgraph.jsonld", "/.well-known/void", "/dumps/ceopgraph.nt",
     "/id/organisation/ceop", "/"],
)  # fmt: skip
def test_documents_and_the_context_are_readable_cross_origin(live_server: LiveServer, path: str) -> None:
    """A JavaScript app on another site could not read our documents or JSON-LD context (no CORS)."""
    url = live_server.url.rstrip("/") + path
    origin = {"Origin": "https://elsewhere.example"}
    for _ in range(2):  # the second answer may be replayed: it must carry the same headers
        answer = requests.get(
            url, headers={**origin, "Accept": "application/ld+json"}, allow_redirects=False, timeout=10
        )
        assert answer.status_code in (200, 303)
        assert answer.headers["Access-Control-Allow-Origin"] == "*"
        assert "Location" in answer.headers["Access-Control-Expose-Headers"]
        assert "Access-Control-Allow-Credentials" not in answer.headers
    preflight = requests.options(url, headers={**origin, "Access-Control-Request-Method": "GET"}, timeout=10)
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Methods"] == "GET, HEAD, OPTIONS"
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
