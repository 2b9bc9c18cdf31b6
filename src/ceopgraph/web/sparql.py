"""``/sparql``: the SPARQL 1.1 Protocol query operation, the service description and the query editor.

The query operation is the endpoint's hot path, so it is answered before Flask runs, by
``QueryOperations`` (WSGI, in the app's layers: ``web.app``): ``ceopgraph.sparql`` decodes the request,
the query checker (``ceopgraph.queryvet``) vets it, the store runs it (with its time limit and row cap),
and the answer gets every header the app's hooks give others (``web.middleware``: CORS, security,
``Server-Timing``, the access log) and the one ETag scheme (``web.caching``). Flask's request
machinery (contexts, routing, response objects, hooks) costs more than all of that for a cheap query.
Whatever else comes to ``/sparql`` goes to Flask: a bare GET (the editor, the service description), a
browser following a link to a query (``browser_navigation``: the editor, which shows the query and runs
it), and every failure, which the view raises again so that ``web.errors`` answers it, the one place errors are
rendered. Repeated GET answers are replayed by ``web.replay`` before either. Section numbers refer to
SPARQL 1.1 Protocol; the service description follows SPARQL 1.1 Service Description.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from functools import lru_cache
from typing import TYPE_CHECKING

from flask import Blueprint, Response, render_template, request, send_from_directory
from rdflib import BNode, Graph, URIRef
from rdflib.namespace import RDF
from werkzeug.wrappers import Request

from ceopgraph import rdfio, sparql
from ceopgraph.conneg import RDF_FORMATS, negotiate
from ceopgraph.namespaces import FORMATS, SD, STANDARD_PREFIXES
from ceopgraph.querydataset import DatasetSelection
from ceopgraph.sparql import QueryRequest, ResultFormat
from ceopgraph.sparqltext import QueryInfo
from ceopgraph.store.jobs import QueryAnswer, QueryJob
from ceopgraph.store.protocol import Store
from ceopgraph.web import caching, middleware, requeststate
from ceopgraph.web.replay import SPARQL_PATHS
from ceopgraph.web.services import Services, current

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

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

_QUERY_METHODS = ("GET", "HEAD", "POST")
_STATUS_TEXT = {200: "200 OK", 304: "304 Not Modified"}


def browser_navigation(method: str, accept: str | None, operation: QueryRequest) -> bool:
    """Whether a GET of a query is a browser following a link (an example opened in a new tab, a shared
    URL): its parsed ``Accept`` prefers HTML to every result format. A browser's header ranks
    ``application/xml`` (q=0.9) above ``*/*``, so negotiating results alone answered it with SPARQL XML,
    a download. Programmatic clients name a result format, or send ``*/*`` or nothing, and get results as
    the protocol says; ``format=`` names a format outright and is always obeyed. The answer depends on
    ``Accept`` alone, so ``Vary: Accept`` stays true of it (and of the answers ``web.replay`` keys by it)."""
    if method not in ("GET", "HEAD") or operation.formats:
        return False
    return negotiate(accept, _NAVIGATION_OFFERS, default=_NAVIGATION_OFFERS[1]) == "text/html"


# HTML, then every result format the endpoint writes, each under its media type and its aliases.
_NAVIGATION_OFFERS = (
    "text/html",
    *dict.fromkeys(t for f in sparql.ALL_FORMATS for t in (f.media_type, *f.aliases)),
)


class QueryAnswerer:
    """The query operation (§2.1: GET, POST form or POST direct, and HEAD) over a store: the published
    data's (``QueryOperations``), or a draft's (``web.releases``, for its authorised readers)."""

    # Whether a browser's navigation to a query gets the editor page (``browser_navigation``).
    editor_for_browsers = False

    def __init__(self, services: Services) -> None:
        self._services = services
        self._prefixes = tuple((p, str(ns)) for p, ns in STANDARD_PREFIXES.items())

    def answer(
        self, environ: WSGIEnvironment, method: str, store: Store
    ) -> tuple[int, list[tuple[str, str]], bytes] | None:
        """The status, headers and body of the query the request holds, or None when it holds none."""
        services = self._services
        settings = services.settings
        body = services.bodies.read(environ, settings.max_query_bytes) if method == "POST" else b""
        operation = sparql.parse_request(
            method,
            environ.get("QUERY_STRING", "").encode("latin-1"),
            environ.get("CONTENT_TYPE"),
            body,
            settings.max_query_bytes,
        )
        if operation is None:
            return None
        state = requeststate.state_of(environ)
        state.query_hash = operation.query_hash
        if self.editor_for_browsers and browser_navigation(method, environ.get("HTTP_ACCEPT"), operation):
            state.editor_query = operation  # the editor page, which runs the query itself (``endpoint``)
            return None
        client = environ.get("REMOTE_ADDR") or "-"
        base_url, row_limit_url = _endpoint_urls(*(environ.get(name, "") for name in _URL_PARTS))
        with services.admission.expensive(client):
            info = services.checker.check(operation.query, settings.check_timeout_s)
            fmt = sparql.choose_format(info.form, environ.get("HTTP_ACCEPT"), operation.formats)
            result = services.admission.run(store, self._job(operation, info, fmt, base_url), client)
        return self._send(environ, method, result, fmt, operation, (base_url, row_limit_url), store.version)

    def _job(self, operation: QueryRequest, info: QueryInfo, fmt: ResultFormat, base_url: str) -> QueryJob:
        settings = self._services.settings
        return QueryJob(
            query=info.query,
            form=info.form,
            result_format=fmt.name,
            dataset=DatasetSelection(operation.default_graphs, operation.named_graphs),
            query_has_dataset=info.has_dataset_clause,
            timeout_s=settings.query_timeout_s,
            max_rows=settings.max_result_rows,
            prefixes=self._prefixes,
            variable_order=info.variable_order,
            base_iri=base_url,
            dataset_clauses=info.dataset_clauses,
        )

    def _send(
        self,
        environ: WSGIEnvironment,
        method: str,
        result: QueryAnswer,
        fmt: ResultFormat,
        operation: QueryRequest,
        urls: tuple[str, str],
        version: str,
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        """The answer; for GET and HEAD with the validators every cacheable answer has (``web.caching``):
        its ETag comes from its bytes and the endpoint URL relative IRIs resolved against, undated, so
        that every worker sends the same headers."""
        max_rows = self._services.settings.max_result_rows
        base_url, row_limit_url = urls
        body = result.body
        headers = [("X-Query-Hash", operation.query_hash)]
        if result.truncated:  # the answer holds the first max_result_rows solutions (or triples) only
            headers.append(("X-SPARQL-MaxRows", str(max_rows)))
            body = sparql.with_truncation_notice(body, fmt, max_rows, row_limit_url)
        content = [("Content-Type", fmt.media_type + "; charset=utf-8"), ("Content-Length", str(len(body)))]
        if method == "POST":
            return 200, [*headers, *content, ("Vary", "Accept")], body
        etag = caching.answer_etag(version, fmt.name, body, base_url)
        validators = [("ETag", f'"{etag}"'), ("Cache-Control", caching.CACHE_CONTROL), ("Vary", "Accept")]
        if_none_match = environ.get("HTTP_IF_NONE_MATCH")
        if if_none_match is not None and caching.matches(if_none_match, etag):
            return 304, [*validators, ("X-Query-Hash", operation.query_hash)], b""
        return 200, [*headers, *content, *validators], body


class QueryOperations(QueryAnswerer):
    """The published data's query operation, in front of the Flask app: the hot path."""

    editor_for_browsers = True

    def __init__(self, services: Services, flask_app: WSGIApplication) -> None:
        super().__init__(services)
        self._next = flask_app

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "")
        if method not in _QUERY_METHODS or environ.get("PATH_INFO") not in SPARQL_PATHS:
            return self._next(environ, start_response)
        started = time.perf_counter()
        try:
            answer = self.answer(environ, method, self._services.store)
        except Exception as exc:  # every failure is answered by the app (web.errors), in one place
            requeststate.state_of(environ).query_failure = exc  # for the view (``endpoint``)
            return self._next(environ, start_response)
        if answer is None:  # no query: the editor or the service description
            return self._next(environ, start_response)
        status, headers, body = answer
        elapsed_ms = (time.perf_counter() - started) * 1000
        timing = middleware.server_timing(elapsed_ms)
        start_response(_STATUS_TEXT[status], [*headers, *middleware.ANSWER_HEADERS, timing])
        remote = environ.get("REMOTE_ADDR") or "-"
        query_hash = requeststate.state_of(environ).query_hash or "-"
        middleware.log_line(remote, method, environ["PATH_INFO"], status, elapsed_ms, query_hash)
        return [b"" if method == "HEAD" else body]


# What of the request the endpoint's URL is made of (after ``web.proxies`` applied a trusted proxy's).
_URL_PARTS = ("wsgi.url_scheme", "HTTP_HOST", "SERVER_NAME", "SERVER_PORT", "SCRIPT_NAME", "PATH_INFO")


@lru_cache(maxsize=256)
def _endpoint_urls(*parts: str) -> tuple[str, str]:
    """The endpoint's URL as Flask gives it (``request.base_url``: relative IRIs in queries resolve
    against it, and it is part of the ETag), and the URL of the row limit's explanation on its page;
    from werkzeug's own request object, once for each of the few URLs the endpoint has."""
    environ = {name: value for name, value in zip(_URL_PARTS, parts, strict=True) if value or name != "HTTP_HOST"}
    url = Request(environ)
    return url.base_url, url.host_url.rstrip("/") + url.script_root + "/sparql#row-limit"


@blueprint.route("/sparql", methods=["GET", "POST"])
@blueprint.route("/sparql/", methods=["GET", "POST"])
def endpoint() -> Response:
    """What ``QueryOperations`` leaves to Flask: a failure to answer (raised again, for ``web.errors``),
    a browser's navigation to a query (the editor with that query), or a request without a query,
    which is a bare GET (§2.1): the editor for browsers, the service description otherwise. ``/sparql/``
    (a trailing slash, as some clients write endpoint URLs) answers queries as ``/sparql`` does, whatever
    the client's redirect rules for a POST; its bare GET is sent to ``/sparql``, where the editor and the
    description live."""
    failure = requeststate.current().query_failure
    if failure is not None:
        raise failure
    navigation = requeststate.current().editor_query
    if navigation is not None:
        return _editor(navigation)
    if request.path.endswith("/"):
        return Response(status=308, headers={"Location": request.script_root + "/sparql"})
    return _describe_service()


def _describe_service() -> Response:
    """A bare GET: the editor page for browsers, the SPARQL 1.1 Service Description otherwise."""
    offered = ["text/html", *(f.media_type for f in RDF_FORMATS)]
    chosen = negotiate(request.headers.get("Accept"), offered, default="text/turtle")
    if chosen is None:
        raise sparql.NotAcceptable("the service description is available as: " + ", ".join(offered))
    services = current()
    if chosen == "text/html":
        return caching.rendered(
            "editor", lambda: _editor(None), vary_accept=True, context=request.script_root, dated=False
        )
    fmt = next(f for f in RDF_FORMATS if f.media_type == chosen)

    def render() -> Response:
        # Oxigraph's writers, fed sorted triples (``rdfio.serialise``): the same bytes from every worker,
        # every advertised format (rdflib writes no N-Quads for a plain graph), and in TriG and N-Quads the
        # triples stay in the default graph, where clients load them.
        prefixes = {prefix: str(namespace) for prefix, namespace in SD_PREFIXES.items()}
        data = rdfio.serialise(service_description(request.base_url, services.store.graphs()), fmt, prefixes)
        return Response(data, content_type=fmt.media_type + "; charset=utf-8")

    # Validators as every cacheable answer has them: clients (Comunica) read the description before every query.
    # No Last-Modified (each worker's first sight of the version): every worker sends the same headers, as for
    # the endpoint's answers.
    variant = f"service-description-{fmt.name}"
    return caching.rendered(variant, render, vary_accept=True, context=request.base_url, dated=False)


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


def _editor(navigation: QueryRequest | None) -> Response:
    """The editor page: with the first example in the editor, or with the query a browser navigated to
    (and its dataset parameters), which the page's script runs at once; without the script, the plain
    form holds the query."""
    settings = current().settings
    examples = [(name, query.replace("{base}", settings.base_uri)) for name, query in EXAMPLES]
    page = render_template(
        "sparql.html", examples=examples, assets=_assets_installed(), settings=settings, navigation=navigation
    )
    return Response(page, mimetype="text/html", headers={"Content-Security-Policy": EDITOR_CSP, "Vary": "Accept"})


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
