"""This dataset's home page: its title, headline figures, threat areas, transitions, quotations,
claims and downloads, entirely from the store: nothing about the dataset is typed into the template.

Each part has its query, named below, and a record of what one solution of it holds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

from rdflib import Graph, URIRef
from rdflib.term import Node

from ceopgraph import tables
from ceopgraph.describe import with_prefixes
from ceopgraph.namespaces import IANA_MEDIA
from ceopgraph.paths import Linker
from ceopgraph.sparqltext import Template
from ceopgraph.store.protocol import Store
from ceopgraph.urischeme import UriScheme
from ceopgraph.web.pages import capped
from ceopgraph.web.pages.builder import PageBuilder
from ceopgraph.web.pages.figures import figures, format_number
from ceopgraph.web.pages.model import Figure, Link
from ceopgraph.web.pages.rows import read_all, text

T = TypeVar("T")


@dataclass(frozen=True)
class ThreatArea:
    link: Link
    notation: str
    definition: str


@dataclass(frozen=True)
class Quotation:
    link: Link
    text: str
    speaker: Link
    role: str | None


@dataclass(frozen=True)
class Transition:
    link: Link
    comment: str
    when: str
    status: str
    organisations: tuple[Link, ...]


@dataclass(frozen=True)
class Download:
    label: str
    media_type: str
    href: str | None


@dataclass(frozen=True)
class HomePage:
    title: str
    description: str
    dataset: Link
    cube: Link | None
    triples: str | None
    licence: Link | None
    source: Link | None
    headline: tuple[Figure, ...]
    derived_count: int
    threat_scheme: Link | None
    threat_areas: tuple[ThreatArea, ...]
    transitions: tuple[Transition, ...]
    quotations: tuple[Quotation, ...]
    claims: tuple[Link, ...]
    downloads: tuple[Download, ...]
    vocabulary: Link | None
    shapes: Link | None
    sparql: str | None
    cube_table: str | None  # the cube's figures as CSV (``ceopgraph.tables``), where they are served here
    cuts: tuple[capped.Cut, ...] = ()  # the parts left out, each over its cap (``capped``)


# The queries, and a record of one solution of each ---------------------------------------------------

DATASET_QUERY = with_prefixes(
    """
SELECT * WHERE {
  ?dataset dct:title ?title .
  OPTIONAL { ?dataset dct:description ?description }
  OPTIONAL { ?dataset void:triples ?triples }
  OPTIONAL { ?dataset dct:license ?licence }
  OPTIONAL { ?dataset prov:wasDerivedFrom|dct:source ?source . OPTIONAL { ?source rdfs:label ?sourceLabel } }
  OPTIONAL { ?dataset void:sparqlEndpoint ?sparql }
  OPTIONAL { ?dataset dct:conformsTo ?shapes }
  OPTIONAL { ?dataset void:subset ?cube . ?cube a qb:DataSet . OPTIONAL { ?cube rdfs:label ?cubeLabel } }
}
"""
)


@dataclass(frozen=True)
class DatasetRow:
    title: Node
    description: Node | None
    triples: Node | None
    licence: Node | None
    source: Node | None
    source_label: Node | None
    sparql: Node | None
    shapes: Node | None
    cube: Node | None
    cube_label: Node | None


THREATS_QUERY = with_prefixes(
    """
SELECT * WHERE {
  ?plan schema:about ?scheme .
  ?scheme a skos:ConceptScheme ; skos:prefLabel ?schemeLabel ; skos:hasTopConcept ?concept .
  ?concept skos:prefLabel ?label ; skos:notation ?notation .
  OPTIONAL { ?concept skos:definition ?definition }
}
"""
)


@dataclass(frozen=True)
class ThreatRow:
    scheme: Node
    scheme_label: Node
    concept: URIRef
    label: Node
    notation: Node
    definition: Node | None


TRANSITIONS_QUERY = with_prefixes(
    """
SELECT * WHERE {
  ?event a org:ChangeEvent ; rdfs:label ?label .
  OPTIONAL { ?event rdfs:comment ?comment }
  OPTIONAL { ?event time:hasTime ?time . ?time rdfs:label ?timeLabel }
  OPTIONAL { ?event ?statusProperty ?status . ?status skos:prefLabel ?statusLabel }
  OPTIONAL { { ?event org:originalOrganization ?org } UNION { ?event org:resultingOrganization ?org }
             UNION { ?membership org:member ?member ; org:organization ?org . ?event org:originalOrganization ?member }
             ?org rdfs:label ?orgLabel }
}
"""
)


@dataclass(frozen=True)
class TransitionRow:
    event: URIRef
    label: Node
    comment: Node | None
    time_label: Node | None
    status_label: Node | None
    org: Node | None
    org_label: Node | None


QUOTATIONS_QUERY = with_prefixes(
    """
SELECT * WHERE {
  ?quotation a schema:Quotation ; schema:text ?text ; schema:creator ?speaker .
  OPTIONAL { ?quotation rdfs:label ?label }
  OPTIONAL { ?speaker rdfs:label ?speakerLabel }
  OPTIONAL { ?speaker org:holds ?post . ?post rdfs:label ?postLabel }
}
"""
)


@dataclass(frozen=True)
class QuotationRow:
    quotation: URIRef
    text: Node
    speaker: URIRef
    label: Node | None
    speaker_label: Node | None
    post_label: Node | None


CLAIMS_QUERY = with_prefixes(
    """
SELECT * WHERE { ?claim a ?claimClass ; rdfs:label ?label }
"""
)


@dataclass(frozen=True)
class ClaimRow:
    claim: URIRef
    label: Node


DOWNLOADS_QUERY = with_prefixes(
    """
SELECT * WHERE {
  ?dataset dcat:distribution ?distribution .
  ?distribution dcat:downloadURL ?url ; dcat:mediaType ?mediaType .
}
"""
)


@dataclass(frozen=True)
class DownloadRow:
    url: Node
    media_type: Node


VOCABULARY_QUERY = with_prefixes(
    """
SELECT * WHERE { ?vocabulary a owl:Ontology ; rdfs:label ?label }
"""
)


@dataclass(frozen=True)
class VocabularyRow:
    vocabulary: Node


# Each part's query stopped one past the cap: a part is listed all, or none (``capped``), in the order
# given to a client that reads it all at the endpoint. The dataset's own description and vocabulary
# give one value each (the first bound): capped, never cut.
_PARTS: dict[str, tuple[Template, Template, str]] = {
    part: (query, capped.limited(query), order)
    for part, query, order in (
        ("threat areas", THREATS_QUERY, "?concept ?label"),
        ("transitions", TRANSITIONS_QUERY, "?event ?org"),
        ("quotations", QUOTATIONS_QUERY, "?quotation"),
        ("claims", CLAIMS_QUERY, "?claim ?label"),
        ("downloads", DOWNLOADS_QUERY, "?url"),
    )
}
_DATASET = capped.limited(DATASET_QUERY)
_VOCABULARY = capped.limited(VOCABULARY_QUERY)


# The page -------------------------------------------------------------------------------------------


def _first(values: Iterable[T | None]) -> T | None:
    """The first bound value of a variable over the solutions."""
    return next((v for v in values if v is not None), None)


class _Parts:
    """The solutions of a page's parts, and the parts left out."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.cuts: list[capped.Cut] = []

    def rows(self, part: str, bindings: dict[str, Node] | None = None) -> list[dict[str, Node]]:
        """The solutions of ``part``'s query; none when they are over the cap (and the cut is noted)."""
        query, limited, order = _PARTS[part]
        found = capped.select(self.store, limited, bindings)
        if found is None:
            self.cuts.append(capped.Cut(part, capped.MAX_ROWS, capped.ordered(query, order, bindings)))
        return found or []


def home_page(store: Store, uris: UriScheme, linker: Linker) -> HomePage:
    """The home page, entirely from the store: nothing about the dataset is typed into the template."""
    builder = PageBuilder(uris, linker, Graph())
    dataset = uris.dataset
    parts = _Parts(store)
    rows = read_all(DatasetRow, store.select(_DATASET, {"dataset": dataset}))
    title = str(_first(r.title for r in rows) or "ceopgraph")
    cube = _first(r.cube for r in rows)
    found = figures(store, builder, dataset=cube) if isinstance(cube, URIRef) else ()
    all_figures = found if isinstance(found, tuple) else ()
    if isinstance(found, capped.Cut):
        parts.cuts.append(found)
    threats = read_all(ThreatRow, parts.rows("threat areas"))
    scheme = _first(r.scheme for r in threats)
    triples = _first(r.triples for r in rows)
    licence = _first(r.licence for r in rows)
    source = _first(r.source for r in rows)
    sparql = _first(r.sparql for r in rows)
    shapes = _first(r.shapes for r in rows)
    vocabulary = _first(
        r.vocabulary for r in read_all(VocabularyRow, store.select(_VOCABULARY, {"vocabulary": uris.def_["ceop"]}))
    )
    return HomePage(
        title=title,
        description=str(_first(r.description for r in rows) or ""),
        dataset=builder.link(dataset, title),
        cube=_linked(builder, cube, _first(r.cube_label for r in rows)),
        triples=format_number(Decimal(str(triples))) if triples is not None else None,
        licence=builder.link(licence) if isinstance(licence, URIRef) else None,
        source=_linked(builder, source, _first(r.source_label for r in rows)),
        headline=tuple(f for f in all_figures if not f.derived),
        derived_count=sum(1 for f in all_figures if f.derived),
        threat_scheme=builder.link(scheme, str(_first(r.scheme_label for r in threats)))
        if isinstance(scheme, URIRef)
        else None,
        threat_areas=_threat_areas(builder, threats),
        transitions=_transitions(builder, parts, uris),
        quotations=_quotations(builder, parts),
        claims=_claims(builder, parts, uris),
        downloads=_downloads(linker, parts, dataset),
        vocabulary=builder.link(vocabulary, "Vocabulary") if isinstance(vocabulary, URIRef) else None,
        shapes=builder.link(shapes, "SHACL shapes") if isinstance(shapes, URIRef) else None,
        sparql=linker.href(str(sparql)) if isinstance(sparql, URIRef) else None,
        cube_table=_table_href(linker, cube),
        cuts=tuple(parts.cuts),
    )


def _table_href(linker: Linker, cube: Node | None) -> str | None:
    """Where the cube's CSV is served here, if the cube is ours."""
    document = linker.href(str(cube)) if isinstance(cube, URIRef) and linker.is_local(str(cube)) else None
    return tables.table_href(document) if document is not None else None


def _linked(builder: PageBuilder, node: Node | None, label: Node | None) -> Link | None:
    """A link to ``node`` with its label from the query, where it is an IRI."""
    return builder.link(node, str(label or "")) if isinstance(node, URIRef) else None


def _threat_areas(builder: PageBuilder, threats: list[ThreatRow]) -> tuple[ThreatArea, ...]:
    areas = {
        str(r.concept): ThreatArea(builder.link(r.concept, str(r.label)), str(r.notation), text(r.definition))
        for r in threats
    }
    return tuple(sorted(areas.values(), key=lambda t: t.notation))


def _transitions(builder: PageBuilder, parts: _Parts, local: UriScheme) -> tuple[Transition, ...]:
    """Each change event with every organisation it involves (one solution per organisation)."""
    transitions: dict[str, Transition] = {}
    bindings: dict[str, Node] = {"statusProperty": local.ceop["statusAtPublication"]}
    for r in read_all(TransitionRow, parts.rows("transitions", bindings)):
        key = str(r.event)
        orgs = transitions[key].organisations if key in transitions else ()
        if isinstance(r.org, URIRef) and str(r.org) not in {o.iri for o in orgs}:
            orgs = (*orgs, builder.link(r.org, text(r.org_label)))
        transitions[key] = Transition(
            builder.link(r.event, str(r.label)), text(r.comment), text(r.time_label), text(r.status_label), orgs
        )
    return tuple(transitions.values())


def _quotations(builder: PageBuilder, parts: _Parts) -> tuple[Quotation, ...]:
    quotations = {
        str(r.quotation): Quotation(
            builder.link(r.quotation, text(r.label)),
            str(r.text),
            builder.link(r.speaker, text(r.speaker_label)),
            None if r.post_label is None else str(r.post_label),
        )
        for r in read_all(QuotationRow, parts.rows("quotations"))
    }
    return tuple(sorted(quotations.values(), key=lambda q: q.link.iri, reverse=True))


def _claims(builder: PageBuilder, parts: _Parts, local: UriScheme) -> tuple[Link, ...]:
    rows = read_all(ClaimRow, parts.rows("claims", {"claimClass": local.ceop["Claim"]}))
    return tuple(sorted({builder.link(r.claim, str(r.label)) for r in rows}, key=lambda link: (link.label, link.iri)))


def _downloads(linker: Linker, parts: _Parts, dataset: URIRef) -> tuple[Download, ...]:
    rows = read_all(DownloadRow, parts.rows("downloads", {"dataset": dataset}))
    found = {
        Download(str(r.url).rsplit("/", 1)[-1], str(r.media_type).removeprefix(IANA_MEDIA), linker.href(str(r.url)))
        for r in rows
    }
    return tuple(sorted(found, key=lambda d: d.label))
