"""The page of one resource: its description, laid out, plus what the store says of its provenance.

Pure: a function of a ``Store``, the resource's description (``ceopgraph.describe``) and plain
values, no Flask; ``templates/resource.html`` lays the model out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from rdflib import Graph, URIRef
from rdflib.namespace import DCTERMS, RDF, RDFS, SKOS

from ceopgraph import describe, labels
from ceopgraph.namespaces import OA, QB, SCHEMA, SD, SH
from ceopgraph.paths import Linker
from ceopgraph.store.protocol import Store
from ceopgraph.urischeme import UriScheme
from ceopgraph.web.pages.builder import PageBuilder, curie
from ceopgraph.web.pages.capped import Cut
from ceopgraph.web.pages.chart import Chart, chart
from ceopgraph.web.pages.figures import figures
from ceopgraph.web.pages.model import Excerpt, Figure, Link, PropertyRow
from ceopgraph.web.pages.provenance import excerpts, segment_labels


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
    cuts: tuple[Cut, ...] = ()  # the parts left out, each over its cap (``capped``)


DESCRIPTION_PROPERTIES: tuple[URIRef, ...] = (
    DCTERMS.description,
    SKOS.definition,
    RDFS.comment,
)
SHAPE_TYPES = (SH.NodeShape, SH.PropertyShape)


def resource_page(
    store: Store,
    scheme: UriScheme,
    linker: Linker,
    iri: URIRef,
    description: Graph,
    alternates: Sequence[Alternate] = (),
    shapes: Graph | None = None,
) -> ResourcePage:
    """Everything the HTML page of ``iri`` shows, from its description plus the store's provenance."""
    builder = PageBuilder(scheme, linker, description, segment_labels(store, iri))
    types = tuple(
        builder.link(t) for t in sorted(o for o in description.objects(iri, RDF.type) if isinstance(o, URIRef))
    )
    type_iris = {t.iri for t in types}
    text = next((str(o) for p in DESCRIPTION_PROPERTIES for o in description.objects(iri, p)), None)
    figure = None
    observations: tuple[Figure, ...] = ()
    cuts: list[Cut] = []
    if str(QB.Observation) in type_iris:
        found = figures(store, builder, obs=iri)
        figure = found[0] if isinstance(found, tuple) and found else None
        cuts += [found] if isinstance(found, Cut) else []
    if str(QB.DataSet) in type_iris:
        found = figures(store, builder, dataset=iri)
        observations = found if isinstance(found, tuple) else ()
        cuts += [found] if isinstance(found, Cut) else []
    members, members_title = _members(store, builder, iri, type_iris, shapes)
    excerpted = excerpts(store, builder, iri)
    cited = excerpted if isinstance(excerpted, tuple) else ()
    cuts += [excerpted] if isinstance(excerpted, Cut) else []
    label = labels.label(description, iri)
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
        article_text=_article_text(description, iri) if str(SCHEMA.NewsArticle) in type_iris else (),
        alternates=tuple(alternates),
        cuts=tuple(cuts),
    )


def _members(
    store: Store, builder: PageBuilder, iri: URIRef, type_iris: set[str], shapes: Graph | None
) -> tuple[tuple[Link, ...], str]:
    """What a container lists, and its heading: a named graph's subjects, or the shapes."""
    members: tuple[Link, ...] = ()
    title = ""
    if str(SD.NamedGraph) in type_iris:
        subjects = set(describe.graph_subjects(store, iri) or ())  # none past the cap: the page says it is cut
        # Ties (many ``position`` selectors) by IRI: a set's order differs between processes, and so would the ETag.
        members = tuple(sorted((builder.link(s) for s in subjects), key=lambda link: (link.label.lower(), link.iri)))
        title = "Resources described in this graph"
    if shapes is not None and iri == builder.scheme.shapes:
        shape_builder = PageBuilder(builder.scheme, builder.linker, shapes)
        named = {s for t in SHAPE_TYPES for s in shapes.subjects(RDF.type, t) if isinstance(s, URIRef)}
        members = tuple(sorted((shape_builder.link(s) for s in named), key=lambda link: link.iri))
        title = "Shapes"
    return members, title


def _article_text(description: Graph, iri: URIRef) -> tuple[str, ...]:
    """A news article's text, as its lines."""
    texts = tuple(str(t) for t in description.objects(iri, SCHEMA.text))[:1]
    return tuple(texts[0].split("\n")) if texts else ()
