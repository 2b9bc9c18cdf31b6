"""Admission: which expensive requests (an uncached query, a validation) may start now.

An expensive request holds a server thread while a worker process does its work, so without a bound a
burst of them would hold every thread and a page or a cached answer, which needs no worker, would wait
behind them. Two bounds, per server worker: at most ``busy_limit`` expensive requests at once (running
or waiting for a worker), which keeps the other threads for cheap work, and at most ``per_client``
queries from one client address, so one client cannot take the endpoint from everyone else. Past them
the request is refused at once (503 and 429, with ``Retry-After``) instead of queueing.

Lanes stop a heavy query after a second at most, but a client that resends one as soon as it ends
would keep the fast lane busy for that second each time. So a client whose query ran long (or was
stopped) in the last ``HEAVY_MEMORY_S`` seconds is *demoted*: its queries leave the last idle query
process to everyone else.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

from ceopgraph.sparql import ProtocolError
from ceopgraph.store.jobs import QueryAnswer, QueryJob, QueryMemoryExceeded, QueryStopped
from ceopgraph.store.protocol import DelegatingStore, Store


class ServerBusy(Exception):
    """As many expensive requests as the server takes are running or waiting (HTTP 503)."""


class TooManyQueries(ProtocolError):
    """The client has as many queries running as it may; it should wait for one (HTTP 429)."""


# How long a client stays demoted after a heavy query, and how many such clients are remembered.
HEAVY_MEMORY_S = 30.0
_HEAVY_CLIENTS_KEPT = 4096


class Admission:
    """The two bounds of the module's docstring, and the demoted clients, for one server worker."""

    def __init__(self, busy_limit: int, per_client: int) -> None:
        self._busy_limit = max(1, busy_limit)
        self._per_client = max(1, per_client)
        self._busy = 0
        self._by_client: dict[str, int] = {}
        self._heavy_since: dict[str, float] = {}  # client -> when its last heavy query ended
        self._lock = threading.Lock()

    def note_heavy(self, client: str) -> None:
        """``client``'s query ran past the fast lane's budget, or was stopped: demote it for a while."""
        now = time.monotonic()
        with self._lock:
            self._heavy_since[client] = now
            if len(self._heavy_since) > _HEAVY_CLIENTS_KEPT:  # forget the oldest half, not the recent ones
                for old in sorted(self._heavy_since, key=self._heavy_since.__getitem__)[: _HEAVY_CLIENTS_KEPT // 2]:
                    del self._heavy_since[old]

    def demoted(self, client: str) -> bool:
        with self._lock:
            since = self._heavy_since.get(client)
        return since is not None and time.monotonic() - since < HEAVY_MEMORY_S

    def run(self, store: Store, job: QueryJob, client: str) -> QueryAnswer:
        """Run ``job`` (admitted by the caller) for ``client``, demoted if it was heavy lately; a query that
        runs past the fast lane's budget, or is stopped, demotes the client for a while, so resending heavy
        queries (or requesting pages that need one) does not keep the fast lane busy."""
        try:
            answer = store.execute(replace(job, demoted=job.demoted or self.demoted(client)))
        except (QueryStopped, QueryMemoryExceeded):
            self.note_heavy(client)
            raise
        if answer.ran_long:  # time spent waiting for a process does not count: that is others' doing
            self.note_heavy(client)
        return answer

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


class AdmittedStore(DelegatingStore):
    """A store for one client's page: its query-process work (``execute``: the statements a cut document
    keeps) is admitted as that client's endpoint queries are, so requesting cut pages (with a fresh
    ``Accept`` each time, past the replay cache) holds no more query processes than querying does. Its
    own queries (``select``, ``ask``…), which ordinary pages are made of, pass through untouched."""

    def __init__(self, store: Store, admission: Admission, client: str) -> None:
        self._server_store = store
        self._admission = admission
        self._client = client

    @property
    def _store(self) -> Store:
        return self._server_store

    def execute(self, job: QueryJob) -> QueryAnswer:
        """``job`` within the client's places (429 past them; 503 when the server is busy)."""
        with self._admission.expensive(self._client):
            return self._admission.run(self._store, job, self._client)

    def close(self) -> None:
        """Nothing: the store is its owner's to close."""
