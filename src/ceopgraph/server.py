"""Run the app under a production WSGI server from the command line: Granian (the default), or gunicorn.

Each worker builds its own app and in-memory store after the fork (no preloading: a store per worker
keeps workers independent, and nothing threaded is forked). The one thing written before the fork is
the on-disk copy of the data that every worker's query processes open read-only (``cli.cmd_serve``),
so the data sits once in the page cache, not once per query process. Both servers keep connections
alive, so clients that reuse them (SPARQLWrapper sessions, browsers, load generators) skip a TCP
handshake per query.

Granian does the HTTP in Rust and calls the same WSGI app: an empty app answers about 56,000 requests a
second on two cores under it, 10,000 under gunicorn, which parses HTTP in Python (bench/results.md), so
gunicorn alone would cap every query class below Oxigraph's rate. One difference remains: Granian passes
no raw request URI to the app (gunicorn's ``RAW_URI``), so a percent-encoded slash in a linked-data path
is decoded before the app sees it. Every decoded segment is still validated (``..``, empty segments,
backslashes and NUL are refused as before); only ``a%2Fb`` between two valid segments resolves as
``a/b`` does, where gunicorn answers 404. ``--server gunicorn`` keeps that refusal.

Slow clients hold no worker thread: Granian reads heads in Rust, asynchronously, within
``header_timeout_s``; gunicorn runs ``HeadFirstWorker`` (``ceopgraph.headfirst``), which reads the head
and the body in its event loop and hands a connection to a thread only once they are in, within
``header_timeout_s`` and ``body_timeout_s`` (else 408).

Both servers speak HTTP/1.1 only; a TLS-terminating proxy in front does HTTP/2. Granian's HTTP/2 has
none of those deadlines (its only settings are flow-control windows, stream counts and keep-alive
pings): a stream whose head never ends stayed open 40 s, idle connections were never dropped, and a
POST stream abandoned before its body left a worker thread spinning at 100% CPU for good (Granian's
WSGI body read takes a reset stream's endless errors for empty data). So Granian is started
HTTP/1-only: a client that opens with the HTTP/2 preface is disconnected at once, unanswered, and
gunicorn (HTTP/1.1 by default, set here all the same) answers it 400. Idle connections have one bound
under both servers, ``header_timeout_s``: a connection on which no request head has begun to arrive
within it, since it opened or since its last answer, is closed (Granian's header timer runs while a
connection is idle; gunicorn's keep-alive timeout is set to it).
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from ceopgraph.headfirst import LIMIT_REQUEST_FIELD_SIZE, LIMIT_REQUEST_FIELDS, LIMIT_REQUEST_LINE
from ceopgraph.processes.scratch import owned_scratch
from ceopgraph.web.services import close_app


def _close_worker_app(server: Any, worker: Any) -> None:
    """gunicorn's ``worker_exit`` hook: the exiting worker's app stops its checker, validation and query
    processes and closes its store (``web.services``), instead of leaving them to notice the closed
    sockets. Granian has no such hook: there the processes exit as their sockets close."""
    app = getattr(worker, "wsgi", None)
    if isinstance(app, Flask):
        close_app(app)


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


def serve(
    make_app: Callable[[], Flask],
    host: str,
    port: int,
    workers: int,
    threads: int,
    server: str = "granian",
    header_timeout_s: float = 10.0,
) -> None:
    """Serve until stopped; blocks. The workers' temporary files go in a folder of this server's own,
    removed when it stops (``_own_scratch``)."""
    _log_to_stderr()
    with _own_scratch():
        if server == "granian":
            _serve_granian(make_app, host, port, workers, threads, header_timeout_s)
        else:
            _serve_gunicorn(make_app, host, port, workers, threads, header_timeout_s)


@contextmanager
def _own_scratch() -> Iterator[None]:
    """A temporary folder for everything the server's processes write to one (``TMPDIR`` and ``tempfile``'s
    default, which the forked workers and their processes inherit), removed with what is in it when the
    server stops. A worker's scratch files, such as the copy of a draft's data its query processes read
    (``store.embedded``), were left behind at every stop under Granian, whose workers exit without
    closing their app (``os._exit``: no exit handler runs), and by any worker killed. A server killed
    before it could remove its folder has it removed by the next one to start (``owned_scratch``)."""
    folder = str(owned_scratch("ceopgraph-serve-"))
    before = (os.environ.get("TMPDIR"), tempfile.tempdir)
    os.environ["TMPDIR"] = tempfile.tempdir = folder
    try:
        yield
    finally:
        if before[0] is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = before[0]
        tempfile.tempdir = before[1]
        shutil.rmtree(folder, ignore_errors=True)


def _serve_gunicorn(
    make_app: Callable[[], Flask], host: str, port: int, workers: int, threads: int, header_timeout_s: float
) -> None:
    options = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "ceopgraph.headfirst.HeadFirstWorker",
        # A kept-alive connection waits for its next request as long as a fresh one may (Granian's
        # bound too): idle connections cannot pile up for longer than a head may take.
        "keepalive": max(1, math.ceil(header_timeout_s)),
        "http_protocols": "h1",
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
        "worker_exit": _close_worker_app,
    }
    GunicornServer(make_app, options).run()


def _serve_granian(
    make_app: Callable[[], Flask], host: str, port: int, workers: int, threads: int, header_timeout_s: float
) -> None:
    """Granian's WSGI interface: worker processes forked from here, each loading its own app."""
    from granian.constants import HTTPModes, Interfaces
    from granian.http import HTTP1Settings
    from granian.server import Server

    server = Server(
        "ceopgraph",  # a name only: the app comes from the loader below
        address=host,
        port=port,
        interface=Interfaces.WSGI,
        http=HTTPModes.http1,  # no HTTP/2: see the module's docstring
        workers=workers,
        blocking_threads=threads,
        log_access=False,  # the app writes one access line per request itself
        workers_kill_timeout=5,
        http1_settings=HTTP1Settings(header_read_timeout=int(header_timeout_s * 1000)),
    )
    server.serve(target_loader=lambda *_: make_app())
