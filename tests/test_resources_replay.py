"""Pages replayed before Flask runs (``web.replay``): the same bytes and headers as the app's own answer,
per representation, for conditional requests and HEAD; never an error, never past a hostile raw path,
never a stale version, never more than the byte budget."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from flask import Flask

from ceopgraph.config import Settings, load_settings
from ceopgraph.store.jobs import StoreUnavailable
from ceopgraph.web.app import create_app
from ceopgraph.web.pages import notfound, resource
from ceopgraph.web.replay import ReplayCache, replayable

from .apps import embedded_app

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

PAGE = "/doc/organisation/ceop"


@pytest.fixture
def app(settings: Settings, built_dist: Path) -> Iterator[Flask]:
    """A fresh app per test: each starts with an empty replay cache."""
    with embedded_app(settings, built_dist) as app:
        yield app


@pytest.fixture
def renders(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The IRIs whose HTML page the app itself built: a replayed answer adds none."""
    built: list[str] = []
    original = resource.resource_page

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        built.append(str(args[3]))
        return original(*args, **kwargs)

    monkeypatch.setattr(resource, "resource_page", counting)
    return built


def _same_headers(a: dict[str, str], b: dict[str, str]) -> bool:
    return {k: v for k, v in a.items() if k != "Server-Timing"} == {k: v for k, v in b.items() if k != "Server-Timing"}


def test_a_repeated_page_is_replayed_with_the_same_bytes_and_headers(
    app: Flask, renders: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    client = app.test_client()
    first = client.get(PAGE, headers={"Accept": "text/html"})
    with caplog.at_level(logging.INFO, logger="ceopgraph.access"):
        second = client.get(PAGE, headers={"Accept": "text/html"})
    assert first.status_code == second.status_code == 200
    assert second.data == first.data
    assert _same_headers(dict(first.headers), dict(second.headers))
    assert second.headers["Server-Timing"].startswith("app;dur=")
    assert "Content-Security-Policy" in second.headers and second.headers["Vary"] == "Accept"
    assert len(renders) == 1
    [line] = [r.getMessage() for r in caplog.records if r.name == "ceopgraph.access"]
    assert f'"GET {PAGE}" 200' in line and line.endswith("query=-")


def test_each_representation_is_kept_apart(app: Flask) -> None:
    client = app.test_client()
    answers: dict[str, bytes] = {}
    for _ in range(2):
        for accept in ("text/html", "text/turtle", "application/ld+json"):
            answer = client.get(PAGE, headers={"Accept": accept})
            assert answer.mimetype == accept and "Accept" in answer.vary
            assert answers.setdefault(accept, answer.data) == answer.data
        extension = client.get(PAGE + ".ttl", headers={"Accept": "text/html"})
        assert extension.mimetype == "text/turtle" and extension.data == answers["text/turtle"]


@pytest.mark.parametrize(
    ("first", "then"),
    [({"Accept-Encoding": "br"}, {}), ({}, {"Accept-Encoding": "gzip"}), ({"Range": "bytes=0-9"}, {})],
)
def test_a_tables_codings_and_ranges_are_kept_apart(app: Flask, first: dict[str, str], then: dict[str, str]) -> None:
    """A cube's table is a file of the dumps, sent compressed or in part as asked: what one client was sent is
    never replayed to another that asked otherwise."""
    client = app.test_client()
    path = "/data/annual-review-2012-13.csv"
    with client.get(path, headers=first) as answer:
        assert answer.status_code == (206 if "Range" in first else 200)
    for _ in range(2):  # the second from the cache
        with client.get(path, headers=then) as replayed:
            assert replayed.status_code == 200
            assert replayed.headers.get("Content-Encoding") == then.get("Accept-Encoding")


def test_conditional_requests_get_304_for_their_own_validators(app: Flask, renders: list[str]) -> None:
    client = app.test_client()
    first = client.get(PAGE)
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    for _ in range(2):
        fresh = client.get(PAGE, headers={"If-None-Match": etag})
        assert fresh.status_code == 304 and fresh.data == b"" and fresh.headers["ETag"] == etag
        assert client.get(PAGE, headers={"If-Modified-Since": modified}).status_code == 304
        stale = client.get(PAGE, headers={"If-None-Match": '"another-version-html"'})
        assert stale.status_code == 200 and stale.data == first.data
    # The ETag comes from the bytes: the first GET, then the first of each kind of conditional request
    # (which renders to learn whether the client's copy is current); the second round is all replayed.
    assert len(renders) == 4


def test_head_is_answered_from_a_recorded_get_and_never_recorded(app: Flask, renders: list[str]) -> None:
    client = app.test_client()
    head_first = client.head(PAGE)
    assert head_first.status_code == 200 and head_first.data == b""
    full = client.get(PAGE)
    assert full.status_code == 200 and len(full.data) > 1000  # not an empty body recorded from HEAD
    head = client.head(PAGE)
    assert head.status_code == 200 and head.data == b""
    assert _same_headers(dict(head.headers), dict(full.headers))
    assert len(renders) == 2


def test_errors_are_never_replayed(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    hints: list[str] = []
    original = notfound.nearby

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        hints.append(args[2])
        return original(*args, **kwargs)

    monkeypatch.setattr(notfound, "nearby", counting)
    client = app.test_client()
    for _ in range(2):
        assert client.get("/doc/organisation/no-such-body", headers={"Accept": "text/html"}).status_code == 404
        assert client.get(PAGE, headers={"Accept": "image/png"}).status_code == 406
    assert len(hints) == 2


def test_a_hostile_raw_path_is_not_answered_from_the_page_it_decodes_to(app: Flask) -> None:
    client = app.test_client()
    assert client.get(PAGE).status_code == 200
    encoded = "/doc/organisation%2Fceop"
    answer = client.get("/", environ_overrides={"PATH_INFO": PAGE, "RAW_URI": encoded, "REQUEST_URI": encoded})
    assert answer.status_code == 404


class _DownStore:
    @property
    def version(self) -> str:
        raise StoreUnavailable("the SPARQL store at http://127.0.0.1:9/ does not answer")

    def ask(self, query: str, bindings: object = None) -> bool:
        raise StoreUnavailable("the SPARQL store at http://127.0.0.1:9/ does not answer")


def test_a_store_that_is_down_gets_503_for_pages(settings: Settings, built_dist: Path) -> None:
    down = create_app(load_settings(environ={}, root=settings.root, dist_dir=built_dist), _DownStore())  # type: ignore[arg-type]  # a double with only the store's version
    answer = down.test_client().get(PAGE, headers={"Accept": "text/turtle"})
    assert answer.status_code == 503


# The cache itself, in front of a counting WSGI app -----------------------------------------------------


class _Versioned:
    def __init__(self) -> None:
        self.version = "v1"


class _Counting:
    """A WSGI app answering every path with a 1,000-byte page, counting what it was asked."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        self.calls.append(environ["PATH_INFO"])
        start_response("200 OK", [("Content-Type", "text/html"), ("Content-Length", "1000")])
        return [b"x" * 1000]


def _get(cache: ReplayCache, path: str) -> bytes:
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": "", "SCRIPT_NAME": ""}
    return b"".join(cache(environ, lambda status, headers, exc_info=None: lambda data: None))


def test_the_cache_stays_within_its_byte_budget_least_recently_used_out() -> None:
    inner, store = _Counting(), _Versioned()
    cache = ReplayCache(store, inner, max_bytes=8 * 1500)  # room for 8 pages (each ~1.45 kB with headers and key)
    paths = [f"/doc/page/{n}" for n in range(20)]
    for path in paths:
        assert _get(cache, path) == b"x" * 1000
    inner.calls.clear()
    for path in reversed(paths[-8:]):
        assert _get(cache, path) == b"x" * 1000
    assert inner.calls == []  # the 8 most recent are replayed
    _get(cache, paths[0])
    assert inner.calls == [paths[0]]  # the oldest was evicted


def test_a_new_dataset_version_is_never_answered_from_the_old_one() -> None:
    inner, store = _Counting(), _Versioned()
    cache = ReplayCache(store, inner, max_bytes=1 << 20)
    _get(cache, "/doc/page/1")
    _get(cache, "/doc/page/1")
    store.version = "v2"
    _get(cache, "/doc/page/1")
    assert inner.calls == ["/doc/page/1", "/doc/page/1"]


@pytest.mark.parametrize("path", [PAGE, "/sparql?query=ASK%20%7B%7D"])
def test_a_replayed_answer_carries_the_cors_headers(app: Flask, renders: list[str], path: str) -> None:
    """CORS was added on /sparql only; a replayed answer has exactly the headers recorded from the first."""
    client = app.test_client()
    first = client.get(path, headers={"Origin": "https://elsewhere.example"})
    second = client.get(path, headers={"Origin": "https://elsewhere.example"})
    assert first.status_code == second.status_code == 200
    assert len(renders) == (1 if path == PAGE else 0)  # the page was replayed, not built again
    assert _same_headers(dict(first.headers), dict(second.headers))
    assert second.headers["Access-Control-Allow-Origin"] == "*"
    assert "ETag" in second.headers["Access-Control-Expose-Headers"]


def test_an_answer_over_its_share_of_the_budget_is_not_kept() -> None:
    """One answer may take an eighth of the budget at most, so a few large ones cannot flush the rest."""
    inner, store = _Counting(), _Versioned()
    cache = ReplayCache(store, inner, max_bytes=7 * 1500)  # an eighth is below one page of ~1.45 kB
    _get(cache, "/doc/page/1")
    _get(cache, "/doc/page/1")
    assert inner.calls == ["/doc/page/1", "/doc/page/1"]


@pytest.mark.parametrize("path", ["/sparql", "/sparql/"])
def test_queries_at_both_endpoint_urls_are_replayed(path: str) -> None:
    """``/sparql/`` answers queries as ``/sparql`` does, so its repeated GETs are replayed too."""
    inner, store = _Counting(), _Versioned()
    cache = ReplayCache(store, _WithQueryHash(inner), max_bytes=1 << 20)
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": "query=ASK%7B%7D", "SCRIPT_NAME": ""}
    for _ in range(2):
        b"".join(cache(dict(environ), lambda status, headers, exc_info=None: lambda data: None))
    assert inner.calls == [path]
    assert not replayable({**environ, "QUERY_STRING": ""})  # the bare endpoint: the editor, never replayed


class _WithQueryHash:
    """The app's answer to a query carries X-Query-Hash (the replay cache records only those)."""

    def __init__(self, inner: _Counting) -> None:
        self._inner = inner

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        def with_hash(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            return start_response(status, [*headers, ("X-Query-Hash", "abc")])

        return self._inner(environ, with_hash)
