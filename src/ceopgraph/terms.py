"""RDF terms between pyoxigraph and rdflib, written once.

pyoxigraph parses, queries and serialises; rdflib models, builds and validates; terms cross between
them in the store, the safe parser and the remote backend. The rules live here so that they agree:
an ``xsd:string`` literal is a plain literal in rdflib (RDF 1.1: the two are the same term, and
rdflib's ``Literal("x") != Literal("x", datatype=XSD.string)``), language tags and lexical forms are
kept as written, and RDF 1.2 triple terms have no rdflib counterpart.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

import pyoxigraph as ox
from rdflib import BNode, Literal, URIRef
from rdflib.namespace import XSD
from rdflib.term import Node

XSD_STRING = str(XSD.string)

OxTerm = ox.NamedNode | ox.BlankNode | ox.Literal
Item = TypeVar("Item")


def literal(value: str, language: str | None = None, datatype: str | None = None) -> Literal:
    """An rdflib literal from its parts, ``xsd:string`` written as a plain literal.

    The lexical form is kept as written: rdflib would otherwise rewrite it ("01"^^xsd:integer to
    "1") whenever ``rdflib.NORMALIZE_LITERALS`` is on, and that switch cannot be relied on, as
    pySHACL turns it on at the end of every validation whatever it was before.
    """
    if language:
        return Literal(value, lang=language)
    return Literal(value, datatype=None if datatype in (None, XSD_STRING) else URIRef(datatype), normalize=False)


def to_rdflib(term: object, blank_node: Callable[[str], BNode] = BNode) -> Node:
    """One pyoxigraph term as rdflib's; ``blank_node`` maps a blank node label to a node (by default the
    same label; a parser of untrusted files passes fresh nodes per file so files never share one).

    Raises ``TypeError`` for anything else (an RDF 1.2 triple term, a variable).
    """
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return blank_node(term.value)
    if isinstance(term, ox.Literal):
        return literal(term.value, term.language, term.datatype.value)
    raise TypeError(f"no rdflib term for {term!r}")


def to_oxigraph(term: Node) -> OxTerm:
    """One rdflib term as pyoxigraph's (for bound values of a query)."""
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


# Results are read where they are made ------------------------------------------------------------
#
# pyoxigraph's query results, quad and graph-name iterators may only be dropped by the thread that made
# them. One left in a frame of a traceback (a query that failed part way: a SERVICE refused, a time limit)
# is dropped wherever that traceback is collected, and the engine then raises there, in unrelated code (a
# request on another thread). So they are read by C in full, and the only frame that names them lets go of
# them before it can become part of a traceback. Callers pass the engine's call itself, never a name.


def read_in_full(results: Iterable[Item]) -> list[Item]:
    """Every item of one of pyoxigraph's iterators, read now in this thread."""
    try:
        return list(results)
    finally:
        del results


def read_solutions(solutions: object) -> tuple[list[str], list[ox.QuerySolution]]:
    """A SELECT answer's variable names and solutions, read now in this thread."""
    try:
        if not isinstance(solutions, ox.QuerySolutions):
            raise TypeError(f"not the solutions of a SELECT query: {type(solutions).__name__}")
        return [variable.value for variable in solutions.variables], list(solutions)
    finally:
        del solutions


def read_triples(triples: object) -> list[ox.Triple]:
    """A CONSTRUCT or DESCRIBE answer's triples, read now in this thread."""
    try:
        if not isinstance(triples, ox.QueryTriples):
            raise TypeError(f"not the triples of a CONSTRUCT query: {type(triples).__name__}")
        return list(triples)
    finally:
        del triples
