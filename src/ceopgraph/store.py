"""The ``Store`` protocol the front end talks to, and its embedded backend on pyoxigraph.

Only this module imports the SPARQL engine. The front end never assumes the store is local: it asks
for serialised answers (``query``) or for rdflib terms from queries it wrote itself with bound values
(``select``, ``construct``), so a remote SPARQL 1.1 store can stand behind the same calls.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import XSD
from rdflib.term import Node

from ceopgraph.conneg import RdfFormat


class StoreError(Exception):
    """Base of the store's failures; the web layer maps each subclass to one HTTP status."""


class QuerySyntaxError(StoreError):
    """The query does not parse (HTTP 400)."""


class QueryTimeout(StoreError):
    """The query ran past its time limit and was stopped (HTTP 503)."""


class StoreUnavailable(StoreError):
    """The store cannot be reached or failed (HTTP 502/503)."""


@dataclass(frozen=True)
class DatasetSelection:
    """SPARQL Protocol ``default-graph-uri`` / ``named-graph-uri``; empty means the store's own dataset
    (default graph = union of the named graphs)."""

    default_graphs: tuple[str, ...] = ()
    named_graphs: tuple[str, ...] = ()


Bindings = Mapping[str, Node]
Row = dict[str, Node]


class Store(Protocol):
    @property
    def version(self) -> str:
        """Changes whenever the data changes; the basis of ETags and answer caches."""

    def graphs(self) -> list[URIRef]:
        """The named graphs, sorted."""

    def select(self, query: str, bindings: Bindings | None = None) -> list[Row]:
        """Run one of our own SELECT queries over the union default graph, values bound, not spliced."""

    def ask(self, query: str, bindings: Bindings | None = None) -> bool:
        """Run one of our own ASK queries, values bound."""

    def construct(self, query: str, bindings: Bindings | None = None) -> Graph:
        """Run one of our own CONSTRUCT/DESCRIBE queries, values bound; the triples as an rdflib Graph."""

    def graph_triples(self, graph: URIRef) -> Graph:
        """Every triple of one named graph."""


# Term conversion -------------------------------------------------------------------------------

_XSD_STRING = str(XSD.string)


def to_rdflib(term: object) -> Node:
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return Literal(term.value, lang=term.language)
        datatype = term.datatype.value
        return Literal(term.value, datatype=None if datatype == _XSD_STRING else URIRef(datatype))
    raise TypeError(f"no rdflib term for {term!r}")


def to_oxigraph(term: Node) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype is not None:
            return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
        return ox.Literal(str(term))
    raise TypeError(f"no Oxigraph term for {term!r}")


def _substitutions(
    bindings: Bindings | None,
) -> dict[ox.Variable, ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple] | None:
    if not bindings:
        return None
    return {ox.Variable(name): to_oxigraph(value) for name, value in bindings.items()}


def _graph_of(triples: Iterable[ox.Triple]) -> Graph:
    graph = Graph()
    for triple in triples:
        graph.add((to_rdflib(triple.subject), to_rdflib(triple.predicate), to_rdflib(triple.object)))
    return graph


# Embedded backend ------------------------------------------------------------------------------


class EmbeddedStore:
    """pyoxigraph in this process: in memory, or on disk and opened read-only."""

    def __init__(self, store: ox.Store, version: str) -> None:
        self._store = store
        self._version = version

    @classmethod
    def from_files(cls, paths: Sequence[Path], formats: Sequence[RdfFormat]) -> EmbeddedStore:
        """Load RDF files into memory; triples of triple formats go into a graph named after the file."""
        store = ox.Store()
        digest = hashlib.sha256()
        for path, fmt in zip(paths, formats, strict=True):
            data = path.read_bytes()
            digest.update(data)
            target = getattr(ox.RdfFormat, fmt.oxigraph_name)
            to_graph = None if fmt.quads else ox.NamedNode(path.resolve().as_uri())
            store.bulk_load(data, format=target, to_graph=to_graph)
        return cls(store, digest.hexdigest()[:20])

    @property
    def version(self) -> str:
        return self._version

    @property
    def engine(self) -> ox.Store:
        """The pyoxigraph store itself, for the SPARQL endpoint's own execution path."""
        return self._store

    def graphs(self) -> list[URIRef]:
        return sorted(URIRef(g.value) for g in self._store.named_graphs() if isinstance(g, ox.NamedNode))

    def _run(self, query: str, bindings: Bindings | None) -> object:
        try:
            return self._store.query(
                query, use_default_graph_as_union=True, substitutions=_substitutions(bindings)
            )
        except SyntaxError as exc:
            raise QuerySyntaxError(str(exc)) from exc

    def select(self, query: str, bindings: Bindings | None = None) -> list[Row]:
        solutions = self._run(query, bindings)
        assert isinstance(solutions, ox.QuerySolutions)
        names = [v.value for v in solutions.variables]
        rows = []
        for solution in solutions:
            row = {}
            for name in names:
                value = solution[name]
                if value is not None:
                    row[name] = to_rdflib(value)
            rows.append(row)
        return rows

    def ask(self, query: str, bindings: Bindings | None = None) -> bool:
        return bool(self._run(query, bindings))

    def construct(self, query: str, bindings: Bindings | None = None) -> Graph:
        triples = self._run(query, bindings)
        assert isinstance(triples, ox.QueryTriples)
        return _graph_of(triples)

    def graph_triples(self, graph: URIRef) -> Graph:
        quads = self._store.quads_for_pattern(None, None, None, ox.NamedNode(str(graph)))
        return _graph_of(ox.Triple(q.subject, q.predicate, q.object) for q in quads)
