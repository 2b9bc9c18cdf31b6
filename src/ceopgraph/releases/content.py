"""What a release holds, and what changed between two: pure functions over rdflib datasets.

A release is a submitter's data (its *content*) plus what we compute and add: the VoID/DCAT metadata
that ``build.add_metadata`` counts and lists, and the version metadata of the release (DCAT 3
versioning, the publication as a PROV activity credited to the publishing organisation). A submission
made from a downloaded dump carries the old computed triples; ``content_of`` takes them out again, so
a draft's diff shows what the submitter changed, never a stale count, and ``release_dataset`` computes
them afresh for the release.

What changed between two contents is ``releases.changes``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from rdflib import BNode, Dataset, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, PROV, RDF, RDFS, SKOS, VOID, XSD
from rdflib.term import Node

from ceopgraph import dcatap, paths
from ceopgraph.build import METADATA_GRAPH, add_metadata
from ceopgraph.namespaces import IANA_MEDIA, OGL_V3, SD, bind_prefixes
from ceopgraph.urischeme import DUMP_STEM, UriScheme, is_service_path

# DCAT with its version 3 terms (rdflib's closed DCAT namespace predates them).
DCAT = Namespace("http://www.w3.org/ns/dcat#")
ADMS_STATUS = URIRef("http://www.w3.org/ns/adms#status")
ADMS_VERSION_NOTES = URIRef("http://www.w3.org/ns/adms#versionNotes")
# The ADMS status vocabulary's "withdrawn" (a standard reference, as the EU's DCAT-AP uses it).
WITHDRAWN = URIRef("http://purl.org/adms/status/Withdrawn")
# The graph of a submission's triples that came without one (Turtle, N-Triples, RDF/XML, JSON-LD).
SUBMITTED_GRAPH = "submitted"
RELEASES_GRAPH = "releases"
# The internal graph of the audit records as PROV (exported, never served).
AUDIT_GRAPH = "audit"
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


def _computed_subjects(scheme: UriScheme) -> tuple[str, ...]:
    """IRIs whose every triple we compute: distributions, graph descriptions, releases."""
    return (str(scheme.distribution("")), str(scheme.graph), str(scheme.release_space))


def content_of(dataset: Dataset, scheme: UriScheme) -> Dataset:
    """The dataset without what we compute (see the module's docstring): what a diff compares."""
    whole = scheme.dataset
    computed = _computed_subjects(scheme)
    graphs = scheme.graph
    content = Dataset()
    bind_prefixes(content, scheme)
    for s, p, o, g in dataset.quads():
        if isinstance(s, URIRef) and str(s).startswith(computed):
            continue
        if s == whole and (p in _COMPUTED_OF_WHOLE or (p == VOID.subset and str(o).startswith(str(graphs)))):
            continue
        assert isinstance(g, URIRef)
        content.graph(g).add((s, p, o))
    return content


# The predicates by which the service ties its resources together: a statement of anyone's with one of
# them pointing at a service resource (``<x> void:inDataset <…/data/ceopgraph>``) is a claim on the
# service's description, so it is the service's to make too. Other links to our resources stay content
# (a curated subset's ``dct:isPartOf``, a ``rdfs:seeAlso``).
_SERVICE_LINKS = frozenset(
    (
        VOID.inDataset,
        VOID.subset,
        VOID.dataDump,
        VOID.sparqlEndpoint,
        DCAT.dataset,
        DCAT.distribution,
        DCAT.downloadURL,
        DCAT.accessURL,
        DCAT.accessService,
        DCAT.servesDataset,
        DCAT.endpointURL,
        DCAT.hasVersion,
        DCAT.hasCurrentVersion,
        DCAT.previousVersion,
        DCAT.isVersionOf,
        SD.endpoint,
        PROV.wasGeneratedBy,
        PROV.generated,
        DCTERMS.conformsTo,
    )
)

# The predicates that say where data is served or downloaded: only the service says where (its endpoint,
# its dumps), whatever the subject, so a draft cannot advertise another endpoint through ours
# (``<http://evil.example/ds> void:sparqlEndpoint <http://evil.example/sparql>`` in the metadata graph
# would be listed at ``/.well-known/void``).
_ACCESS_POINTS = frozenset(
    (
        VOID.sparqlEndpoint,
        VOID.dataDump,
        VOID.uriLookupEndpoint,
        VOID.openSearchDescription,
        VOID.rootResource,
        DCAT.downloadURL,
        DCAT.accessURL,
        DCAT.accessService,
        DCAT.endpointURL,
        DCAT.endpointDescription,
        SD.endpoint,
    )
)


def is_service_resource(node: Node, scheme: UriScheme) -> bool:
    """Whether ``node`` is one of the service's own resources (``urischeme.is_service_path``),
    however its IRI is spelled: compared as parsed and normalised IRIs (``paths.parse_iri``), so
    ``…/data/%63eopgraph`` and ``…/data/./ceopgraph#x`` are the dataset too."""
    if not isinstance(node, URIRef):
        return False
    rest = paths.parse_iri(str(node)).relative_path(paths.parse_iri(scheme.base))
    return rest is not None and is_service_path(rest)


def split_service_statements(dataset: Dataset, scheme: UriScheme) -> tuple[Dataset, Dataset]:
    """(the rest, the service's statements): what is said about a service resource, or links one with a
    predicate of ``_SERVICE_LINKS``, any statement of where data is served (``_ACCESS_POINTS``), and the
    blank nodes such statements alone hold (an ``spdx:checksum [ … ]`` of a dump goes whole, not leaving
    its blank node behind, describing nothing). A draft's service statements are taken out (``prepare``):
    what the service says of itself is computed (``release_dataset``) or carried from the release before."""
    seen: dict[Node, bool] = {}

    def ours(node: Node) -> bool:
        if node not in seen:
            seen[node] = is_service_resource(node, scheme)
        return seen[node]

    quads = [(s, p, o, g) for s, p, o, g in dataset.quads()]
    taken = [ours(s) or p in _ACCESS_POINTS or (p in _SERVICE_LINKS and ours(o)) for s, p, o, _ in quads]
    held_by_rest = {o for (_, _, o, _), out in zip(quads, taken, strict=True) if not out and isinstance(o, BNode)}
    by_subject: dict[Node, list[int]] = {}
    for i, (s, _, _, _) in enumerate(quads):
        if isinstance(s, BNode):
            by_subject.setdefault(s, []).append(i)
    pending: list[Node] = [o for (_, _, o, _), out in zip(quads, taken, strict=True) if out and isinstance(o, BNode)]
    while pending:  # each blank node's statements are visited once: linear in the dataset
        node = pending.pop()
        if node in held_by_rest:
            continue
        for i in by_subject.pop(node, ()):
            if not taken[i]:
                taken[i] = True
                if isinstance(quads[i][2], BNode):
                    pending.append(quads[i][2])
    rest, service = Dataset(), Dataset()
    bind_prefixes(rest, scheme)
    bind_prefixes(service, scheme)
    graphs: dict[tuple[bool, Node], Graph] = {}  # rdflib makes a graph object at each ``graph()``
    for (s, p, o, g), out in zip(quads, taken, strict=True):
        assert isinstance(g, URIRef)
        if (out, g) not in graphs:
            graphs[out, g] = (service if out else rest).graph(g)
        graphs[out, g].add((s, p, o))
    return rest, service


def merged(*datasets: Dataset) -> Dataset:
    """The quads of all ``datasets``, each in its graph."""
    union = Dataset()
    graphs: dict[Node, Graph] = {}
    for dataset in datasets:
        for s, p, o, g in dataset.quads():
            assert isinstance(g, URIRef)
            if g not in graphs:
                graphs[g] = union.graph(g)
            graphs[g].add((s, p, o))
    return union


@dataclass(frozen=True)
class Dropped:
    """A statement a draft made about the service's resources that the release will not carry."""

    graph: str
    subject: str
    statement: str  # N-Triples

    def as_json(self) -> dict[str, str]:
        return {"graph": self.graph, "subject": self.subject, "statement": self.statement}


def dropped_statements(taken_out: Dataset, *said: Dataset) -> tuple[Dropped, ...]:
    """The draft's service statements (``split_service_statements``) that none of ``said`` (the current
    release as published, the release the draft would make) makes: what the draft claimed and loses. The
    rest are the service's own words, copied from a dump; listing them would bury the claims."""
    known = {(s, p, o) for dataset in said for s, p, o, _ in dataset.quads()}
    found = {
        Dropped(str(g), str(s), f"{s.n3()} {p.n3()} {o.n3()} .")
        for s, p, o, g in taken_out.quads()
        if (s, p, o) not in known
    }
    return tuple(sorted(found, key=lambda d: (d.graph, d.subject, d.statement)))


@dataclass(frozen=True)
class Version:
    """A release's place in the series: its number, when it was issued, the one before it."""

    n: int
    issued: str  # xsd:dateTime, UTC
    previous: int | None
    notes: str | None = None  # the publisher's release note: what changed since the previous version


def version_metadata(scheme: UriScheme, version: Version) -> list[tuple[Node, Node, Node]]:
    """The release's own DCAT 3 version description and its publication activity (immutable: in its dumps)."""
    release = scheme.release(version.n)
    activity = scheme.publication(version.n)
    issued = Literal(version.issued, datatype=XSD.dateTime, normalize=False)  # as written: ...Z
    organisation = scheme.id["organisation/ceopgraph"]
    triples: list[tuple[Node, Node, Node]] = [
        (release, RDF.type, DCAT.Dataset),
        (release, RDF.type, VOID.Dataset),
        (release, RDFS.label, Literal(f"Release {version.n} of the dataset", lang="en")),
        (release, DCAT.version, Literal(str(version.n))),
        (release, DCTERMS.issued, issued),
        (release, DCAT.isVersionOf, scheme.dataset),
        (release, DCTERMS.publisher, organisation),
        (release, DCTERMS.license, OGL_V3),
        (release, PROV.wasGeneratedBy, activity),
        (activity, RDF.type, PROV.Activity),
        (activity, RDFS.label, Literal(f"Publication of release {version.n}", lang="en")),
        (activity, PROV.endedAtTime, issued),
        (activity, PROV.wasAssociatedWith, organisation),
    ]
    if version.previous is not None:
        triples.append((release, DCAT.previousVersion, scheme.release(version.previous)))
    if version.notes:  # DCAT 3's term for a version's notes (its section on versioning)
        triples.append((release, ADMS_VERSION_NOTES, Literal(version.notes, lang="en")))
    return triples


def release_dataset(content: Dataset, scheme: UriScheme, version: Version) -> Dataset:
    """A release: the content, its version metadata, then the computed VoID/DCAT (counts include both)."""
    release = Dataset(default_union=True)
    bind_prefixes(release, scheme)
    for s, p, o, g in content.quads():
        assert isinstance(g, URIRef)
        release.graph(g).add((s, p, o))
    meta = release.graph(scheme.graph_iri(METADATA_GRAPH))
    for triple in version_metadata(scheme, version):
        meta.add(triple)
    add_metadata(release, scheme)
    return release


@dataclass(frozen=True)
class ListedRelease:
    """What the live releases graph says of one release (``releases.service`` reads it from the registry)."""

    version: Version
    dumps: tuple[tuple[str, str, str], ...]  # (file name, media type, sha256)
    withdrawn: str | None = None
    withdrawn_note: str | None = None


def releases_graph(scheme: UriScheme, listed: Iterable[ListedRelease], current: int) -> Graph:
    """The live description of the series, served beside the current release (never in a release's
    dumps, since it changes): every version, the current one, withdrawals, each release's dumps."""
    graph = Graph()
    bind_prefixes(graph, scheme)
    whole = scheme.dataset
    for item in listed:
        n = item.version.n
        release = scheme.release(n)
        for triple in version_metadata(scheme, item.version):
            graph.add(triple)
        graph.add((whole, DCAT.hasVersion, release))
        # DCAT-AP's mandatory title and description, live only: a release's dumps keep what they were made with.
        graph.add((release, DCTERMS.title, Literal(f"Release {n} of the dataset", lang="en")))
        description = f"Version {n} of the dataset, issued {item.version.issued}."
        if item.version.notes:
            description += f" {item.version.notes}"
        graph.add((release, DCTERMS.description, Literal(description, lang="en")))
        for name, media_type, sha256 in item.dumps:
            # An RDF dump's distribution is named by its extension, as it always was; a table's by its file name.
            rdf_dump = name.rpartition(".")[0] == DUMP_STEM
            distribution = scheme.release_distribution(n, name.rsplit(".", 1)[-1] if rdf_dump else name)
            url = scheme.release_dump(n, name)
            graph.add((release, DCAT.distribution, distribution))
            graph.add((distribution, RDF.type, DCAT.Distribution))
            graph.add((distribution, DCAT.downloadURL, url))
            graph.add((distribution, DCAT.accessURL, url))  # DCAT-AP's mandatory one: a file is its own access
            graph.add((distribution, DCTERMS.title, Literal(f"{name}, release {n}", lang="en")))
            graph.add((distribution, DCAT.mediaType, IANA_MEDIA[media_type]))
            graph.add((distribution, DCTERMS.license, OGL_V3))
            graph.add((distribution, RDFS.comment, Literal(f"sha256 {sha256}")))  # as it always was
            dcatap.checksum(graph, distribution, sha256)
        if item.withdrawn is not None:
            graph.add((release, ADMS_STATUS, WITHDRAWN))
            graph.add(
                (release, PROV.invalidatedAtTime, Literal(item.withdrawn, datatype=XSD.dateTime, normalize=False))
            )
            note = f"Withdrawn on {item.withdrawn}" + (f": {item.withdrawn_note}" if item.withdrawn_note else "")
            graph.add((release, SKOS.editorialNote, Literal(note, lang="en")))
    if current:
        graph.add((whole, DCAT.hasCurrentVersion, scheme.release(current)))
        graph.add((whole, DCAT.version, Literal(str(current))))
    return graph
