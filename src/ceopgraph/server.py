"""Run the app under gunicorn, a production WSGI server, from the command line.

Each worker builds its own app and store after the fork (no preloading): pyoxigraph's store is not
shared between processes, and a store per worker keeps workers independent. gthread workers keep
connections alive, so clients that reuse them (SPARQLWrapper sessions, browsers, load generators)
skip a TCP handshake per query.
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


def serve(make_app: Callable[[], Flask], host: str, port: int, workers: int, threads: int) -> None:
    """Serve until stopped; blocks."""
    _log_to_stderr()
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
