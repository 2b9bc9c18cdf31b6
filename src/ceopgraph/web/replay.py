"""Answers replayed before Flask runs: repeated GET queries and resource pages, per dataset version.

The data is read-only, so the whole answer to a ``GET /sparql?query=…`` or to a page under ``/doc/``,
``/def/`` or ``/data/`` (status, headers, body) stays right until the dataset version changes. Once an
answer is cached, Flask's request handling (routing, request and response objects, hooks) costs far
more than finding it, so the first answer goes through the app as usual and is recorded; the same
request is then replayed with the same headers, a fresh ``Server-Timing`` and the same access log line.

What makes two requests the same is everything the answer depends on: the dataset version, the scheme
and ``Host`` (after ``web.proxies`` applied what trusted proxies forwarded), the path prefix, the path
as the client sent it (the app refuses encoded separators in the raw path, so the raw path is part of
the key, not only the decoded one), the query string, ``Accept`` (answers ``Vary: Accept``), ``Accept-Encoding``
and ``Range`` (a cube's table is a file, sent compressed or in part) and the conditional headers
(``If-None-Match``, ``If-Modified-Since``, ``If-Range``): a 304 is recorded and replayed like a
200, for exactly the validators it answered. HEAD is answered from a recorded GET, without the body,
and never recorded itself (its body is empty). Only 200 and 304 are recorded, never an error; a
store that cannot tell its version (a remote store that is down) sends the request to the app, which
answers 502/503 with its message. Bounded in bytes by ``answer_cache_mb``
(``CEOPGRAPH_ANSWER_CACHE_MB``; 0 turns it off), least recently used first out.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from ceopgraph.store.jobs import StoreError
from ceopgraph.web import middleware

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

# The endpoint answers queries at both (``web.sparql``).
SPARQL_PATHS = ("/sparql", "/sparql/")
# The linked-data documents (``web.resources``); ``/id/`` answers are 303s, cheap already.
RESOURCE_PREFIXES = ("/doc/", "/def/", "/data/")
# Request headers an answer depends on, besides the path and the query string.
# A cube's table is a file of the dumps under ``/data/``: its answer depends on the codings accepted
# (``web.compression``) and on a byte range too.
_KEY_HEADERS = (
    "HTTP_ACCEPT",
    "HTTP_IF_NONE_MATCH",
    "HTTP_IF_MODIFIED_SINCE",
    "HTTP_ACCEPT_ENCODING",
    "HTTP_RANGE",
    "HTTP_IF_RANGE",
)
_REPLAYED_STATUSES = ("200 ", "304 ")
# One answer may take at most this share of the budget, so a few large ones cannot flush the rest.
_LARGEST_SHARE = 8
# What an entry costs besides its strings (the objects holding them), roughly.
_ENTRY_OVERHEAD = 400

Key = tuple[str, ...]


@dataclass(frozen=True)
class Recorded:
    status: str
    headers: list[tuple[str, str]]  # without Server-Timing, which is measured afresh
    body: bytes
    query_hash: str  # for the access log: the SPARQL query's hash, "-" for pages
    cost: int  # bytes counted against the budget: the body, the headers and the key (a 304 has no body)


def replayable(environ: WSGIEnvironment) -> bool:
    """GET or HEAD of a SPARQL query (not the bare endpoint: editor and service description) or of
    a resource document without a query string (pages take none; this keeps junk out of the cache)."""
    if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
        return False
    path = environ.get("PATH_INFO", "")
    if path in SPARQL_PATHS:
        return bool(environ.get("QUERY_STRING"))
    return path.startswith(RESOURCE_PREFIXES) and not environ.get("QUERY_STRING")


class Versioned(Protocol):
    """All the cache asks of a store: its version, which keys every entry (``store.protocol.Store``)."""

    @property
    def version(self) -> str: ...


class ReplayCache:
    """WSGI middleware in front of the Flask app: see the module's docstring."""

    def __init__(self, store: Versioned, wsgi_app: WSGIApplication, max_bytes: int) -> None:
        self._store = store
        self._next = wsgi_app
        self._max_bytes = max_bytes
        self._entries: OrderedDict[Key, Recorded] = OrderedDict()
        self._size = 0
        self._version = ""
        self._lock = threading.Lock()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if self._max_bytes <= 0 or not replayable(environ):
            return self._next(environ, start_response)
        started = time.perf_counter()
        try:
            version = self._store.version
        except StoreError:  # a remote store that is down: the app answers 502/503 with its message
            return self._next(environ, start_response)
        raw = str(environ.get("RAW_URI") or environ.get("REQUEST_URI") or "")
        key: Key = (
            version,
            environ.get("wsgi.url_scheme", ""),
            environ.get("HTTP_HOST", ""),
            environ.get("SCRIPT_NAME", ""),
            environ.get("PATH_INFO", ""),
            raw,
            environ.get("QUERY_STRING", ""),
            *(environ.get(name, "") for name in _KEY_HEADERS),
        )
        found = self._get(key)
        if found is None:
            if environ["REQUEST_METHOD"] == "HEAD":
                return self._next(environ, start_response)
            return self._record(key, environ, start_response)
        elapsed_ms = (time.perf_counter() - started) * 1000
        start_response(found.status, [*found.headers, middleware.server_timing(elapsed_ms)])
        method = environ["REQUEST_METHOD"]
        status = int(found.status[:3])
        middleware.log_line(environ.get("REMOTE_ADDR") or "-", method, environ["PATH_INFO"], status, elapsed_ms,
                           found.query_hash)  # fmt: skip
        return [b""] if method == "HEAD" else [found.body]

    def _get(self, key: Key) -> Recorded | None:
        with self._lock:
            if key[0] != self._version:  # a new dataset version: every answer of the old one is stale
                self._entries.clear()
                self._size = 0
                self._version = key[0]
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
            return found

    def _record(self, key: Key, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        seen: dict[str, Any] = {}

        def recording_start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            seen["status"], seen["headers"] = status, headers
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        chunks = self._next(environ, recording_start_response)
        status = str(seen.get("status", ""))
        headers = [(k, v) for k, v in seen.get("headers", []) if k.lower() != "server-timing"]
        query_hash = next((v for k, v in headers if k.lower() == "x-query-hash"), None)
        if not status.startswith(_REPLAYED_STATUSES) or (environ["PATH_INFO"] in SPARQL_PATHS and query_hash is None):
            return chunks
        try:  # pages and cached query answers are bytes in memory, never a stream
            body = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        cost = len(body) + sum(len(k) + len(v) for k, v in headers) + sum(map(len, key)) + _ENTRY_OVERHEAD
        if cost <= self._max_bytes // _LARGEST_SHARE:
            self._put(key, Recorded(status, headers, body, query_hash or "-", cost))
        return [body]

    def _put(self, key: Key, recorded: Recorded) -> None:
        with self._lock:
            if key[0] != self._version:
                return  # recorded while the version changed: not worth keeping
            previous = self._entries.pop(key, None)
            self._size += recorded.cost - (previous.cost if previous else 0)
            self._entries[key] = recorded
            while self._size > self._max_bytes and self._entries:
                _, evicted = self._entries.popitem(last=False)
                self._size -= evicted.cost
