"""``/sparql``: the SPARQL 1.1 Protocol query operation, the service description and the query editor.

Views are thin: ``ceopgraph.sparql`` decodes the request, the query checker (``ceopgraph.queryvet``) vets
it, the store runs it (with its time limit and row cap); repeated GET answers are replayed by
``web.replay``. Section numbers refer to SPARQL 1.1 Protocol; the service description follows SPARQL 1.1
Service Description.
"""

from __future__ import annotations

from flask import Blueprint, Response, g, render_template, request, send_from_directory
from rdflib import BNode, Graph, URIRef
from rdflib.namespace import RDF

from ceopgraph import rdfio, sparql
from ceopgraph.conneg import RDF_FORMATS, negotiate
from ceopgraph.namespaces import FORMATS, SD, STANDARD_PREFIXES
from ceopgraph.sparql import QueryRequest, ResultFormat
from ceopgraph.sparqltext import QueryInfo
from ceopgraph.store.jobs import DatasetSelection, QueryAnswer, QueryJob, QueryMemoryExceeded, QueryStopped
from ceopgraph.web import caching
from ceopgraph.web.body import read_body
from ceopgraph.web.services import current

blueprint = Blueprint("sparql", __name__)

# YASGUI (yasgui.min.js) applies inline styles (CodeMirror, result table); under style-src 'self' Chromium
# reports CSP violations and the editor breaks, so
# this page alone allows inline styles. Scripts stay 'self' only, and the page's own script is a file.
EDITOR_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)

# The prefixes the description is written with: ours and the W3C formats namespace.
SD_PREFIXES = {**STANDARD_PREFIXES, "formats": FORMATS}
# W3C "Unique URIs for file formats" (http://www.w3.org/ns/formats/), for sd:resultFormat.
FORMAT_IRIS = {
    "json": "SPARQL_Results_JSON",
    "xml": "SPARQL_Results_XML",
    "csv": "SPARQL_Results_CSV",
    "tsv": "SPARQL_Results_TSV",
    "turtle": "Turtle",
    "trig": "TriG",
    "ntriples": "N-Triples",
    "nquads": "N-Quads",
    "jsonld": "JSON-LD",
    "rdfxml": "RDF_XML",
}


@blueprint.route("/sparql", methods=["GET", "POST"])
@blueprint.route("/sparql/", methods=["GET", "POST"])
def endpoint() -> Response:
    """§2.1 query operation: GET, POST form or POST direct; a bare GET describes the service.

    ``/sparql/`` (a trailing slash, as some clients write endpoint URLs) answers queries as ``/sparql``
    does, whatever the client's redirect rules for a POST; its bare GET is sent to ``/sparql``, where
    the editor and the description live. A repeated GET is answered by the replay cache
    (``web.replay``) before it gets here, so whatever reaches the view is new work.
    """
    services = current()
    settings = services.settings
    body = read_body(settings.max_query_bytes) if request.method == "POST" else b""  # 413 past the limit
    operation = sparql.parse_request(
        request.method, request.query_string, request.headers.get("Content-Type"), body, settings.max_query_bytes
    )
    if operation is None:
        if request.path.endswith("/"):
            return Response(status=308, headers={"Location": request.script_root + "/sparql"})
        return _describe_service()
    g.query_hash = operation.query_hash
    client = request.remote_addr or "-"
    with services.admission.expensive(client):
        info = services.checker.check(operation.query, settings.check_timeout_s)
        fmt = sparql.choose_format(info.form, request.headers.get("Accept"), operation.formats)
        result = _execute(_job(operation, info, fmt, client), client)
    return _send(result, fmt, operation)


def _execute(job: QueryJob, client: str) -> QueryAnswer:
    """Run ``job``; a client whose query runs past the fast lane's budget, or is stopped, is demoted for
    a while (``web.admission``), so resending heavy queries does not keep the fast lane busy."""
    services = current()
    try:
        answer = services.store.execute(job)
    except (QueryStopped, QueryMemoryExceeded):
        services.admission.note_heavy(client)
        raise
    if answer.ran_long:  # time spent waiting for a process does not count: that is others' doing
        services.admission.note_heavy(client)
    return answer


def _job(operation: QueryRequest, info: QueryInfo, fmt: ResultFormat, client: str) -> QueryJob:
    services = current()
    return QueryJob(
        query=info.query,
        form=info.form,
        result_format=fmt.name,
        dataset=DatasetSelection(operation.default_graphs, operation.named_graphs),
        query_has_dataset=info.has_dataset_clause,
        timeout_s=services.settings.query_timeout_s,
        max_rows=services.settings.max_result_rows,
        prefixes=tuple((p, str(ns)) for p, ns in STANDARD_PREFIXES.items()),
        demoted=services.admission.demoted(client),
        variable_order=info.variable_order,
        base_iri=request.base_url,
        dataset_clauses=info.dataset_clauses,
    )


def _send(result: QueryAnswer, fmt: ResultFormat, operation: QueryRequest) -> Response:
    """The answer; for GET and HEAD with the validators every cacheable answer has (``web.caching``):
    its ETag comes from its bytes and the endpoint URL relative IRIs resolved against."""
    max_rows = current().settings.max_result_rows
    body, headers = result.body, {"X-Query-Hash": operation.query_hash}
    if result.truncated:  # the answer holds the first max_result_rows solutions (or triples) only
        headers["X-SPARQL-MaxRows"] = str(max_rows)
        about = request.host_url.rstrip("/") + request.script_root + "/sparql#row-limit"
        body = sparql.with_truncation_notice(body, fmt, max_rows, about)
    answer = Response(body, content_type=fmt.media_type + "; charset=utf-8", headers=headers)
    if request.method not in ("GET", "HEAD"):
        answer.vary.add("Accept")
        return answer
    response = caching.rendered(fmt.name, lambda: answer, vary_accept=True, context=request.base_url, dated=False)
    response.headers["X-Query-Hash"] = operation.query_hash  # a 304 too: the log and the replay cache read it
    return response


def _describe_service() -> Response:
    """A bare GET: the editor page for browsers, the SPARQL 1.1 Service Description otherwise."""
    offered = ["text/html", *(f.media_type for f in RDF_FORMATS)]
    chosen = negotiate(request.headers.get("Accept"), offered, default="text/turtle")
    if chosen is None:
        raise sparql.NotAcceptable("the service description is available as: " + ", ".join(offered))
    services = current()
    if chosen == "text/html":
        base = services.settings.base_uri
        examples = [(name, query.replace("{base}", base)) for name, query in EXAMPLES]
        page = render_template("sparql.html", examples=examples, assets=_assets_installed(), settings=services.settings)
        return Response(page, mimetype="text/html", headers={"Content-Security-Policy": EDITOR_CSP, "Vary": "Accept"})
    fmt = next(f for f in RDF_FORMATS if f.media_type == chosen)
    # Oxigraph's writers, fed sorted triples (``rdfio.serialise``): the same bytes from every worker,
    # every advertised format (rdflib writes no N-Quads for a plain graph), and in TriG and N-Quads the
    # triples stay in the default graph, where clients load them.
    prefixes = {prefix: str(namespace) for prefix, namespace in SD_PREFIXES.items()}
    data = rdfio.serialise(service_description(request.base_url, services.store.graphs()), fmt, prefixes)
    return Response(data, content_type=fmt.media_type + "; charset=utf-8", headers={"Vary": "Accept"})


def service_description(endpoint_url: str, graphs: list[URIRef]) -> Graph:
    """SPARQL 1.1 Service Description §3: the endpoint, its language, formats and default dataset.

    Blank nodes have fixed labels (named graphs numbered in IRI order), so that the description of one
    dataset version is the same bytes in every worker.
    """
    sd = Graph()
    for prefix, namespace in SD_PREFIXES.items():
        sd.bind(prefix, namespace)
    service = URIRef(endpoint_url)
    sd.add((service, RDF.type, SD.Service))
    sd.add((service, SD.endpoint, service))
    sd.add((service, SD.supportedLanguage, SD.SPARQL11Query))
    sd.add((service, SD.feature, SD.UnionDefaultGraph))
    sd.add((service, SD.defaultEntailmentRegime, URIRef("http://www.w3.org/ns/entailment/Simple")))
    for fmt in sparql.ALL_FORMATS:
        sd.add((service, SD.resultFormat, FORMATS[FORMAT_IRIS[fmt.name]]))
    dataset, default_graph = BNode("dataset"), BNode("defaultGraph")
    sd.add((service, SD.defaultDataset, dataset))
    sd.add((dataset, RDF.type, SD.Dataset))
    sd.add((dataset, SD.defaultGraph, default_graph))
    sd.add((default_graph, RDF.type, SD.Graph))
    for index, name in enumerate(sorted(graphs), start=1):
        named, graph = BNode(f"namedGraph{index}"), BNode(f"graph{index}")
        sd.add((dataset, SD.namedGraph, named))
        sd.add((named, RDF.type, SD.NamedGraph))
        sd.add((named, SD.name, name))
        sd.add((named, SD.graph, graph))
        sd.add((graph, RDF.type, SD.Graph))
    return sd


# The editor page ---------------------------------------------------------------------------------


def _assets_installed() -> bool:
    return (current().editor_assets / "yasgui.min.js").is_file()


@blueprint.get("/sparql/editor/<path:filename>")
def editor_asset(filename: str) -> Response:
    """YASGUI's build, installed from the npm registry by `make setup`, served from our own origin."""
    if filename not in ("yasgui.min.js", "yasgui.min.css"):
        raise sparql.MalformedRequest(f"no editor asset {filename!r}")
    response = send_from_directory(current().editor_assets, filename, max_age=86400)
    return response


PREFIXES = """PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX qb: <http://purl.org/linked-data/cube#>
PREFIX sdmx-dimension: <http://purl.org/linked-data/sdmx/2009/dimension#>
PREFIX sdmx-measure: <http://purl.org/linked-data/sdmx/2009/measure#>
PREFIX sdmx-attribute: <http://purl.org/linked-data/sdmx/2009/attribute#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX schema: <http://schema.org/>
PREFIX prov: <http://www.w3.org/ns/prov#>
PREFIX oa: <http://www.w3.org/ns/oa#>
"""

EXAMPLES: tuple[tuple[str, str], ...] = (
    (
        "Headline figures",
        PREFIXES
        + """
SELECT ?figure ?value ?unit ?period WHERE {
  ?observation a qb:Observation ;
      rdfs:label ?figure ;
      sdmx-measure:obsValue ?value ;
      sdmx-attribute:unitMeasure ?unit ;
      sdmx-dimension:refPeriod ?period .
}
ORDER BY ?figure""",
    ),
    (
        "Threat areas",
        PREFIXES
        + """
SELECT ?notation ?threat ?definition WHERE {
  ?area skos:inScheme <{base}def/threat-area> ;
      skos:notation ?notation ;
      skos:prefLabel ?threat .
  OPTIONAL { ?area skos:definition ?definition }
}
ORDER BY ?notation""",
    ),
    (
        "Quotations",
        PREFIXES
        + """
SELECT ?quotation ?speaker ?text WHERE {
  ?quotation a schema:Quotation ;
      schema:creator/rdfs:label ?speaker ;
      schema:text ?text .
}""",
    ),
    (
        "Provenance of a figure",
        PREFIXES
        + """
SELECT ?figure ?value ?exact ?start ?end WHERE {
  ?observation rdfs:label ?figure ;
      sdmx-measure:obsValue ?value ;
      prov:wasDerivedFrom/oa:hasSelector ?quote, ?position .
  ?quote a oa:TextQuoteSelector ; oa:exact ?exact .
  ?position a oa:TextPositionSelector ; oa:start ?start ; oa:end ?end .
  FILTER(CONTAINS(LCASE(?figure), "children safeguarded"))
}""",
    ),
    (
        "Named graphs",
        """SELECT ?graph (COUNT(*) AS ?triples) WHERE {
  GRAPH ?graph { ?s ?p ?o }
}
GROUP BY ?graph
ORDER BY DESC(?triples)""",
    ),
)
