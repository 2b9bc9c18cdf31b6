"""One access log line per request: method, path, status, time taken and, for queries, a query hash.

The query itself is never logged (it can be long or carry personal data); its hash (also sent as
``X-Query-Hash``) is enough to find a query a user reports.
"""

from __future__ import annotations

import logging
import time

from flask import Flask, Response, g, request

logger = logging.getLogger("ceopgraph.access")


def _start() -> None:
    g.started = time.perf_counter()


def log_line(remote_addr: str, method: str, path: str, status: int, elapsed_ms: float, query_hash: str) -> None:
    """The one format of an access line, also written by the replay cache (``web.replay.ReplayCache``)."""
    if logger.isEnabledFor(logging.INFO):
        logger.info('%s "%s %s" %d %.2fms query=%s', remote_addr, method, path, status, elapsed_ms, query_hash)


def _log(response: Response) -> Response:
    if logger.isEnabledFor(logging.INFO):
        elapsed_ms = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
        log_line(
            request.remote_addr or "-",
            request.method,
            request.path,
            response.status_code,
            elapsed_ms,
            g.get("query_hash", "-"),
        )
    return response


def install(app: Flask) -> None:
    app.before_request(_start)
    app.after_request(_log)
