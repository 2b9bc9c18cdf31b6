"""Names of RDF terms for people: a node's label in a graph or in the store, and readable local names.

One labeller for the HTML pages and the validation reports. Pure: functions of a graph, a store and
plain values. A label is a literal of the first property of a preference order that has one; which
order is the caller's choice, stated by the constants below.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDFS, SKOS
from rdflib.term import Node

from ceopgraph.describe import LABEL_PROPERTIES, with_prefixes

if TYPE_CHECKING:
    from ceopgraph.store.protocol import Store

# The pages: skos:prefLabel, rdfs:label, dct:title, schema:name, foaf:name (``describe`` fetches these).
PAGE_LABEL_PROPERTIES: tuple[URIRef, ...] = LABEL_PROPERTIES
# Validation reports and the submission guide: the two label properties a submission or a shape uses.
REPORT_LABEL_PROPERTIES: tuple[URIRef, ...] = (SKOS.prefLabel, RDFS.label)

_ENGLISH = ("en", "en-gb")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
STORED_LABEL_QUERY = with_prefixes("SELECT ?s ?label WHERE { ?s rdfs:label ?label } LIMIT 1")


def label(graph: Graph, node: Node, properties: Sequence[URIRef] = PAGE_LABEL_PROPERTIES) -> str | None:
    """The label of ``node`` in ``graph``: the first of ``properties`` with a literal value; of its
    values English first, then untagged, then any language, ties broken by the text."""
    for prop in properties:
        values = [v for v in graph.objects(node, prop) if isinstance(v, Literal)]
        if values:
            return str(min(values, key=_rank))
    return None


def _rank(value: Literal) -> tuple[int, str]:
    return (0 if value.language in _ENGLISH else 1 if not value.language else 2, str(value))


def stored_label(store: Store, node: URIRef) -> str | None:
    """An ``rdfs:label`` of ``node`` in the store (any one), for a resource whose description is not at hand."""
    rows = store.select(STORED_LABEL_QUERY, {"s": node})
    return str(rows[0]["label"]) if rows else None


def local_name(iri: str) -> str:
    """The last segment of an IRI's path, or its fragment: ``…/unit/child`` → ``child``, ``…/org#Post`` → ``Post``."""
    stripped = iri.rstrip("/#")
    return re.split(r"[/#]", stripped)[-1] or stripped


def humanise(iri: str, capital: bool = False) -> str:
    """``foundingDate`` → ``founding date``; ``FormalOrganization`` → ``Formal organization`` (capital)."""
    words = _CAMEL.sub(" ", local_name(iri)).replace("-", " ").replace("_", " ").split()
    text = " ".join(w if len(w) > 1 and w.isupper() else w.lower() for w in words) or iri
    return text[:1].upper() + text[1:] if capital else text
