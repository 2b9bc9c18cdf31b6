"""Run the app under a production WSGI server from the command line: gunicorn, or Granian.

Each worker builds its own app and in-memory store after the fork (no preloading: a store per worker
keeps workers independent, and nothing threaded is forked). The one thing written before the fork is
the on-disk copy of the data that every worker's query processes open read-only (``cli.cmd_serve``),
so the data sits once in the page cache, not once per query process. gthread workers keep
connections alive, so clients that reuse them (SPARQLWrapper sessions, browsers, load generators)
skip a TCP handshake per query.

gunicorn (the default) parses HTTP in Python, which caps a worker at a few thousand requests a second
however little the app does; Granian (``--server granian``, the ``fast`` extra) does the HTTP in Rust
and calls the same WSGI app, about three times the throughput of cached SPARQL answers on two cores
(see bench/results.md). One difference: Granian passes no raw request URI to the app (gunicorn's
``RAW_URI``), so percent-encoded separators in a linked-data path are decoded before the app sees
them; such paths are still validated segment by segment, they just resolve instead of answering 404.

Slow clients hold no worker thread. gunicorn's gthread worker gives a connection a thread as soon as
its first byte arrives and then reads the request in that thread, so a client that sends one header
byte every few seconds (slowloris), or trickles a body, holds a thread as long as it likes;
``HeadFirstWorker`` reads the head, and a body of declared length, in the worker's event loop and
hands a connection to a thread only once they are in, within ``header_timeout_s`` and
``body_timeout_s``, else it answers 408 and closes the connection. Granian reads heads in Rust,
asynchronously, and is given the same head time limit (``header_timeout_s`` here).
"""

from __future__ import annotations

import contextlib
import logging
import os
import selectors
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication
from gunicorn.workers.gthread import TConn, ThreadWorker

from ceopgraph.config import load_settings

# gunicorn's limits on a request head, set below: a head larger than they allow is refused by its
# parser, so the event loop never buffers more than that per connection (about 270 KB).
LIMIT_REQUEST_LINE = 8190
LIMIT_REQUEST_FIELDS = 64
LIMIT_REQUEST_FIELD_SIZE = 4096
# Bytes of bodies one worker's event loop holds at once; past it, bodies are read in a thread.
BODY_BUFFER_BUDGET = 64 * 1024 * 1024
_HEAD_END = b"\r\n\r\n"
_READ_SIZE = 64 * 1024


@dataclass
class _Arriving:
    """A request still arriving: its bytes so far, when it must be in, and whether its head is."""

    data: bytearray
    deadline: float
    head_done: bool = False


class HeadFirstWorker(ThreadWorker):
    """gthread, except that a request is read by the event loop and reaches a thread complete.

    A connection with bytes to read is registered with the worker's poller; each readable event
    appends what arrived (non-blocking) to its buffer. Once the buffer holds a whole head and, when
    the head declares a ``Content-Length`` within the app's largest body, that many body bytes (a
    readiness test only: gunicorn's parser still parses the request), or the client closed its side,
    or the head is larger than gunicorn accepts, the connection goes to a thread with the bytes handed
    to the parser, which parses and answers as usual. A head must be in within ``header_timeout_s``,
    a body within ``body_timeout_s`` after it, else 408 and the connection is closed. Chunked bodies,
    and bodies past the worker's buffer budget, are read in the thread under the app's body deadline
    (``web.body``). TLS connections (not used here) keep gunicorn's behaviour.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        settings = load_settings()  # the environment's, as the app's are
        self._head_timeout_s = settings.header_timeout_s
        self._body_timeout_s = settings.body_timeout_s
        self._body_limit = max(settings.max_query_bytes, settings.max_submission_bytes) + 64 * 1024
        self._head_limit = LIMIT_REQUEST_LINE + LIMIT_REQUEST_FIELDS * (LIMIT_REQUEST_FIELD_SIZE + 2) + 4
        self._arriving: dict[TConn, _Arriving] = {}
        self._buffered = 0  # bytes held in self._arriving

    def enqueue_req(self, conn: TConn) -> None:
        """To a thread once the request is in (see the class); to the poller until then."""
        if self.cfg.is_ssl or self._ready(conn, b"") is None:
            super().enqueue_req(conn)
            return
        conn.sock.setblocking(False)
        self._arriving[conn] = _Arriving(bytearray(), time.monotonic() + self._head_timeout_s)
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_bytes, conn))

    def _ready(self, conn: TConn, received: bytes) -> str | None:
        """None when the request is complete enough for a thread, else the part still arriving ("head", "body").

        Counts the bytes read ahead on a kept-alive connection and ``received``.
        """
        ahead = conn.parser.unreader.buf.getvalue() if conn.parser is not None else b""
        data = ahead + received
        start = len(data) - len(data.lstrip(b"\r\n"))
        end = data.find(_HEAD_END, start)
        if end < 0:
            return None if len(data) > self._head_limit else "head"
        length = _declared_length(bytes(data[start:end]))
        if length is None or length > self._body_limit or self._buffered > BODY_BUFFER_BUDGET:
            return None
        return None if len(data) - (end + len(_HEAD_END)) >= length else "body"

    def _on_bytes(self, conn: TConn, _sock: Any) -> None:
        arriving = self._arriving[conn]
        try:
            data = conn.sock.recv(_READ_SIZE)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        arriving.data += data
        self._buffered += len(data)
        arriving_part = self._ready(conn, bytes(arriving.data)) if data else None
        if arriving_part is not None:
            if arriving_part == "body" and not arriving.head_done:  # the head is in: the body's time starts
                arriving.head_done = True
                arriving.deadline = time.monotonic() + self._body_timeout_s
            return
        # Complete, too large, or the client stopped sending: the parser answers or closes, in a thread.
        self._stop_reading(conn)
        conn.sock.setblocking(True)
        conn.head_bytes = bytes(arriving.data)
        super().enqueue_req(conn)

    def _stop_reading(self, conn: TConn) -> None:
        arriving = self._arriving.pop(conn)
        self._buffered -= len(arriving.data)
        self.poller.unregister(conn.sock)

    def handle(self, conn: TConn) -> Any:
        """Give gunicorn's parser the bytes the event loop read, then handle the request as gthread does."""
        head: bytes = getattr(conn, "head_bytes", b"")
        if head:
            conn.head_bytes = b""
            conn.init()
            unreader = conn.parser.unreader
            unreader.buf.seek(0, os.SEEK_END)
            unreader.buf.write(head)
            conn.data_ready = True
        return super().handle(conn)

    def murder_pending(self) -> None:
        """gthread's expiry of deferred connections, and of requests not in on time: 408, closed."""
        super().murder_pending()
        now = time.monotonic()
        for conn in [c for c, arriving in self._arriving.items() if arriving.deadline <= now]:
            part, limit = (
                ("body", self._body_timeout_s) if self._arriving[conn].head_done else ("head", self._head_timeout_s)
            )
            self._stop_reading(conn)
            message = f"Request timeout: the request {part} did not arrive within {limit:g} seconds\n"
            with contextlib.suppress(OSError):  # the client is gone, or its buffer full: closed either way
                conn.sock.send(
                    b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Type: text/plain\r\n"
                    + f"Content-Length: {len(message)}\r\n\r\n{message}".encode()
                )
            self.nr_conns -= 1
            conn.close()


def _declared_length(head: bytes) -> int | None:
    """The one ``Content-Length`` a head declares, or None (none, several, chunked, not a number)."""
    lengths = []
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"transfer-encoding":
            return None
        if name == b"content-length":
            lengths.append(value.strip())
    if len(lengths) != 1 or not lengths[0].isdigit():
        return None
    return int(lengths[0])


class GunicornServer(BaseApplication):
    def __init__(self, make_app: Callable[[], Flask], options: dict[str, Any]) -> None:
        self._make_app = make_app
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        return self._make_app()


def _log_to_stderr() -> None:
    """The app's access log (``ceopgraph.access``) and warnings go to stderr, next to gunicorn's."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s [%(process)d] %(name)s %(message)s"))
    logger = logging.getLogger("ceopgraph")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


SERVERS = ("gunicorn", "granian")


def serve(
    make_app: Callable[[], Flask],
    host: str,
    port: int,
    workers: int,
    threads: int,
    server: str = "gunicorn",
    header_timeout_s: float = 10.0,
) -> None:
    """Serve until stopped; blocks."""
    _log_to_stderr()
    if server == "granian":
        _serve_granian(make_app, host, port, workers, threads, header_timeout_s)
        return
    options = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": f"{__name__}.HeadFirstWorker",
        "keepalive": 30,
        "worker_connections": 1000,
        # The app writes one access line per request itself (with the query hash): no second log.
        "accesslog": None,
        "errorlog": "-",
        "preload_app": False,
        "graceful_timeout": 5,
        # Long GET queries: the largest request line gunicorn allows (the app caps queries itself).
        "limit_request_line": LIMIT_REQUEST_LINE,
        "limit_request_fields": LIMIT_REQUEST_FIELDS,
        "limit_request_field_size": LIMIT_REQUEST_FIELD_SIZE,
        # No forwarding header is gunicorn's to believe (SCRIPT_NAME, X-Forwarded-*): the app applies
        # those of the configured trusted proxies itself, the same under every server (web/proxies.py).
        "forwarded_allow_ips": "",
        # One control socket per user by default: several servers (tests, benchmarks) would clash.
        "control_socket_disable": True,
    }
    GunicornServer(make_app, options).run()


def _serve_granian(
    make_app: Callable[[], Flask], host: str, port: int, workers: int, threads: int, header_timeout_s: float
) -> None:
    """Granian's WSGI interface: worker processes forked from here, each loading its own app."""
    try:
        from granian.constants import Interfaces
        from granian.http import HTTP1Settings
        from granian.server import Server
    except ImportError as exc:  # an optional dependency
        raise SystemExit("--server granian needs Granian: pip install 'ceopgraph[fast]'") from exc

    server = Server(
        "ceopgraph",  # a name only: the app comes from the loader below
        address=host,
        port=port,
        interface=Interfaces.WSGI,
        workers=workers,
        blocking_threads=threads,
        log_access=False,  # the app writes one access line per request itself
        workers_kill_timeout=5,
        http1_settings=HTTP1Settings(header_read_timeout=int(header_timeout_s * 1000)),
    )
    server.serve(target_loader=lambda *_: make_app())
