"""From RDF terms to the parts of a page: readable labels, safe links, nested blank nodes, sorted rows.

Labels are made readable here (never a bare IRI where a label or a readable local name exists);
links are made safe by ``paths.Linker``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, OWL, PROV, RDF, RDFS, SKOS, VOID
from rdflib.term import Node

from ceopgraph import labels
from ceopgraph.namespaces import IANA_MEDIA, SD, prefix_map
from ceopgraph.paths import Linker
from ceopgraph.urischeme import UriScheme
from ceopgraph.web.pages.model import Link, Nested, PropertyRow, Text, Value

# Readable names for standard terms whose local names read badly; others are split from camelCase.
TERM_NAMES: dict[URIRef, str] = {
    RDF.type: "type",
    RDFS.label: "label",
    RDFS.comment: "comment",
    RDFS.isDefinedBy: "defined by",
    RDFS.subClassOf: "subclass of",
    RDFS.subPropertyOf: "subproperty of",
    SKOS.prefLabel: "preferred label",
    SKOS.altLabel: "also known as",
    DCTERMS.title: "title",
    DCTERMS.license: "licence",
    OWL.versionIRI: "version IRI",
    PROV.wasDerivedFrom: "derived from",
    PROV.wasQuotedFrom: "quoted from",
    PROV.wasAttributedTo: "attributed to",
    DCAT.mediaType: "media type",
    DCAT.downloadURL: "download URL",
    DCAT.accessURL: "access URL",
    VOID.sparqlEndpoint: "SPARQL endpoint",
    VOID.uriSpace: "URI space",
    VOID.dataDump: "data dump",
    SD.endpoint: "endpoint",
    DCAT.endpointURL: "endpoint URL",
}
KNOWN_LABELS: dict[str, str] = {
    "http://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/": "Open Government Licence v3.0",
    "http://id.loc.gov/vocabulary/iso639-1/en": "English",
}


def curie(iri: str, prefixes: dict[str, str]) -> str:
    best = ""
    for prefix, namespace in prefixes.items():
        if iri.startswith(namespace) and len(namespace) > len(prefixes.get(best, "")) and iri != namespace:
            best = prefix
    if best and re.fullmatch(r"[A-Za-z0-9_.-]*", iri[len(prefixes[best]) :]):
        return f"{best}:{iri[len(prefixes[best]) :]}"
    return iri


def _our_curie(iri: str, scheme: UriScheme) -> str:
    """``curie`` with our prefixes: the same few predicates and types are on every page, so short IRIs
    are kept (a draft's preview links whatever a submitter wrote, of any length)."""
    return _cached_curie(iri, scheme) if len(iri) <= 256 else curie(iri, prefix_map(scheme))


@lru_cache(maxsize=8192)
def _cached_curie(iri: str, scheme: UriScheme) -> str:
    return curie(iri, prefix_map(scheme))


class PageBuilder:
    """Turns descriptions into page models: readable labels, safe links, nested blank nodes."""

    def __init__(self, scheme: UriScheme, linker: Linker, graph: Graph, extra_labels: dict[str, str] | None = None):
        self.scheme = scheme
        self.linker = linker
        self.graph = graph
        self.prefixes = prefix_map(scheme)
        self.extra_labels = extra_labels or {}

    def label(self, node: Node, capital: bool = False) -> str:
        found = labels.label(self.graph, node)
        if found:
            return found
        if capital:
            text = self.label(node)
            return text[:1].upper() + text[1:]
        iri = str(node)
        if iri in self.extra_labels:
            return self.extra_labels[iri]
        if iri in KNOWN_LABELS:
            return KNOWN_LABELS[iri]
        if isinstance(node, URIRef) and node in TERM_NAMES:
            return TERM_NAMES[node]
        if iri.startswith(IANA_MEDIA):
            return iri.removeprefix(IANA_MEDIA)
        if iri == self.scheme.base:
            return "ceopgraph home"
        return labels.humanise(iri) if isinstance(node, URIRef) else iri

    def predicate_label(self, predicate: URIRef) -> str:
        if predicate in TERM_NAMES:
            return TERM_NAMES[predicate]
        found = labels.label(self.graph, predicate)
        if not found:
            return labels.humanise(str(predicate))
        # "Reference Period" (SDMX's title case) reads as "reference period" in a table of properties.
        return " ".join(w if len(w) > 1 and w.isupper() else w[:1].lower() + w[1:] for w in found.split())

    def link(self, node: URIRef, label: str | None = None, capital: bool = False) -> Link:
        iri = str(node)
        found = label or self.label(node)
        return Link(
            label=found[:1].upper() + found[1:] if capital else found,
            iri=iri,
            href=self.linker.href(iri),
            curie=_our_curie(iri, self.scheme),
            local=self.linker.is_local(iri),
        )

    def value(self, node: Node, depth: int = 0) -> Value:
        if isinstance(node, URIRef):
            return self.link(node)
        if isinstance(node, BNode):
            return self.nested(node, depth + 1)
        assert isinstance(node, Literal)
        datatype = _our_curie(str(node.datatype), self.scheme) if node.datatype else None
        text = str(node)
        return Text(text, node.language, datatype, long=len(text) > 240)

    def nested(self, node: BNode, depth: int) -> Nested:
        if depth > 6:
            return Nested()
        if (node, RDF.first, None) in self.graph:
            items = [self.value(item, depth) for item in self.graph.items(node)]
            return Nested(items=tuple(items), is_list=True)
        return Nested(rows=self.rows(self.graph.predicate_objects(node), depth))

    def rows(self, pairs: Iterable[tuple[Node, Node]], depth: int = 0) -> tuple[PropertyRow, ...]:
        grouped: dict[URIRef, list[Node]] = {}
        for predicate, obj in pairs:
            if isinstance(predicate, URIRef):
                grouped.setdefault(predicate, []).append(obj)
        rows = []
        for predicate, objects in grouped.items():
            values = tuple(self.value(o, depth) for o in sorted(objects, key=_node_key))
            if predicate == RDF.type:
                values = tuple(self.link(o, capital=True) if isinstance(o, URIRef) else self.value(o) for o in objects)
            rows.append(PropertyRow(self.link(predicate, self.predicate_label(predicate)), values))
        return tuple(sorted(rows, key=_row_key))

    def incoming(self, iri: URIRef) -> tuple[PropertyRow, ...]:
        grouped: dict[URIRef, list[Node]] = {}
        for subject, predicate in self.graph.subject_predicates(iri):
            if isinstance(predicate, URIRef) and not isinstance(subject, BNode):
                grouped.setdefault(predicate, []).append(subject)
        rows = [
            PropertyRow(
                self.link(p, self.predicate_label(p)),
                tuple(self.value(s) for s in sorted(subjects, key=lambda n: (self.label(n).lower(), str(n)))),
            )
            for p, subjects in grouped.items()
        ]
        return tuple(sorted(rows, key=_row_key))


def _node_key(node: Node) -> tuple[int, str]:
    return (0 if isinstance(node, URIRef) else 1 if isinstance(node, Literal) else 2, str(node))


def _row_key(row: PropertyRow) -> tuple[int, str]:
    first = {"type": 0, "preferred label": 1, "label": 2}
    return (first.get(row.predicate.label, 3), row.predicate.label.lower())
