"""The models of the HTML pages: a resource's page, the home page and the not-found hints.

Pure core: functions of a ``Store``, a resource's description (``ceopgraph.describe``) and plain
values, no Flask; the templates only lay these models out. Labels are made readable here (never a
bare IRI where a label or a readable local name exists), links are made safe by ``paths.Linker``.

The queries follow the rules written in ``ceopgraph.describe``: our own text, request data only as
bound values, every pattern reached from the bound resource so that a page costs what the resource
holds, not what the store holds.
"""

from __future__ import annotations

import bisect
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, OWL, PROV, RDF, RDFS, SKOS, VOID
from rdflib.term import Node

from ceopgraph.chart import Chart, chart
from ceopgraph.describe import LABEL_PROPERTIES, with_prefixes
from ceopgraph.namespaces import IANA_MEDIA, OA, QB, SCHEMA, SD, SH, LocalNamespaces, prefix_map
from ceopgraph.paths import Linker
from ceopgraph.store import Store

# Labels -----------------------------------------------------------------------------------------

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
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def _local_name(iri: str) -> str:
    stripped = iri.rstrip("/#")
    return re.split(r"[/#]", stripped)[-1] or stripped


def humanise(iri: str, capital: bool = False) -> str:
    """``foundingDate`` → ``founding date``; ``FormalOrganization`` → ``Formal organization`` (capital)."""
    words = _CAMEL.sub(" ", _local_name(iri)).replace("-", " ").replace("_", " ").split()
    text = " ".join(w if len(w) > 1 and w.isupper() else w.lower() for w in words) or iri
    return text[:1].upper() + text[1:] if capital else text


def curie(iri: str, prefixes: dict[str, str]) -> str:
    best = ""
    for prefix, namespace in prefixes.items():
        if iri.startswith(namespace) and len(namespace) > len(prefixes.get(best, "")) and iri != namespace:
            best = prefix
    if best and re.fullmatch(r"[A-Za-z0-9_.-]*", iri[len(prefixes[best]) :]):
        return f"{best}:{iri[len(prefixes[best]) :]}"
    return iri


def best_label(graph: Graph, node: Node) -> str | None:
    """The preferred label of ``node`` in ``graph``: English first, then untagged, then any language."""
    for prop in LABEL_PROPERTIES:
        values = [v for v in graph.objects(node, prop) if isinstance(v, Literal)]
        if values:
            ranked = sorted(
                values, key=lambda v: (0 if v.language in ("en", "en-gb") else 1 if not v.language else 2, str(v))
            )
            return str(ranked[0])
    return None


# Page models ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Link:
    label: str
    iri: str
    href: str | None  # None: shown, never linked (not http(s))
    curie: str
    local: bool = False


@dataclass(frozen=True)
class Text:
    value: str
    lang: str | None = None
    datatype: str | None = None  # compact IRI, for display
    long: bool = False


@dataclass(frozen=True)
class Nested:
    """A blank node, shown in place: its own properties, or the members of an RDF list."""

    rows: tuple[PropertyRow, ...] = ()
    items: tuple[Value, ...] = ()
    is_list: bool = False


Value = Link | Text | Nested


@dataclass(frozen=True)
class PropertyRow:
    predicate: Link
    values: tuple[Value, ...]


@dataclass(frozen=True)
class Excerpt:
    """A segment of the source text, in its sentence, with the cited words marked."""

    before: str
    exact: str
    after: str
    segment: Link
    article: Link
    start: int
    end: int
    via: Link | None = None  # for a derived figure: the reported figure whose words these are


@dataclass(frozen=True)
class Figure:
    obs: Link
    statistic: Link
    period: Link
    value: Decimal
    shown: str
    unit: str
    derived: bool
    status: str
    precision: str
    value_range: str | None = None
    comparison: Link | None = None
    derivation: str | None = None
    source_start: int | None = None  # where the source text gives it: figures are listed in that order


@dataclass(frozen=True)
class Alternate:
    name: str
    media_type: str
    href: str


@dataclass(frozen=True)
class ResourcePage:
    iri: str
    label: str
    curie: str
    types: tuple[Link, ...]
    description: str | None
    properties: tuple[PropertyRow, ...]
    incoming: tuple[PropertyRow, ...]
    excerpts: tuple[Excerpt, ...] = ()
    figure: Figure | None = None
    observations: tuple[Figure, ...] = ()
    chart: Chart | None = None
    members: tuple[Link, ...] = ()
    members_title: str = ""
    article_text: tuple[str, ...] = ()
    alternates: tuple[Alternate, ...] = field(default=())


DESCRIPTION_PROPERTIES: tuple[URIRef, ...] = (
    DCTERMS.description,
    SKOS.definition,
    RDFS.comment,
)


class PageBuilder:
    """Turns descriptions into page models: readable labels, safe links, nested blank nodes."""

    def __init__(self, base: str, linker: Linker, graph: Graph, extra_labels: dict[str, str] | None = None):
        self.base = base
        self.linker = linker
        self.graph = graph
        self.prefixes = prefix_map(base)
        self.extra_labels = extra_labels or {}

    def label(self, node: Node, capital: bool = False) -> str:
        found = best_label(self.graph, node)
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
        if iri == self.base:
            return "ceopgraph home"
        return humanise(iri) if isinstance(node, URIRef) else iri

    def predicate_label(self, predicate: URIRef) -> str:
        if predicate in TERM_NAMES:
            return TERM_NAMES[predicate]
        found = best_label(self.graph, predicate)
        if not found:
            return humanise(str(predicate))
        # "Reference Period" (SDMX's title case) reads as "reference period" in a table of properties.
        return " ".join(w if len(w) > 1 and w.isupper() else w[:1].lower() + w[1:] for w in found.split())

    def link(self, node: URIRef, label: str | None = None, capital: bool = False) -> Link:
        iri = str(node)
        found = label or self.label(node)
        return Link(
            label=found[:1].upper() + found[1:] if capital else found,
            iri=iri,
            href=self.linker.href(iri),
            curie=curie(iri, self.prefixes),
            local=self.linker.is_local(iri),
        )

    def value(self, node: Node, depth: int = 0) -> Value:
        if isinstance(node, URIRef):
            return self.link(node)
        if isinstance(node, BNode):
            return self.nested(node, depth + 1)
        assert isinstance(node, Literal)
        datatype = curie(str(node.datatype), self.prefixes) if node.datatype else None
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
                tuple(self.value(s) for s in sorted(subjects, key=lambda n: self.label(n).lower())),
            )
            for p, subjects in grouped.items()
        ]
        return tuple(sorted(rows, key=_row_key))


def _node_key(node: Node) -> tuple[int, str]:
    return (0 if isinstance(node, URIRef) else 1 if isinstance(node, Literal) else 2, str(node))


def _row_key(row: PropertyRow) -> tuple[int, str]:
    first = {"type": 0, "preferred label": 1, "label": 2}
    return (first.get(row.predicate.label, 3), row.predicate.label.lower())


# Provenance: the words a resource rests on ---------------------------------------------------------

# Two steps, each reached from a bound value (see ``ceopgraph.describe`` on planning): the segments
# the resource rests on, then each segment's article and position. Joined in one query, Oxigraph
# would hash the second part over every segment of the store.
CITED_SEGMENTS_QUERY = with_prefixes(
    """
SELECT ?resource ?segment ?via ?viaLabel WHERE {
  { ?resource prov:wasDerivedFrom ?segment } UNION { ?resource prov:wasQuotedFrom ?segment }
  UNION { ?resource a oa:SpecificResource BIND(?resource AS ?segment) }
  UNION { ?segment oa:hasSelector ?resource }
  UNION {
    ?resource prov:wasDerivedFrom ?via . ?via prov:wasDerivedFrom ?segment .
    FILTER EXISTS { ?via rdf:type qb:Observation }
    OPTIONAL { ?via rdfs:label ?viaLabel }
  }
}
"""
)

SEGMENT_QUERY = with_prefixes(
    """
SELECT * WHERE {
  ?segment oa:hasSource ?article ; oa:hasSelector ?selector .
  ?selector oa:start ?start ; oa:end ?end .
  ?article schema:text ?text .
  OPTIONAL { ?article rdfs:label ?articleLabel }
}
"""
)

_SENTENCE_END = re.compile(r"[.!?][\"”’]?(?=\s|$)")


def sentence_around(text: str, start: int, end: int) -> tuple[int, int]:
    """The sentence (or sentences) holding ``text[start:end]``, within its line of the source."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line_end = len(text) if line_end < 0 else line_end
    begin = line_start
    for match in _SENTENCE_END.finditer(text, line_start, start):
        begin = match.end()
    while begin < start and text[begin].isspace():
        begin += 1
    finish = line_end
    closing = _SENTENCE_END.search(text, max(end - 1, line_start), line_end)
    if closing and closing.end() >= end:
        finish = closing.end()
    return begin, finish


def excerpts(store: Store, builder: PageBuilder, iri: URIRef) -> tuple[Excerpt, ...]:
    """The sentences of the source text that ``iri`` cites, is, or is a selector of; for a derived
    figure also those of the reported figures it comes from (``via``)."""
    found: dict[tuple[str, str], Excerpt] = {}
    for row in _cited(store, iri):
        try:
            start, end = int(row["start"]), int(row["end"])  # type: ignore[call-overload]
        except (KeyError, ValueError):
            continue
        text = str(row["text"])
        if not 0 <= start < end <= len(text):
            continue
        begin, finish = sentence_around(text, start, end)
        segment = row["segment"]
        article = row["article"]
        via = row.get("via")
        assert isinstance(segment, URIRef) and isinstance(article, URIRef)
        exact = text[start:end]
        key = (str(segment), str(via or ""))
        found[key] = Excerpt(
            before=text[begin:start],
            exact=exact,
            after=text[end:finish],
            segment=builder.link(segment, f"“{_shorten(exact)}”"),
            article=builder.link(article, str(row.get("articleLabel") or builder.label(article))),
            start=start,
            end=end,
            via=builder.link(via, str(row.get("viaLabel") or builder.label(via))) if isinstance(via, URIRef) else None,
        )
    return tuple(sorted(found.values(), key=lambda e: (e.via is not None, e.start)))


def _cited(store: Store, iri: URIRef) -> Iterable[dict[str, Node]]:
    for cited in store.select(CITED_SEGMENTS_QUERY, {"resource": iri}):
        for row in store.select(SEGMENT_QUERY, {"segment": cited["segment"]}):
            yield {**cited, **row}


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# Again two steps: the segments next to the resource, then the words of each.
NEIGHBOUR_SEGMENTS_QUERY = with_prefixes(
    """
SELECT DISTINCT ?resource ?segment WHERE {
  { ?resource ?p ?segment } UNION { ?segment ?p ?resource }
  FILTER EXISTS { ?segment rdf:type oa:SpecificResource }
}
"""
)

SEGMENT_WORDS_QUERY = with_prefixes(
    """
SELECT * WHERE { ?segment oa:hasSelector ?selector . ?selector oa:exact ?exact }
"""
)


def segment_labels(store: Store, iri: URIRef) -> dict[str, str]:
    """Segments of the source text have no label of their own: name them by their words."""
    return {
        str(r["segment"]): f"“{_shorten(str(r['exact']))}”"
        for neighbour in store.select(NEIGHBOUR_SEGMENTS_QUERY, {"resource": iri})
        for r in store.select(SEGMENT_WORDS_QUERY, {"segment": neighbour["segment"]})
    }


# Figures: the observations of the cube --------------------------------------------------------------

# Type tests as FILTER EXISTS and the source position as a nested OPTIONAL: planned otherwise, the
# first scans every observation and the second every position selector of the store. A figure
# derived from other figures has sources without a position (rows without ?sourceStart).
OBSERVATIONS_QUERY = with_prefixes(
    """
SELECT * WHERE {
  ?obs qb:dataSet ?dataset . FILTER EXISTS { ?obs rdf:type qb:Observation }
  ?obs ?statisticDimension ?statistic ; sdmx-dimension:refPeriod ?period ; sdmx-measure:obsValue ?value .
  OPTIONAL { ?statistic skos:prefLabel ?statisticLabel }
  OPTIONAL { ?period rdfs:label ?periodLabel }
  OPTIONAL { ?obs rdfs:label ?obsLabel }
  OPTIONAL { ?obs sdmx-attribute:unitMeasure ?unit . ?unit skos:prefLabel ?unitLabel }
  OPTIONAL { ?obs ?statusAttribute ?status . ?status skos:notation ?statusNotation }
  OPTIONAL { ?obs ?precisionAttribute ?precision . ?precision skos:prefLabel ?precisionLabel }
  OPTIONAL { ?obs ?rangeAttribute ?range .
             OPTIONAL { ?range schema:minValue ?min } OPTIONAL { ?range schema:maxValue ?max } }
  OPTIONAL { ?obs ?comparisonAttribute ?comparison . OPTIONAL { ?comparison rdfs:label ?comparisonLabel } }
  OPTIONAL { ?obs ?derivationAttribute ?derivation }
  OPTIONAL { ?obs prov:wasDerivedFrom ?segment
             OPTIONAL { ?segment oa:hasSelector ?position . ?position oa:start ?sourceStart } }
}
"""
)


def _cube_bindings(base: str) -> dict[str, Node]:
    local = LocalNamespaces(base)
    return {
        "statisticDimension": local.dimension["statistic"],
        "statusAttribute": local.attribute["figure-status"],
        "precisionAttribute": local.attribute["precision"],
        "rangeAttribute": local.attribute["value-range"],
        "comparisonAttribute": local.attribute["comparison-period"],
        "derivationAttribute": local.attribute["derivation"],
    }


def format_number(value: Decimal) -> str:
    if value == value.to_integral_value():
        return f"{int(value):,}"
    return f"{value:,f}".rstrip("0").rstrip(".")


def _first_given(fig: Figure) -> tuple[bool, int]:
    return (fig.source_start is None, fig.source_start or 0)


def figures(
    store: Store, builder: PageBuilder, dataset: URIRef | None = None, obs: URIRef | None = None
) -> tuple[Figure, ...]:
    """The observations of a dataset (or one observation) as figures, reported first."""
    bindings = _cube_bindings(builder.base)
    if dataset is not None:
        bindings["dataset"] = dataset
    if obs is not None:
        bindings["obs"] = obs
    result = []
    for row in store.select(OBSERVATIONS_QUERY, bindings):
        try:
            value = Decimal(str(row["value"]))
        except InvalidOperation:
            continue
        percent = "percent" in str(row.get("unit", ""))
        shown = format_number(value) + ("%" if percent else "")
        precision = str(row.get("precisionLabel", ""))
        low, high = row.get("min"), row.get("max")
        value_range = None
        if low is not None and high is not None:
            unit_mark = "%" if percent else ""
            value_range = (
                f"{format_number(Decimal(str(low)))}{unit_mark} to {format_number(Decimal(str(high)))}{unit_mark}"
            )
        comparison = row.get("comparison")
        result.append(
            Figure(
                obs=builder.link(row["obs"], str(row.get("obsLabel") or "")),  # type: ignore[arg-type]
                statistic=builder.link(row["statistic"], str(row.get("statisticLabel") or "")),  # type: ignore[arg-type]
                period=builder.link(row["period"], str(row.get("periodLabel") or "")),  # type: ignore[arg-type]
                value=value,
                shown=shown,
                unit="" if percent else str(row.get("unitLabel", "")),
                derived=str(row.get("statusNotation", "")) == "derived",
                status=str(row.get("statusNotation", "reported")),
                precision=precision,
                value_range=value_range,
                comparison=builder.link(comparison, str(row.get("comparisonLabel") or ""))
                if isinstance(comparison, URIRef)
                else None,
                derivation=str(row["derivation"]) if "derivation" in row else None,
                source_start=int(str(row["sourceStart"])) if "sourceStart" in row else None,
            )
        )
    # One figure per observation, placed where the source text first gives it.
    unique: dict[str, Figure] = {}
    for fig in result:
        kept = unique.get(fig.obs.iri)
        if kept is None or _first_given(fig) <= _first_given(kept):
            unique[fig.obs.iri] = fig
    return tuple(
        sorted(unique.values(), key=lambda f: (f.derived, f.source_start is None, f.source_start or 0, f.obs.label))
    )


# The resource page ---------------------------------------------------------------------------------

SHAPE_TYPES = (SH.NodeShape, SH.PropertyShape)


def resource_page(
    store: Store,
    base: str,
    linker: Linker,
    iri: URIRef,
    description: Graph,
    alternates: Sequence[Alternate] = (),
    shapes: Graph | None = None,
) -> ResourcePage:
    """Everything the HTML page of ``iri`` shows, from its description plus the store's provenance."""
    builder = PageBuilder(base, linker, description, segment_labels(store, iri))
    types = tuple(
        builder.link(t) for t in sorted(o for o in description.objects(iri, RDF.type) if isinstance(o, URIRef))
    )
    type_iris = {t.iri for t in types}
    text = next((str(o) for p in DESCRIPTION_PROPERTIES for o in description.objects(iri, p)), None)
    figure = None
    observations: tuple[Figure, ...] = ()
    if str(QB.Observation) in type_iris:
        found = figures(store, builder, obs=iri)
        figure = found[0] if found else None
    if str(QB.DataSet) in type_iris:
        observations = figures(store, builder, dataset=iri)
    members: tuple[Link, ...] = ()
    members_title = ""
    if str(SD.NamedGraph) in type_iris:
        subjects = {s for s in store.graph_triples(iri).subjects() if isinstance(s, URIRef)}
        members = tuple(sorted((builder.link(s) for s in subjects), key=lambda link: link.label.lower()))
        members_title = "Resources described in this graph"
    if shapes is not None and iri == URIRef(base + "def/shapes"):
        shape_builder = PageBuilder(base, linker, shapes)
        named = {s for t in SHAPE_TYPES for s in shapes.subjects(RDF.type, t) if isinstance(s, URIRef)}
        members = tuple(sorted((shape_builder.link(s) for s in named), key=lambda link: link.iri))
        members_title = "Shapes"
    article_text: tuple[str, ...] = ()
    if str(SCHEMA.NewsArticle) in type_iris:
        article_text = tuple(str(t) for t in description.objects(iri, SCHEMA.text))[:1]
        article_text = tuple(article_text[0].split("\n")) if article_text else ()
    cited = excerpts(store, builder, iri)
    label = best_label(description, iri)
    if label is None and str(OA.SpecificResource) in type_iris and cited:
        label = f"Source text: {cited[0].segment.label}"
    label = label or builder.label(iri, capital=True)
    return ResourcePage(
        iri=str(iri),
        label=label,
        curie=curie(str(iri), builder.prefixes),
        types=types,
        description=text,
        properties=builder.rows(description.predicate_objects(iri)),
        incoming=builder.incoming(iri),
        excerpts=cited,
        figure=figure,
        observations=observations,
        chart=chart(observations) if observations else None,
        members=members,
        members_title=members_title,
        article_text=article_text,
        alternates=tuple(alternates),
    )


# The home page -------------------------------------------------------------------------------------


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


HOME_DATASET_QUERY = with_prefixes(
    """
SELECT * WHERE {
  ?dataset dct:title ?title .
  OPTIONAL { ?dataset dct:description ?description }
  OPTIONAL { ?dataset void:triples ?triples }
  OPTIONAL { ?dataset dct:license ?licence }
  OPTIONAL { ?dataset dct:source ?source . OPTIONAL { ?source rdfs:label ?sourceLabel } }
  OPTIONAL { ?dataset void:sparqlEndpoint ?sparql }
  OPTIONAL { ?dataset dct:conformsTo ?shapes }
  OPTIONAL { ?dataset void:subset ?cube . ?cube a qb:DataSet . OPTIONAL { ?cube rdfs:label ?cubeLabel } }
}
"""
)

HOME_THREATS_QUERY = with_prefixes(
    """
SELECT * WHERE {
  ?plan schema:about ?scheme .
  ?scheme a skos:ConceptScheme ; skos:prefLabel ?schemeLabel ; skos:hasTopConcept ?concept .
  ?concept skos:prefLabel ?label ; skos:notation ?notation .
  OPTIONAL { ?concept skos:definition ?definition }
}
"""
)

HOME_TRANSITIONS_QUERY = with_prefixes(
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

HOME_QUOTATIONS_QUERY = with_prefixes(
    """
SELECT * WHERE {
  ?quotation a schema:Quotation ; schema:text ?text ; schema:creator ?speaker .
  OPTIONAL { ?quotation rdfs:label ?label }
  OPTIONAL { ?speaker rdfs:label ?speakerLabel }
  OPTIONAL { ?speaker org:holds ?post . ?post rdfs:label ?postLabel }
}
"""
)

HOME_CLAIMS_QUERY = with_prefixes(
    """
SELECT * WHERE { ?claim a ?claimClass ; rdfs:label ?label }
"""
)

HOME_DOWNLOADS_QUERY = with_prefixes(
    """
SELECT * WHERE {
  ?dataset dcat:distribution ?distribution .
  ?distribution dcat:downloadURL ?url ; dcat:mediaType ?mediaType .
}
"""
)

HOME_VOCABULARY_QUERY = with_prefixes(
    """
SELECT * WHERE { ?vocabulary a owl:Ontology ; rdfs:label ?label }
"""
)


def _first(rows: list[dict[str, Node]], key: str) -> Node | None:
    return next((r[key] for r in rows if key in r), None)


def home_page(store: Store, base: str, linker: Linker, dataset: URIRef) -> HomePage:
    """The home page, entirely from the store: nothing about the dataset is typed into the template."""
    builder = PageBuilder(base, linker, Graph())
    rows = store.select(HOME_DATASET_QUERY, {"dataset": dataset})
    title = str(_first(rows, "title") or "ceopgraph")
    cube = _first(rows, "cube")
    cube_link = builder.link(cube, str(_first(rows, "cubeLabel") or "")) if isinstance(cube, URIRef) else None
    all_figures = figures(store, builder, dataset=cube) if isinstance(cube, URIRef) else ()
    triples = _first(rows, "triples")
    licence = _first(rows, "licence")
    source = _first(rows, "source")
    sparql = _first(rows, "sparql")
    shapes = _first(rows, "shapes")

    threats = store.select(HOME_THREATS_QUERY)
    scheme = _first(threats, "scheme")
    threat_areas = sorted(
        {
            str(r["concept"]): ThreatArea(
                builder.link(r["concept"], str(r["label"])),  # type: ignore[arg-type]
                str(r["notation"]),
                str(r.get("definition", "")),
            )
            for r in threats
        }.values(),
        key=lambda t: t.notation,
    )

    transitions: dict[str, Transition] = {}
    for r in store.select(
        HOME_TRANSITIONS_QUERY, {"statusProperty": LocalNamespaces(base).ceop["statusAtPublication"]}
    ):
        key = str(r["event"])
        orgs = transitions[key].organisations if key in transitions else ()
        org = r.get("org")
        if isinstance(org, URIRef) and str(org) not in {o.iri for o in orgs}:
            orgs = (*orgs, builder.link(org, str(r.get("orgLabel", ""))))
        transitions[key] = Transition(
            builder.link(r["event"], str(r["label"])),  # type: ignore[arg-type]
            str(r.get("comment", "")),
            str(r.get("timeLabel", "")),
            str(r.get("statusLabel", "")),
            orgs,
        )

    quotations = {
        str(r["quotation"]): Quotation(
            builder.link(r["quotation"], str(r.get("label", ""))),  # type: ignore[arg-type]
            str(r["text"]),
            builder.link(r["speaker"], str(r.get("speakerLabel", ""))),  # type: ignore[arg-type]
            str(r["postLabel"]) if "postLabel" in r else None,
        )
        for r in store.select(HOME_QUOTATIONS_QUERY)
    }
    claims = sorted(
        {
            builder.link(r["claim"], str(r["label"]))  # type: ignore[arg-type]
            for r in store.select(HOME_CLAIMS_QUERY, {"claimClass": LocalNamespaces(base).ceop["Claim"]})
        },
        key=lambda link: link.label,
    )
    downloads = sorted(
        {
            Download(
                str(r["url"]).rsplit("/", 1)[-1],
                str(r["mediaType"]).removeprefix(IANA_MEDIA),
                linker.href(str(r["url"])),
            )
            for r in store.select(HOME_DOWNLOADS_QUERY, {"dataset": dataset})
        },
        key=lambda d: d.label,
    )
    vocabulary = _first(
        store.select(HOME_VOCABULARY_QUERY, {"vocabulary": LocalNamespaces(base).def_["ceop"]}), "vocabulary"
    )
    return HomePage(
        title=title,
        description=str(_first(rows, "description") or ""),
        dataset=builder.link(dataset, title),
        cube=cube_link,
        triples=format_number(Decimal(str(triples))) if triples is not None else None,
        licence=builder.link(licence) if isinstance(licence, URIRef) else None,
        source=builder.link(source, str(_first(rows, "sourceLabel") or "")) if isinstance(source, URIRef) else None,
        headline=tuple(f for f in all_figures if not f.derived),
        derived_count=sum(1 for f in all_figures if f.derived),
        threat_scheme=builder.link(scheme, str(_first(threats, "schemeLabel"))) if isinstance(scheme, URIRef) else None,
        threat_areas=tuple(threat_areas),
        transitions=tuple(transitions.values()),
        quotations=tuple(sorted(quotations.values(), key=lambda q: q.link.iri, reverse=True)),
        claims=tuple(claims),
        downloads=tuple(downloads),
        vocabulary=builder.link(vocabulary, "Vocabulary") if isinstance(vocabulary, URIRef) else None,
        shapes=builder.link(shapes, "SHACL shapes") if isinstance(shapes, URIRef) else None,
        sparql=linker.href(str(sparql)) if isinstance(sparql, URIRef) else None,
    )


# Not found: where to look instead ------------------------------------------------------------------

SUBJECTS_QUERY = "SELECT DISTINCT ?base ?s WHERE { ?s ?p ?o FILTER(isIRI(?s) && STRSTARTS(STR(?s), ?base)) }"
LABEL_QUERY = with_prefixes("SELECT ?s ?label WHERE { ?s rdfs:label ?label } LIMIT 1")


class SubjectIndex:
    """The sorted IRIs of every subject in our URI space, read once per dataset version.

    A 404 page's hint looks a folder up here by bisection: scanning the store for it on every miss
    would let anyone make the server scan a million triples per request with made-up paths.
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


def nearby(
    store: Store, linker: Linker, iri: str, base: str, *, index: SubjectIndex, limit: int = 12
) -> tuple[Link, ...]:
    """Resources whose IRI shares the missing one's folder (``…/organisation/``): a search hint.

    Values are bound, never spliced into a query.
    """
    parent = iri.rsplit("/", 1)[0] + "/"
    if len(parent) <= len(base):
        return ()
    builder = PageBuilder(base, linker, Graph())
    links = []
    for subject in index.under(store, base, parent, limit):
        rows = store.select(LABEL_QUERY, {"s": URIRef(subject)})
        label = str(rows[0]["label"]) if rows else None
        links.append(builder.link(URIRef(subject), label))
    return tuple(links)
