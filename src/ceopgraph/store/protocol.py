"""The ``Store`` protocol the front end talks to, whatever stands behind it.

The front end never assumes the store is local: it asks for serialised answers to endpoint queries
(``execute``) or for rdflib terms from queries it wrote itself with bound values (``select``, ``ask``,
``construct``), so the embedded engine (``ceopgraph.store.embedded``) and a remote SPARQL 1.1 store
(``ceopgraph.store.remote``) stand behind the same calls.

Our own queries are ``Template`` values (``ceopgraph.sparqltext``): each knows where its bound values
join its pattern, so no store reads a query's text to bind them. A plain string is a query of ours
too, read once for that place when a store needs it.
"""

from __future__ import annotations

from typing import Protocol

from rdflib import Graph, URIRef
from rdflib.term import Node

from ceopgraph.sparqltext import Bindings, Template
from ceopgraph.store.jobs import QueryAnswer, QueryJob

Row = dict[str, Node]
OwnQuery = Template | str


class Store(Protocol):
    @property
    def version(self) -> str:
        """Changes whenever the data changes; the basis of ETags and answer caches."""

    def graphs(self) -> list[URIRef]:
        """The named graphs, sorted."""

    def select(self, query: OwnQuery, bindings: Bindings | None = None) -> list[Row]:
        """Run one of our own SELECT queries over the union default graph, values bound, not spliced."""

    def ask(self, query: OwnQuery, bindings: Bindings | None = None) -> bool:
        """Run one of our own ASK queries, values bound."""

    def construct(self, query: OwnQuery, bindings: Bindings | None = None) -> Graph:
        """Run one of our own CONSTRUCT/DESCRIBE queries, values bound; the triples as an rdflib Graph."""

    def graph_triples(self, graph: URIRef) -> Graph:
        """Every triple of one named graph."""

    def execute(self, job: QueryJob) -> QueryAnswer:
        """Run an endpoint query within ``job.timeout_s`` (QueryTimeout past it); the serialised answer."""

    def close(self) -> None:
        """Release what the store holds (worker processes, scratch copies); its owner calls it once."""


class DelegatingStore:
    """A ``Store`` that hands every call to the store it stands for now (``_store``): the current release's
    (``releases.follower.ReleaseStore``), or one client's view of the server's (``web.admission.AdmittedStore``).
    A subclass names that store and overrides only what it changes; ``close`` is each subclass's own."""

    @property
    def _store(self) -> Store:
        raise NotImplementedError

    @property
    def version(self) -> str:
        return self._store.version

    def graphs(self) -> list[URIRef]:
        return self._store.graphs()

    def select(self, query: OwnQuery, bindings: Bindings | None = None) -> list[Row]:
        return self._store.select(query, bindings)

    def ask(self, query: OwnQuery, bindings: Bindings | None = None) -> bool:
        return self._store.ask(query, bindings)

    def construct(self, query: OwnQuery, bindings: Bindings | None = None) -> Graph:
        return self._store.construct(query, bindings)

    def graph_triples(self, graph: URIRef) -> Graph:
        return self._store.graph_triples(graph)

    def execute(self, job: QueryJob) -> QueryAnswer:
        return self._store.execute(job)
