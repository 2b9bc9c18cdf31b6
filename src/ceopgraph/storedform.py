"""Which literals the store would not give back as they were written.

Oxigraph keeps a typed literal's value, not its lexical form: on load it writes numbers, booleans,
dates, times and durations in their canonical form (``"01"^^xsd:integer`` becomes ``"1"``, ``"2.50"``
``"2.5"``, ``1.0E2`` ``"100"^^xsd:double``) and gives every type derived from ``xsd:integer`` back as
``xsd:integer`` (``"-3"^^xsd:negativeInteger`` becomes ``"-3"^^xsd:integer``, a changed datatype). It
cannot be switched off (oxigraph/oxigraph#526, open), and keeping another storage form instead (a
string and a separate datatype) would break value comparison, ``FILTER`` and ``ORDER BY`` in every
query. So the publisher does not hide it: it reports each literal the store would rewrite, as a
warning of the validator and on the command line of ``build`` and ``serve --data``; ``publish`` reads
its graphs back from the target store and lists what that store rewrote (``ceopgraph.publish``).

The rewriting is measured on the engine itself, by a round trip through an in-memory store, so the
report cannot drift from what the engine does when the engine changes. Only literals of XML Schema
datatypes other than ``xsd:string`` are tried: the engine keeps every other literal as written (a
language tag is lower-cased by its parser already, which RDF 1.1 Concepts section 3.3 allows: the
value space of language tags is lower case).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import XSD
from rdflib.term import Node

from ceopgraph.conneg import RdfFormat
from ceopgraph.terms import literal, to_oxigraph

_XSD = str(XSD)
_XSD_STRING = str(XSD.string)
_PREDICATE = ox.NamedNode("urn:ceopgraph:stored-form")


@dataclass(frozen=True, order=True)
class Rewrite:
    """One triple whose literal the store keeps in another form than ``written``."""

    subject: Node
    predicate: URIRef
    written: Literal
    stored: Literal

    def describe(self) -> str:
        """One line for a person: both forms and where the literal is."""
        return (
            f"{self.written.n3()} would be published as {self.stored.n3()} "
            f"(subject {self.subject.n3()}, predicate {self.predicate.n3()})"
        )


def rewrites(graph: Graph) -> tuple[Rewrite, ...]:
    """Every triple of ``graph`` whose literal the store would rewrite, in a stable order."""
    candidates = {
        term: _ox_literal(term) for term in graph.objects() if isinstance(term, Literal) and _may_change(term.datatype)
    }
    stored = _stored_forms(candidates.values())
    changed = {
        written: literal(kept.value, kept.language, kept.datatype.value)
        for written, value in candidates.items()
        if (kept := stored[value]) is not None
    }
    found = [
        Rewrite(subject, predicate, written, form)
        for written, form in changed.items()
        for subject, predicate in graph.subject_predicates(written)
        if isinstance(predicate, URIRef)
    ]
    return tuple(sorted(found))


@dataclass(frozen=True)
class FileRewrite:
    """A literal of a served file that the store keeps in another form (``serve --data``)."""

    written: str
    stored: str
    count: int  # how many triples of the file carry it


def rewrites_in_files(paths: Sequence[Path], formats: Sequence[RdfFormat]) -> dict[Path, tuple[FileRewrite, ...]]:
    """For each file that has any, the distinct literals the store would rewrite, in written order.

    Reads the files with the engine's own streaming parser, without building an rdflib graph, so a
    large file costs one extra parse; the files were parsed successfully already (the store holds them).
    """
    found: dict[Path, tuple[FileRewrite, ...]] = {}
    for path, fmt in zip(paths, formats, strict=True):
        counts: dict[ox.Literal, int] = {}
        # With the file's IRI as base, as the store loads it (``store.disk``): relative IRIs are valid.
        base = path.resolve().as_uri()
        for quad in ox.parse(path=str(path), format=getattr(ox.RdfFormat, fmt.oxigraph_name), base_iri=base):
            term = quad.object
            if isinstance(term, ox.Literal) and _may_change_datatype(term.datatype.value):
                counts[term] = counts.get(term, 0) + 1
        stored = _stored_forms(counts)
        changes = tuple(
            FileRewrite(str(written), str(kept), count)
            for written, count in counts.items()
            if (kept := stored[written]) is not None
        )
        if changes:
            found[path] = changes
    return found


def _ox_literal(term: Literal) -> ox.Literal:
    value = to_oxigraph(term)
    assert isinstance(value, ox.Literal)
    return value


def _may_change(datatype: URIRef | None) -> bool:
    return datatype is not None and _may_change_datatype(str(datatype))


def _may_change_datatype(datatype: str) -> bool:
    return datatype.startswith(_XSD) and datatype != _XSD_STRING


def _stored_forms(literals: Iterable[ox.Literal]) -> dict[ox.Literal, ox.Literal | None]:
    """Each literal mapped to the form the store gives back, or None where it gives back the same."""
    written = list(dict.fromkeys(literals))
    store = ox.Store()
    subjects = [ox.NamedNode(f"urn:ceopgraph:literal:{index}") for index in range(len(written))]
    store.bulk_extend(ox.Quad(subject, _PREDICATE, term) for subject, term in zip(subjects, written, strict=True))
    found: dict[ox.Literal, ox.Literal | None] = {}
    for subject, term in zip(subjects, written, strict=True):
        (quad,) = store.quads_for_pattern(subject, _PREDICATE, None)
        found[term] = quad.object if isinstance(quad.object, ox.Literal) and quad.object != term else None
    return found
