"""What a DCAT-AP 3 harvester (data.gov.uk's CKAN with ckanext-dcat, the EU's portals) expects of our catalogue,
added where the catalogue is served: pure functions over rdflib graphs.

DCAT-AP checks the class of the object of each property it profiles (a licence is a ``dct:LicenseDocument``,
a media type a ``dct:MediaType``, a publisher a ``foaf:Agent``, a download URL an ``rdfs:Resource``…), and a
harvester's validator reads only the graph it is given: no vocabulary is loaded to infer those classes from
the properties' ranges. ``typed`` states them, once per object, for the properties of ``RANGES``; these are
the ranges the vocabularies and the profile give, so nothing is said that the properties did not already
entail. Added at serving time (``web.resources``, ``web.releases``, ``web.catalogue``), never written into
the metadata graph, so the dumps of a release stay as they were.
"""

from __future__ import annotations

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, FOAF, PROV, RDF, RDFS, XSD
from rdflib.term import Node

from ceopgraph.namespaces import OGL_V3
from ceopgraph.urischeme import UriScheme

DCAT = Namespace("http://www.w3.org/ns/dcat#")
SPDX = Namespace("http://spdx.org/rdf/terms#")
HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
SHA256 = SPDX["checksumAlgorithm_sha256"]

# Property → the class DCAT-AP 3 gives its object (its "range" column), for the properties we use.
RANGES: dict[URIRef, URIRef] = {
    DCAT.downloadURL: RDFS.Resource,
    DCAT.accessURL: RDFS.Resource,
    DCAT.endpointURL: RDFS.Resource,
    DCAT.landingPage: FOAF.Document,
    FOAF.homepage: FOAF.Document,
    FOAF.page: FOAF.Document,
    DCAT.mediaType: DCTERMS.MediaType,
    DCTERMS.license: DCTERMS.LicenseDocument,
    DCTERMS.publisher: FOAF.Agent,
    DCTERMS.creator: FOAF.Agent,
    DCTERMS.temporal: DCTERMS.PeriodOfTime,
    DCTERMS.language: DCTERMS.LinguisticSystem,
    DCTERMS.conformsTo: DCTERMS.Standard,
    SPDX.checksum: SPDX.Checksum,
    SPDX.algorithm: SPDX.ChecksumAlgorithm,
    DCAT.distribution: DCAT.Distribution,
    DCAT.dataset: DCAT.Dataset,
    DCAT.service: DCAT.DataService,
}
# The subjects whose properties DCAT-AP profiles: only their objects are typed.
PROFILED = (DCAT.Catalog, DCAT.Dataset, DCAT.Distribution, DCAT.DataService, SPDX.Checksum)


def typed(graph: Graph) -> Graph:
    """The class statements DCAT-AP asks for (``RANGES``) of the objects of ``graph``'s profiled resources
    that are IRIs or blank nodes and do not already state it."""
    profiled = {s for cls in PROFILED for s in graph.subjects(RDF.type, cls)}
    added = Graph()
    for subject in profiled:
        for prop, cls in RANGES.items():
            for value in graph.objects(subject, prop):
                if isinstance(value, (URIRef, BNode)) and (value, RDF.type, cls) not in graph:
                    added.add((value, RDF.type, cls))
    return added


def licence_description() -> Graph:
    """The licence as DCAT-AP describes one: a ``dct:LicenseDocument`` with a title."""
    graph = Graph()
    graph.add((OGL_V3, RDF.type, DCTERMS.LicenseDocument))
    graph.add((OGL_V3, DCTERMS.title, Literal("Open Government Licence v3.0", lang="en")))
    return graph


def checksum(graph: Graph, distribution: URIRef, sha256: str) -> None:
    """A distribution's SHA-256 as SPDX says it (``spdx:checksum [ spdx:algorithm …; spdx:checksumValue … ]``),
    the form DCAT-AP reads (its value an ``xsd:hexBinary``: lower-case hex, as ``hashlib`` writes it)."""
    node = BNode()
    graph.add((distribution, SPDX.checksum, node))
    graph.add((node, RDF.type, SPDX.Checksum))
    graph.add((node, SPDX.algorithm, SHA256))
    graph.add((node, SPDX.checksumValue, Literal(sha256, datatype=XSD.hexBinary, normalize=False)))


# The catalogue ----------------------------------------------------------------------------------------------


def page_count(items: int, size: int) -> int:
    """The number of pages of ``items`` datasets: at least one, an empty catalogue's."""
    return max(1, -(-items // size))


def catalogue_page(scheme: UriScheme, described: Graph, items: list[URIRef], page: int, size: int) -> Graph:
    """Page ``page`` (from 1) of the ``dcat:Catalog`` of ``items``, each listed with ``dcat:dataset`` and
    described as ``described`` says (its statements, its distributions', their checksums'), paged as a Hydra
    partial collection view (first, last, previous, next), also typed hydra:PagedCollection, the class
    ckanext-dcat's parser looks for (udata reads the view).
    The catalogue's own statements and the data service are on every page."""
    last = page_count(len(items), size)
    if not 1 <= page <= last:
        raise ValueError(f"no page {page} of {last}")
    catalog = scheme.catalog
    graph = Graph()
    graph.add((catalog, RDF.type, DCAT.Catalog))
    graph.add((catalog, DCTERMS.title, Literal("ceopgraph catalogue", lang="en")))
    graph.add(
        (
            catalog,
            DCTERMS.description,
            Literal(
                "The datasets ceopgraph publishes: the CEOP Annual Review 2012/13 as linked open data, and each of "
                "its releases with its dumps and their SHA-256 checksums.",
                lang="en",
            ),
        )
    )
    graph.add((catalog, DCTERMS.publisher, scheme.id["organisation/ceopgraph"]))
    graph.add((catalog, FOAF.homepage, URIRef(scheme.base)))
    graph.add((catalog, DCTERMS.license, OGL_V3))
    for service in described.subjects(RDF.type, DCAT.DataService):
        graph.add((catalog, DCAT.service, service))
        _copy(described, service, graph)
    for item in items[(page - 1) * size : page * size]:
        graph.add((catalog, DCAT.dataset, item))
        _copy(described, item, graph)
        for part in (*described.objects(item, DCAT.distribution), *described.objects(item, PROV.wasGeneratedBy)):
            _copy(described, part, graph)  # its distributions, and a release's publication (a prov:Activity)
    _copy(described, scheme.id["organisation/ceopgraph"], graph)
    view = scheme.catalog_page(page)
    graph.add((catalog, RDF.type, HYDRA.Collection))
    graph.add((catalog, HYDRA.totalItems, Literal(len(items), datatype=XSD.integer)))
    graph.add((catalog, HYDRA.view, view))
    graph.add((view, RDF.type, HYDRA.PartialCollectionView))
    # ckanext-dcat's harvester looks for the next page on a hydra:PagedCollection (Hydra's older name for a
    # page), reading hydra:next: the view is one too, so CKAN pages through as udata and Hydra clients do.
    graph.add((view, RDF.type, HYDRA.PagedCollection))
    graph.add((view, HYDRA.totalItems, Literal(len(items), datatype=XSD.integer)))
    graph.add((view, HYDRA.itemsPerPage, Literal(size, datatype=XSD.integer)))
    graph.add((view, HYDRA.first, scheme.catalog_page(1)))
    graph.add((view, HYDRA.last, scheme.catalog_page(last)))
    if page > 1:
        graph.add((view, HYDRA.previous, scheme.catalog_page(page - 1)))
    if page < last:
        graph.add((view, HYDRA.next, scheme.catalog_page(page + 1)))
    return graph


def _copy(source: Graph, node: Node, target: Graph) -> None:
    """``node``'s statements in ``source``, and its blank nodes' (a checksum), into ``target``."""
    pending, seen = [node], set()
    while pending:
        subject = pending.pop()
        if subject in seen:
            continue
        seen.add(subject)
        for p, o in source.predicate_objects(subject):
            target.add((subject, p, o))
            if isinstance(o, BNode):
                pending.append(o)
