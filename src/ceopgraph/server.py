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
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from ceopgraph.headfirst import LIMIT_REQUEST_FIELD_SIZE, LIMIT_REQUEST_FIELDS, LIMIT_REQUEST_LINE
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


SERVERS = ("granian", "gunicorn")


def serve(
    make_app: Callable[[], Flask],
    host: str,
    port: int,
    workers: int,
    threads: int,
    server: str = "granian",
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
        "worker_class": "ceopgraph.headfirst.HeadFirstWorker",
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
        "worker_exit": _close_worker_app,
    }
    GunicornServer(make_app, options).run()


def _serve_granian(
    make_app: Callable[[], Flask], host: str, port: int, workers: int, threads: int, header_timeout_s: float
) -> None:
    """Granian's WSGI interface: worker processes forked from here, each loading its own app."""
    from granian.constants import Interfaces
    from granian.http import HTTP1Settings
    from granian.server import Server

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
