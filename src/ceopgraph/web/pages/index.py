"""The subjects of our URI space, sorted: a per-app service, read once per dataset version."""

from __future__ import annotations

import bisect
import threading

from rdflib import Literal

from ceopgraph.store.protocol import Store

SUBJECTS_QUERY = "SELECT DISTINCT ?base ?s WHERE { ?s ?p ?o FILTER(isIRI(?s) && STRSTARTS(STR(?s), ?base)) }"


class SubjectIndex:
    """The sorted IRIs of every subject in our URI space, read once per dataset version.

    A 404 page's hint looks a folder up here by bisection: scanning the store for it on every miss
    would let anyone make the server scan a million triples per request with made-up paths. Stateful
    (a cache and its lock), so it is held by the app, one per app, and passed to ``notfound.nearby``.
    """

    def __init__(self) -> None:
        self._version: str | None = None
        self._iris: list[str] = []
        self._lock = threading.Lock()

    def under(self, store: Store, base: str, prefix: str, limit: int) -> list[str]:
        """Up to ``limit`` subject IRIs that start with ``prefix``, in order."""
        version = store.version
        with self._lock:
            if version != self._version:
                rows = store.select(SUBJECTS_QUERY, {"base": Literal(base)})
                self._iris = sorted({str(row["s"]) for row in rows})
                self._version = version
            iris = self._iris
        found: list[str] = []
        for iri in iris[bisect.bisect_left(iris, prefix) :]:
            if not iri.startswith(prefix) or len(found) == limit:
                break
            found.append(iri)
        return found
