"""What a DCAT-AP 3 harvester (data.gov.uk's CKAN with ckanext-dcat, the EU's portals) expects of our catalogue,
added where the catalogue is served: pure functions over rdflib graphs.

DCAT-AP checks the class of the object of each property it profiles (a licence is a ``dct:LicenseDocument``,
a media type a ``dct:MediaType``, a publisher a ``foaf:Agent``, a download URL an ``rdfs:Resource``…), and a
harvester's validator reads only the graph it is given: no vocabulary is loaded to infer those classes from
the properties' ranges. ``typed`` states them, once per object, for the properties of ``RANGES``; these are
the ranges the vocabularies and the profile give, so nothing is said that the properties did not already
entail. Added at serving time (``web.resources``, ``web.releases``), never written into
the metadata graph, so the dumps of a release stay as they were.
"""

from __future__ import annotations

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, FOAF, RDF, RDFS, XSD

from ceopgraph.namespaces import OGL_V3

DCAT = Namespace("http://www.w3.org/ns/dcat#")
SPDX = Namespace("http://spdx.org/rdf/terms#")
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
