"""Admission: which expensive requests (an uncached query, a validation) may start now.

An expensive request holds a server thread while a worker process does its work, so without a bound a
burst of them would hold every thread and a page or a cached answer, which needs no worker, would wait
behind them. Two bounds, per server worker: at most ``busy_limit`` expensive requests at once (running
or waiting for a worker), which keeps the other threads for cheap work, and at most ``per_client``
queries from one client address, so one client cannot take the endpoint from everyone else. Past them
the request is refused at once (503 and 429, with ``Retry-After``) instead of queueing.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from ceopgraph.sparql import ProtocolError


class ServerBusy(Exception):
    """As many expensive requests as the server takes are running or waiting (HTTP 503)."""


class TooManyQueries(ProtocolError):
    """The client has as many queries running as it may; it should wait for one (HTTP 429)."""

    status = 429


class Admission:
    """The two bounds of the module's docstring, for one server worker."""

    def __init__(self, busy_limit: int, per_client: int) -> None:
        self._busy_limit = max(1, busy_limit)
        self._per_client = max(1, per_client)
        self._busy = 0
        self._by_client: dict[str, int] = {}
        self._lock = threading.Lock()

    @contextmanager
    def expensive(self, client: str | None = None) -> Iterator[None]:
        """Hold a place for the block (and one of ``client``'s, when given), or refuse at once."""
        with self._lock:
            if self._busy >= self._busy_limit:
                raise ServerBusy(f"the server is running {self._busy} long requests already; try again in a moment")
            running = self._by_client.get(client, 0) if client is not None else 0
            if client is not None and running >= self._per_client:
                raise TooManyQueries(
                    f"{running} queries from your address are running already (the limit is {self._per_client}); "
                    "wait for one to finish"
                )
            self._busy += 1
            if client is not None:
                self._by_client[client] = running + 1
        try:
            yield
        finally:
            with self._lock:
                self._busy -= 1
                if client is not None:
                    left = self._by_client[client] - 1
                    if left:
                        self._by_client[client] = left
                    else:
                        del self._by_client[client]
