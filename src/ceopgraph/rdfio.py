"""Reading and writing RDF bytes.

Writing goes through Oxigraph's serialisers, fed with quads in sorted order: rdflib's serialisers walk
hash-ordered sets, so their output changes between runs, while a sorted feed makes every dump
byte-identical for the same data.
"""

from __future__ import annotations

import pyoxigraph as ox
from rdflib import Dataset, Graph

from ceopgraph.conneg import RdfFormat


def _oxigraph_quads(data: Graph) -> list[ox.Quad]:
    nquads = data.serialize(format="nquads", encoding="utf-8")
    return list(ox.parse(nquads, format=ox.RdfFormat.N_QUADS))


def _sort_key(term: object) -> tuple[str, str]:
    return (type(term).__name__, str(term))


def serialise(data: Graph, fmt: RdfFormat, prefixes: dict[str, str] | None = None) -> bytes:
    """Serialise a graph, or a dataset (its named graphs kept where the format carries them)."""
    quads = _oxigraph_quads(data)
    target = getattr(ox.RdfFormat, fmt.oxigraph_name)
    usable_prefixes = prefixes if fmt.name in ("turtle", "trig", "rdfxml", "jsonld") else None
    if fmt.quads and isinstance(data, Dataset):
        quads.sort(
            key=lambda q: (
                _sort_key(q.graph_name),
                _sort_key(q.subject),
                str(q.predicate),
                _sort_key(q.object),
            )
        )
        return _bytes(ox.serialize(quads, format=target, prefixes=usable_prefixes))
    triples = sorted(
        {ox.Triple(q.subject, q.predicate, q.object) for q in quads},
        key=lambda t: (_sort_key(t.subject), str(t.predicate), _sort_key(t.object)),
    )
    return _bytes(ox.serialize(triples, format=target, prefixes=usable_prefixes))


def _bytes(data: bytes | None) -> bytes:
    """``ox.serialize`` returns bytes when given no output file, as it is here."""
    assert data is not None
    return data
