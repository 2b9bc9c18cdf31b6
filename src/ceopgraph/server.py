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
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication


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
    make_app: Callable[[], Flask], host: str, port: int, workers: int, threads: int, server: str = "gunicorn"
) -> None:
    """Serve until stopped; blocks."""
    _log_to_stderr()
    if server == "granian":
        _serve_granian(make_app, host, port, workers, threads)
        return
    options = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread",
        "keepalive": 30,
        "worker_connections": 1000,
        # The app writes one access line per request itself (with the query hash): no second log.
        "accesslog": None,
        "errorlog": "-",
        "preload_app": False,
        "graceful_timeout": 5,
        # Long GET queries: the largest request line gunicorn allows (the app caps queries itself).
        "limit_request_line": 8190,
        # One control socket per user by default: several servers (tests, benchmarks) would clash.
        "control_socket_disable": True,
    }
    GunicornServer(make_app, options).run()


def _serve_granian(make_app: Callable[[], Flask], host: str, port: int, workers: int, threads: int) -> None:
    """Granian's WSGI interface: worker processes forked from here, each loading its own app."""
    try:
        from granian.constants import Interfaces
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
    )
    server.serve(target_loader=lambda *_: make_app())
