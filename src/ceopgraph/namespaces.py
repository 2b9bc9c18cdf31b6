"""Every namespace, defined once, and the prefix bindings used in every serialisation.

Standard vocabularies are constants. The project's own terms live under the configured base URI, so
their namespaces are the URI scheme's (``urischeme.UriScheme``) rather than fixed at import time.
"""

from __future__ import annotations

from rdflib import Graph, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, OWL, PROV, RDF, RDFS, SKOS, TIME, VOID, XSD

from ceopgraph.urischeme import UriScheme

ORG = Namespace("http://www.w3.org/ns/org#")
QB = Namespace("http://purl.org/linked-data/cube#")
SDMX_DIMENSION = Namespace("http://purl.org/linked-data/sdmx/2009/dimension#")
SDMX_ATTRIBUTE = Namespace("http://purl.org/linked-data/sdmx/2009/attribute#")
SDMX_MEASURE = Namespace("http://purl.org/linked-data/sdmx/2009/measure#")
SDMX_CODE = Namespace("http://purl.org/linked-data/sdmx/2009/code#")
SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
OA = Namespace("http://www.w3.org/ns/oa#")
SH = Namespace("http://www.w3.org/ns/shacl#")
SCHEMA = Namespace("http://schema.org/")
INTERVAL = Namespace("http://reference.data.gov.uk/def/intervals/")
GOVERNMENT_YEAR = Namespace("http://reference.data.gov.uk/id/government-year/")
IANA_MEDIA = Namespace("https://www.iana.org/assignments/media-types/")
FORMATS = Namespace("http://www.w3.org/ns/formats/")
# The licence of everything published: the Open Government Licence v3.0, at the National Archives.
OGL_V3 = URIRef("http://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/")


STANDARD_PREFIXES: dict[str, Namespace] = {
    "rdf": Namespace(str(RDF)),
    "rdfs": Namespace(str(RDFS)),
    "owl": Namespace(str(OWL)),
    "xsd": Namespace(str(XSD)),
    "org": ORG,
    "qb": QB,
    "sdmx-dimension": SDMX_DIMENSION,
    "sdmx-attribute": SDMX_ATTRIBUTE,
    "sdmx-measure": SDMX_MEASURE,
    "sdmx-code": SDMX_CODE,
    "skos": Namespace(str(SKOS)),
    "dcat": Namespace(str(DCAT)),
    "dct": Namespace(str(DCTERMS)),
    "void": Namespace(str(VOID)),
    "sd": SD,
    "prov": Namespace(str(PROV)),
    "time": Namespace(str(TIME)),
    "schema": SCHEMA,
    "oa": OA,
    "sh": SH,
    "foaf": Namespace(str(FOAF)),
    "interval": INTERVAL,
}


def prefix_map(scheme: UriScheme) -> dict[str, str]:
    """Every prefix we write, standard and local, in one fixed order."""
    return {
        **{prefix: str(namespace) for prefix, namespace in STANDARD_PREFIXES.items()},
        "ceop": str(scheme.ceop),
        "statistic": str(scheme.statistic),
        "dimension": str(scheme.dimension),
        "attribute": str(scheme.attribute),
        "unit": str(scheme.unit),
        "segment": str(scheme.id["news-item/ceop-annual-review-2012-13/segment/"]),
        "gy": str(GOVERNMENT_YEAR),
        "sdmx-concept": "http://purl.org/linked-data/sdmx/2009/concept#",
    }


def bind_prefixes(graph: Graph, scheme: UriScheme) -> None:
    """Bind the same prefixes everywhere so every dump and page reads alike."""
    for prefix, namespace in prefix_map(scheme).items():
        graph.bind(prefix, namespace, override=True, replace=True)
