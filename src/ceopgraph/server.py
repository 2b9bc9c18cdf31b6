"""Run the app under gunicorn, a production WSGI server, from the command line.

Each worker builds its own app and store after the fork (no preloading): pyoxigraph's store is not
shared between processes, and a store per worker keeps workers independent.
"""

from __future__ import annotations

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


def serve(make_app: Callable[[], Flask], host: str, port: int, workers: int, threads: int) -> None:
    """Serve until stopped; blocks."""
    options = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread",
        "keepalive": 5,
        "accesslog": "-",
        "errorlog": "-",
        "preload_app": False,
        "graceful_timeout": 5,
        # One control socket per user by default: several servers (tests, benchmarks) would clash.
        "control_socket_disable": True,
    }
    GunicornServer(make_app, options).run()
