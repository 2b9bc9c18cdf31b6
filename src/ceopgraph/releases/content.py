"""What a release holds, and what changed between two: pure functions over rdflib datasets.

A release is a submitter's data (its *content*) plus what we compute and add: the VoID/DCAT metadata
that ``build.add_metadata`` counts and lists, and the version metadata of the release (DCAT 3
versioning, the publication as a PROV activity credited to the publishing organisation). A submission
made from a downloaded dump carries the old computed triples; ``content_of`` takes them out again, so
a draft's diff shows what the submitter changed, never a stale count, and ``release_dataset`` computes
them afresh for the release.

The diff is two things: the triples added and removed (blank nodes matched by their stable labels,
``ceopgraph.bnodes``), as a
changeset of two named graphs, and for people, the figures whose value changed ("Children safeguarded and
protected, 2012-2013: 790 → 812") and the threat areas, quotations and claims added, removed or changed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from rdflib import Dataset, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, PROV, RDF, RDFS, SKOS, VOID, XSD
from rdflib.term import Node

from ceopgraph.bnodes import relabel_triples
from ceopgraph.build import DATASET_PATH, METADATA_GRAPH, OGL_V3, add_metadata, dataset_iri, graph_iri
from ceopgraph.labels import label, local_name
from ceopgraph.namespaces import IANA_MEDIA, QB, SCHEMA, SDMX_MEASURE, LocalNamespaces, bind_prefixes

# DCAT with its version 3 terms (rdflib's closed DCAT namespace predates them).
DCAT = Namespace("http://www.w3.org/ns/dcat#")
ADMS_STATUS = URIRef("http://www.w3.org/ns/adms#status")
# The ADMS status vocabulary's "withdrawn" (a standard reference, as the EU's DCAT-AP uses it).
WITHDRAWN = URIRef("http://purl.org/adms/status/Withdrawn")
# The graph of a submission's triples that came without one (Turtle, N-Triples, RDF/XML, JSON-LD).
SUBMITTED_GRAPH = "submitted"
RELEASES_GRAPH = "releases"
# Predicates of the whole dataset that ``add_metadata`` and ``version_metadata`` compute.
_COMPUTED_OF_WHOLE = (
    VOID.uriSpace,
    DCTERMS.conformsTo,
    VOID.vocabulary,
    DCAT.distribution,
    VOID.dataDump,
    VOID.triples,
    DCAT.hasVersion,
    DCAT.hasCurrentVersion,
    DCAT.version,
)


def release_iri(base: str, n: int) -> URIRef:
    return URIRef(f"{base}{DATASET_PATH}/release/{n}")


def publication_iri(base: str, n: int) -> URIRef:
    return URIRef(f"{base}{DATASET_PATH}/release/{n}/publication")


def release_dump_url(base: str, n: int, name: str) -> URIRef:
    return URIRef(f"{base}releases/{n}/dumps/{name}")


def _computed_subjects(base: str) -> tuple[str, ...]:
    """IRIs whose every triple we compute: distributions, graph descriptions, releases."""
    return (f"{base}{DATASET_PATH}/distribution/", str(LocalNamespaces(base).graph), f"{base}{DATASET_PATH}/release/")


def content_of(dataset: Dataset, base: str) -> Dataset:
    """The dataset without what we compute (see the module's docstring): what a diff compares."""
    whole = dataset_iri(base)
    computed = _computed_subjects(base)
    graphs = LocalNamespaces(base).graph
    content = Dataset()
    bind_prefixes(content, base)
    for s, p, o, g in dataset.quads():
        if isinstance(s, URIRef) and str(s).startswith(computed):
            continue
        if s == whole and (p in _COMPUTED_OF_WHOLE or (p == VOID.subset and str(o).startswith(str(graphs)))):
            continue
        assert isinstance(g, URIRef)
        content.graph(g).add((s, p, o))
    return content


@dataclass(frozen=True)
class Version:
    """A release's place in the series: its number, when it was issued, the one before it."""

    n: int
    issued: str  # xsd:dateTime, UTC
    previous: int | None


def version_metadata(base: str, version: Version) -> list[tuple[Node, Node, Node]]:
    """The release's own DCAT 3 version description and its publication activity (immutable: in its dumps)."""
    release = release_iri(base, version.n)
    activity = publication_iri(base, version.n)
    issued = Literal(version.issued, datatype=XSD.dateTime, normalize=False)  # as written: ...Z
    organisation = LocalNamespaces(base).id["organisation/ceopgraph"]
    triples: list[tuple[Node, Node, Node]] = [
        (release, RDF.type, DCAT.Dataset),
        (release, RDF.type, VOID.Dataset),
        (release, RDFS.label, Literal(f"Release {version.n} of the dataset", lang="en")),
        (release, DCAT.version, Literal(str(version.n))),
        (release, DCTERMS.issued, issued),
        (release, DCAT.isVersionOf, dataset_iri(base)),
        (release, DCTERMS.publisher, organisation),
        (release, DCTERMS.license, OGL_V3),
        (release, PROV.wasGeneratedBy, activity),
        (activity, RDF.type, PROV.Activity),
        (activity, RDFS.label, Literal(f"Publication of release {version.n}", lang="en")),
        (activity, PROV.endedAtTime, issued),
        (activity, PROV.wasAssociatedWith, organisation),
    ]
    if version.previous is not None:
        triples.append((release, DCAT.previousVersion, release_iri(base, version.previous)))
    return triples


def release_dataset(content: Dataset, base: str, version: Version) -> Dataset:
    """A release: the content, its version metadata, then the computed VoID/DCAT (counts include both)."""
    release = Dataset(default_union=True)
    bind_prefixes(release, base)
    for s, p, o, g in content.quads():
        assert isinstance(g, URIRef)
        release.graph(g).add((s, p, o))
    meta = release.graph(graph_iri(base, METADATA_GRAPH))
    for triple in version_metadata(base, version):
        meta.add(triple)
    add_metadata(release, base)
    return release


@dataclass(frozen=True)
class ListedRelease:
    """What the live releases graph says of one release (``releases.service`` reads it from the registry)."""

    version: Version
    dumps: tuple[tuple[str, str, str], ...]  # (file name, media type, sha256)
    withdrawn: str | None = None
    withdrawn_note: str | None = None


def releases_graph(base: str, listed: Iterable[ListedRelease], current: int) -> Graph:
    """The live description of the series, served beside the current release (never in a release's
    dumps, since it changes): every version, the current one, withdrawals, each release's dumps."""
    graph = Graph()
    bind_prefixes(graph, base)
    whole = dataset_iri(base)
    for item in listed:
        n = item.version.n
        release = release_iri(base, n)
        for triple in version_metadata(base, item.version):
            graph.add(triple)
        graph.add((whole, DCAT.hasVersion, release))
        for name, media_type, sha256 in item.dumps:
            distribution = URIRef(f"{release}/distribution/{name.rsplit('.', 1)[-1]}")
            url = release_dump_url(base, n, name)
            graph.add((release, DCAT.distribution, distribution))
            graph.add((distribution, RDF.type, DCAT.Distribution))
            graph.add((distribution, DCAT.downloadURL, url))
            graph.add((distribution, DCAT.mediaType, IANA_MEDIA[media_type]))
            graph.add((distribution, RDFS.comment, Literal(f"sha256 {sha256}")))
        if item.withdrawn is not None:
            graph.add((release, ADMS_STATUS, WITHDRAWN))
            graph.add(
                (release, PROV.invalidatedAtTime, Literal(item.withdrawn, datatype=XSD.dateTime, normalize=False))
            )
            note = f"Withdrawn on {item.withdrawn}" + (f": {item.withdrawn_note}" if item.withdrawn_note else "")
            graph.add((release, SKOS.editorialNote, Literal(note, lang="en")))
    if current:
        graph.add((whole, DCAT.hasCurrentVersion, release_iri(base, current)))
        graph.add((whole, DCAT.version, Literal(str(current))))
    return graph


# Diffs ------------------------------------------------------------------------------------------------

# The kinds of things a person reviews besides the figures: (key, title, how to find them).
_KINDS: tuple[tuple[str, str], ...] = (
    ("threat_areas", "threat areas"),
    ("quotations", "quotations"),
    ("claims", "claims"),
)


@dataclass(frozen=True)
class FigureChange:
    iri: str
    label: str
    before: str | None  # None: the figure is new
    after: str | None  # None: the figure was removed

    def describe(self) -> str:
        if self.before is None:
            return f"{self.label}: new, {self.after}"
        if self.after is None:
            return f"{self.label}: removed (was {self.before})"
        return f"{self.label}: {self.before} → {self.after}"


@dataclass(frozen=True)
class Diff:
    """What a draft changes against a release: counts, figures, and things by kind."""

    base_release: int
    added: int
    removed: int
    figures: tuple[FigureChange, ...]
    things: dict[str, dict[str, list[dict[str, str]]]] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "base_release": self.base_release,
            "triples": {"added": self.added, "removed": self.removed},
            "figures": [
                {"iri": f.iri, "label": f.label, "before": f.before, "after": f.after, "change": f.describe()}
                for f in self.figures
            ],
            **self.things,
        }


def label_of(graph: Graph, node: Node) -> str:
    """A node's label for a diff: its label, else its IRI's last segment."""
    return label(graph, node) or local_name(str(node))


def _stable_union(dataset: Dataset) -> Graph:
    """The union of the dataset's graphs, its blank nodes labelled by their place in the union."""
    union = Graph()
    for triple in relabel_triples((s, p, o) for s, p, o, _ in dataset.quads()):
        union.add(triple)
    return union


def _members(graph: Graph, base: str) -> dict[str, set[Node]]:
    ns = LocalNamespaces(base)
    threat_scheme = ns.def_["threat-area"]
    return {
        "threat_areas": set(graph.subjects(SKOS.inScheme, threat_scheme)),
        "quotations": set(graph.subjects(RDF.type, SCHEMA.Quotation)),
        "claims": set(graph.subjects(RDF.type, ns.ceop.Claim)),
    }


def _figures(graph: Graph) -> dict[Node, tuple[str, str]]:
    """Each observation: (its label, its value as written)."""
    figures = {}
    for obs in graph.subjects(RDF.type, QB.Observation):
        value = graph.value(obs, SDMX_MEASURE.obsValue)
        figures[obs] = (label_of(graph, obs), "" if value is None else str(value))
    return figures


def diff(before: Dataset, after: Dataset, base: str, base_release: int, changeset_iri: str) -> tuple[Diff, Dataset]:
    """The diff of two contents (``content_of``), and the changeset: graphs ``{changeset_iri}#removed``
    and ``#added`` holding the triples of each side that the other lacks (blank nodes canonically named)."""
    old, new = _stable_union(before), _stable_union(after)
    removed, added = set(old) - set(new), set(new) - set(old)
    changeset = Dataset()
    bind_prefixes(changeset, base)
    for name, triples in (("removed", removed), ("added", added)):
        graph = changeset.graph(URIRef(f"{changeset_iri}#{name}"))
        for triple in triples:
            graph.add(triple)
    old_figures, new_figures = _figures(old), _figures(new)
    changes = []
    for obs in sorted(set(old_figures) | set(new_figures), key=str):
        was, now = old_figures.get(obs), new_figures.get(obs)
        if was is not None and now is not None and was[1] == now[1]:
            continue
        label = (now or was or ("", ""))[0]
        changes.append(FigureChange(str(obs), label, was[1] if was else None, now[1] if now else None))
    touched = {s for s, _, _ in removed | added}
    old_members, new_members = _members(old, base), _members(new, base)
    things: dict[str, dict[str, list[dict[str, str]]]] = {}
    for key, _title in _KINDS:
        was_there, is_there = old_members[key], new_members[key]

        def listed(nodes: Iterable[Node], graph: Graph) -> list[dict[str, str]]:
            return [{"iri": str(node), "label": label_of(graph, node)} for node in sorted(nodes, key=str)]

        things[key] = {
            "added": listed(is_there - was_there, new),
            "removed": listed(was_there - is_there, old),
            "changed": listed((was_there & is_there) & touched, new),
        }
    things["graphs"] = _graph_changes(before, after)
    result = Diff(base_release, len(added), len(removed), tuple(changes), things)
    return result, changeset


def _graph_changes(before: Dataset, after: Dataset) -> dict[str, list[dict[str, str]]]:
    """Per named graph, the triples added and removed (a triple moved between graphs shows here, not in
    the union's counts): each graph with a change, its IRI and the two counts."""

    def by_graph(dataset: Dataset) -> dict[str, Graph]:
        graphs: dict[str, Graph] = {}
        for s, p, o, g in dataset.quads():
            graphs.setdefault(str(g), Graph()).add((s, p, o))
        return graphs

    old, new = by_graph(before), by_graph(after)
    changed = []
    for name in sorted(set(old) | set(new)):
        was = relabel_triples(old.get(name, Graph()))
        now = relabel_triples(new.get(name, Graph()))
        if was != now:
            changed.append(
                {"iri": name, "label": local_name(name), "added": str(len(now - was)), "removed": str(len(was - now))}
            )
    return {"changed": changed}


KIND_TITLES = dict(_KINDS)
