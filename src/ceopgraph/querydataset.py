"""Which graphs a query reads: the protocol's dataset selection and a query's own dataset clauses.

Values the query checker (``ceopgraph.sparqltext``) makes, the web layer puts into a job and the store
reads, so they live below all three, on the standard library alone: the query processes unpickle them
with every job, and must not import rdflib for that (~20 MB per process).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DatasetSelection:
    """SPARQL Protocol ``default-graph-uri`` / ``named-graph-uri``; empty means the store's own dataset
    (default graph = union of the named graphs)."""

    default_graphs: tuple[str, ...] = ()
    named_graphs: tuple[str, ...] = ()


@dataclass(frozen=True)
class DatasetClauses:
    """A query's own ``FROM`` / ``FROM NAMED`` clauses (SPARQL 1.1 Query §13.2), as the query checker
    read them from the parse (``ceopgraph.sparqltext.read_dataset_clauses``): the graphs they name,
    IRIs resolved, and the query's text with the clauses cut out.

    A remote store needs both (it must not resolve the clauses itself: a shared store holds graphs that
    are not ours); the embedded engine reads the query's clauses itself.
    """

    graphs: DatasetSelection
    query_without: str
