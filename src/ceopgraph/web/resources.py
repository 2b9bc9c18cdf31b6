"""Linked data: every IRI of our URI space resolves, for people (HTML) and machines (RDF).

The canonical base URI (``Settings.base_uri``) is served at this server's root, under whatever
``SCRIPT_NAME`` the deployment gives it: ``{base}id/organisation/ceop`` answers at
``/id/organisation/ceop``. Following the UK URI-set pattern and the W3C "Cool URIs for the Semantic
Web" note: ``/id/…`` names a thing and answers 303 See Other to its ``/doc/…`` page; ``/doc/…``,
``/def/…`` and ``/data/…`` are documents and answer 200, in HTML or RDF by ``Accept`` or extension.

Views are thin: the path is validated, the core (``ceopgraph.describe``, ``ceopgraph.web.pages``) builds the
description or the page, ``conneg.negotiate`` picks the format and ``caching`` answers conditional requests.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, abort, render_template, request, send_from_directory
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, PROV, RDF, RDFS, VOID, XSD
from werkzeug.http import parse_range_header
from werkzeug.security import safe_join

from ceopgraph import dcatap, describe, paths, tables
from ceopgraph.build import METADATA_GRAPH, dump_media_type
from ceopgraph.conneg import FORMATS_BY_NAME, RdfFormat, negotiate, rdf_format_for_media_type
from ceopgraph.rdfio import light_graph
from ceopgraph.releases.history import Gone
from ceopgraph.store.protocol import Store
from ceopgraph.urischeme import DUMP_STEM, UriScheme
from ceopgraph.web import caching, requeststate
from ceopgraph.web.admission import AdmittedStore
from ceopgraph.web.compression import chosen_coding
from ceopgraph.web.pages import linking, notfound, resource
from ceopgraph.web.pages.capped import Cut
from ceopgraph.web.pages.home import home_page
from ceopgraph.web.pages.index import SubjectIndex
from ceopgraph.web.services import current

blueprint = Blueprint("resources", __name__)

# A single resource's description is a graph: the triple formats, and JSON-LD.
FORMATS: tuple[RdfFormat, ...] = tuple(FORMATS_BY_NAME[name] for name in ("turtle", "jsonld", "rdfxml", "ntriples"))
HTML = "text/html"
# Served types in preference order at equal quality; the aliases (application/json, text/plain, …)
# come last so that a client naming only an alias still gets RDF.
OFFERED: tuple[str, ...] = (
    HTML,
    *(f.media_type for f in FORMATS),
    "application/xhtml+xml",
    *(alias for f in FORMATS for alias in f.aliases),
)
EXTENSIONS: dict[str, RdfFormat | None] = {paths.HTML_EXTENSION: None, **{f.extension: f for f in FORMATS}}
# A data cube's document is a table too (``ceopgraph.tables``): its CSV and the CSVW metadata beside it, by
# extension (``.csv``, ``.csv-metadata.json``, as CSVW finds metadata) or ``Accept``, on cubes only.
TABLES: dict[str, str] = {
    tables.CSV_EXTENSION: tables.CSV_MEDIA_TYPE,
    tables.CSV_EXTENSION + tables.METADATA_SUFFIX: tables.METADATA_MEDIA_TYPE,
}
CONTEXT_PATH = "contexts/ceopgraph.jsonld"
_ENCODED_SEPARATOR = re.compile(r"%(2f|5c|00)", re.IGNORECASE)


@dataclass(frozen=True)
class View:
    """What the documents are read from and where their links point: the published data at this server's
    root, or a draft's data under its preview (``web.releases``: ``/drafts/{id}/view``)."""

    store: Store
    root: str  # the path prefix of the documents' own links
    subjects: SubjectIndex
    endpoint: str  # the path of the SPARQL endpoint over the same data (where a cut document points)


def _view() -> View:
    found = requeststate.current().view
    if found is not None:
        return found
    services = current()
    return View(services.store, request.script_root, services.subjects, request.script_root + "/sparql")


PREVIEW_SEGMENTS = ("id", "doc", "def", "data")


def preview(view: View, segment: str, rest: str) -> Response:
    """The page ``/{segment}/{rest}`` (or the home page, segment "") of ``view`` (a draft's), answered as
    the published one would be: the same negotiation, pages and 404s, its links under ``view.root``.
    The caller makes the answer private."""
    requeststate.current().view = view
    if segment == "":
        return _home_page()
    if segment == "id":
        return thing(rest)
    return _answer(_resolve("id/" if segment == "doc" else segment + "/", rest))


@dataclass(frozen=True)
class Target:
    """A resolved request: the resource, the path of its document here, and an explicit format."""

    iri: URIRef
    document: str  # local path of the generic document, without extension
    extension: str | None


# Routes ------------------------------------------------------------------------------------------


@blueprint.get("/id/<path:rest>", merge_slashes=False)
def thing(rest: str) -> Response:
    """A real-world thing: 303 See Other to the document about it (built from our route, never echoed)."""
    target = _resolve("id/", rest)
    location = target.document + (f".{target.extension}" if target.extension else "")
    return caching.conditional(
        "see-other", lambda: Response(status=303, headers={"Location": location}), context=_view().root
    )


@blueprint.get("/doc/<path:rest>", merge_slashes=False)
def document(rest: str) -> Response:
    return _answer(_resolve("id/", rest))


@blueprint.get("/def/<path:rest>", merge_slashes=False)
def definition(rest: str) -> Response:
    return _answer(_resolve("def/", rest))


@blueprint.get("/data/<path:rest>", merge_slashes=False)
def data(rest: str) -> Response:
    return _answer(_resolve("data/", rest))


@blueprint.get("/", merge_slashes=False)
def home() -> Response:
    """The landing page of the dataset (its ``dcat:landingPage``, the base IRI): HTML for people; RDF
    clients asking for the base IRI get the dataset description, as at ``/.well-known/void``."""
    if negotiate(request.headers.get("Accept"), OFFERED, default=HTML) not in (HTML, "application/xhtml+xml"):
        return void()
    return _home_page()


def _home_page() -> Response:
    view = _view()
    scheme = current().settings.scheme

    def render() -> Response:
        linker = paths.Linker(scheme, view.root)
        page = home_page(view.store, scheme, linker)
        html = render_template("home.html", home=page, cuts=_cut_links(view, page.cuts))
        return Response(html, mimetype=HTML)

    return caching.conditional("home", render, vary_accept=True, context=view.root)


@blueprint.get("/link")
def link() -> Response:
    """ "Link your data to ours": our URI spaces, the reconciliation service, example queries and the tables'
    joins, all computed from the scheme and the store (``pages.linking``)."""
    view = _view()
    scheme = current().settings.scheme

    def render() -> Response:
        linker = paths.Linker(scheme, view.root)
        page = linking.link_page(view.store, scheme, linker, view.endpoint, scheme.base + "reconcile")
        return Response(render_template("link.html", page=page), mimetype=HTML)

    return caching.conditional("link", render, context=view.root)


@blueprint.get("/.well-known/void")
def void() -> Response:
    """The VoID/DCAT description (RFC 8615 well-known URI registered by VoID, section 7.2)."""
    scheme = current().settings.scheme
    whole = scheme.dataset
    target = Target(whole, request.script_root + (scheme.served_at(whole) or ""), None)
    return _answer(target, graph=_void_graph(scheme, whole))


@blueprint.get("/" + CONTEXT_PATH)
def context() -> Response:
    """The published JSON-LD context: the prefixes every serialisation uses."""
    body = json.dumps(describe.jsonld_context(current().settings.scheme), indent=2, sort_keys=True)
    return caching.conditional("context", lambda: Response(body + "\n", mimetype="application/ld+json"))


@blueprint.get("/dumps/<name>")
def dump(name: str) -> Response:
    """The whole dataset, downloaded from the URLs the VoID names (``{base}dumps/ceopgraph.{ext}``), and each
    cube's CSV and CSVW metadata beside them."""
    media_type = dump_media_type(name)
    folder = current().dumps_folder()
    if media_type is None or not (folder / name).is_file():
        abort(404, description="No such dump. The dumps are listed in the dataset description at /.well-known/void.")
    return dump_answer(folder, name, media_type, f"public, max-age={caching.MAX_AGE_S}")


def dump_answer(folder: Path, name: str, media_type: str, cache_control: str) -> Response:
    """A file of the dumps (``build.dump_files``), as a download with its validators; a CSV with the ``Link``
    by which CSVW finds its metadata beside it (CSVW "Model for Tabular Data" 5.2).

    One byte range is answered (206, or 416 with the length); a ``Range`` of several ranges, or one that does
    not parse, is ignored and the whole file sent (RFC 9110 14.2 lets a server ignore it). Without a range, the
    file goes Brotli- or gzip-compressed when the client accepts it (``web.compression``), with its own ETag."""
    requested = request.environ.get("HTTP_RANGE")
    if requested is not None:
        parsed = parse_range_header(requested)
        if parsed is None or len(parsed.ranges) != 1:
            del request.environ["HTTP_RANGE"]
    coding = None if "HTTP_RANGE" in request.environ else chosen_coding(request.headers.get("Accept-Encoding"))
    path = safe_join(str(folder), name)
    encoded = current().encoded_files.encoded(Path(path), coding) if coding and path else None
    if coding is not None and encoded is not None:
        response = Response(encoded.data, mimetype=media_type)
        response.headers["Content-Encoding"] = coding
        response.set_etag(encoded.etag)
        response.last_modified = datetime.fromtimestamp(Path(str(path)).stat().st_mtime, UTC)
        response.make_conditional(request)
    else:
        response = send_from_directory(folder, name, mimetype=media_type, conditional=True)
    response.vary.add("Accept-Encoding")
    response.headers["Cache-Control"] = cache_control
    if media_type == tables.CSV_MEDIA_TYPE:
        response.headers["Content-Type"] = tables.CSV_CONTENT_TYPE
        response.headers["Link"] = _described_by(name)
    return response


def _described_by(csv_href: str) -> str:
    return f'<{csv_href}{tables.METADATA_SUFFIX}>; rel="describedby"; type="{tables.METADATA_MEDIA_TYPE}"'


# Resolution --------------------------------------------------------------------------------------


def _resolve(space: str, rest: str) -> Target:
    """The resource a path names, or a 404 page. Nothing of the path is used before it is validated."""
    raw = str(request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI") or "").split("?", 1)[0]
    if _ENCODED_SEPARATOR.search(raw) or not paths.valid_rest(rest):
        raise NoSuchResource(None)
    scheme = current().settings.scheme
    iri = scheme.iri_at(space, rest)
    if _exists(iri):
        return Target(iri, f"{_view().root}{scheme.served_at(iri)}", None)
    stem, extension = _split_extension(rest)
    named = scheme.iri_at(space, stem)
    if extension and _exists(named):
        return Target(named, f"{_view().root}{scheme.served_at(named)}", extension)
    gone = _gone(iri)
    if gone is not None:
        raise ResourceGone(gone, None)
    gone = _gone(named) if extension else None
    if gone is not None:
        raise ResourceGone(gone, extension)
    raise NoSuchResource(str(iri))


def _split_extension(rest: str) -> tuple[str, str | None]:
    """A document path and the extension it names: a format's, or a table's (the metadata's ends in ``.json``
    after the CSV's own name, so it is matched whole)."""
    metadata = f".{tables.CSV_EXTENSION}{tables.METADATA_SUFFIX}"
    if rest.endswith(metadata) and len(rest) > len(metadata):
        return rest.removesuffix(metadata), metadata[1:]
    return paths.split_extension(rest, [*EXTENSIONS, tables.CSV_EXTENSION])


def _gone(iri: URIRef) -> Gone | None:
    """Where a published resource no longer in the current release went (the public pages only: a draft's
    preview has no history)."""
    releases = current().releases
    if releases is None or requeststate.current().view is not None:
        return None
    return releases.gone(str(iri), current().served())


def _exists(iri: URIRef) -> bool:
    store = _view().store
    return (
        describe.exists(store, iri)
        or (current().settings.scheme.is_graph(iri) and iri in store.graphs())  # the live releases graph, say
        or (_is_shape(iri) and (iri, None, None) in _shapes())
        or _table_of(iri) is not None
    )


def _table_of(iri: URIRef) -> URIRef | None:
    """The cube whose CSV distribution ``iri`` is, when the store holds that cube: the distributions are
    computed (``_table_distributions``), not stored, and dereference all the same."""
    cube = current().settings.scheme.cube_of_table_distribution(str(iri))
    return cube if cube is not None and _is_cube(cube) else None


def _is_shape(iri: URIRef) -> bool:
    return current().settings.scheme.is_shape(iri)


def _shapes() -> Graph:
    """The shapes graph, loaded once per app from the shapes folder (not part of the store)."""
    return current().shapes


def _page_store(store: Store) -> Store:
    """``store`` as a page reads it: a cut document's statements are chosen in a query process, admitted
    as the client's endpoint queries are (``web.admission``)."""
    return AdmittedStore(store, current().admission, request.remote_addr or "-")


def _description(iri: URIRef, cube: bool) -> describe.Description:
    """What a document says of ``iri``; the dataset's and each cube's name the CSV distributions too, as the
    VoID does (``_table_distributions``)."""
    store = _page_store(_view().store)
    settings = current().settings
    scheme = settings.scheme
    if scheme.is_graph(iri) and iri in store.graphs():
        return describe.graph_description(store, iri, settings.query_timeout_s)
    table_of = _table_of(iri)
    if table_of is not None:
        return describe.Description(_table_distributions(scheme, _view().store, table_of))
    found = describe.describe(store, iri, settings.query_timeout_s)
    if iri == scheme.dataset or cube:
        found += _table_distributions(scheme, _view().store, None if iri == scheme.dataset else iri)
    if iri == scheme.dataset:  # its distributions described, as a harvester reads them (DCAT-AP)
        metadata = describe.graph_contents(store, scheme.graph_iri(METADATA_GRAPH), settings.query_timeout_s)
        distributions = {d for d in found.graph.objects(iri, DCAT.distribution) if isinstance(d, URIRef)}
        for distribution in sorted(distributions):
            found += describe.describe_in_graph(metadata.graph, distribution)
        found += dcatap_context(found.graph, store)
    if _is_shape(iri):
        shapes = _shapes()
        found += shapes if iri == scheme.shapes else describe.describe_in_graph(shapes, iri)
    return found


def _void_graph(scheme: UriScheme, whole: URIRef) -> describe.Description:
    """The metadata graph, plus this server's own SPARQL endpoint when it is not the canonical one."""
    services = current()
    metadata = scheme.graph_iri(METADATA_GRAPH)
    found = describe.graph_contents(_page_store(services.store), metadata, services.settings.query_timeout_s)
    found += _table_distributions(scheme, services.store)
    found += dcatap_context(found.graph, _page_store(services.store))
    live = request.host_url.rstrip("/") + request.script_root + "/sparql"
    if live == str(scheme.sparql):
        return found
    endpoint = light_graph()
    endpoint.add((whole, VOID.sparqlEndpoint, URIRef(live)))
    endpoint.add((URIRef(live), RDFS.comment, Literal("The endpoint of this server", lang="en")))
    return found + endpoint


def _table_distributions(scheme: UriScheme, store: Store, only: URIRef | None = None) -> Graph:
    """Each cube's CSV (or ``only`` that cube's) as a DCAT distribution. Computed here from the cubes the
    store holds, not written into the metadata graph, so the dumps stay as they were."""
    titles: dict[URIRef, str | None] = {}
    for row in store.select(tables.CUBES_QUERY):
        cube, named = row["dataset"], row.get("title")
        if isinstance(cube, URIRef) and only in (None, cube) and titles.get(cube) is None:
            titles[cube] = str(named) if named is not None else None
    found = light_graph()
    for cube, title in sorted(titles.items()):
        found += tables.distribution(scheme, cube, title)
    return found


# A publisher's or creator's name, for DCAT-AP (the one property it makes mandatory for their class).
NAME_QUERY = describe.with_prefixes("SELECT DISTINCT ?who ?name WHERE { ?who foaf:name ?name }")


# A dataset's title and description (its dct:description, else its rdfs:comment), for DCAT-AP's mandatory two.
DATASET_TEXT_QUERY = describe.with_prefixes(
    """SELECT ?dataset ?title ?description WHERE {
  ?dataset dct:title ?title
  OPTIONAL { ?dataset dct:description ?given } OPTIONAL { ?dataset rdfs:comment ?comment }
  BIND(COALESCE(?given, ?comment) AS ?description)
} LIMIT 1"""
)


def dcatap_context(graph: Graph, store: Store) -> Graph:
    """What DCAT-AP asks of a catalogue beside ``graph`` (``dcatap``): the classes of its objects, the
    licence's title, and from the store the publisher's name (it is described in the data) and the
    title and description of a dataset that lacks them here."""
    added = dcatap.typed(graph) + dcatap.licence_description()
    for dataset in sorted(s for s in graph.subjects(RDF.type, DCAT.Dataset) if isinstance(s, URIRef)):
        # A subset described in another graph (the cube's title and comment are in its own): its words here.
        if graph.value(dataset, DCTERMS.title) is None or graph.value(dataset, DCTERMS.description) is None:
            for row in store.select(DATASET_TEXT_QUERY, {"dataset": dataset}):
                for prop, key in ((DCTERMS.title, "title"), (DCTERMS.description, "description")):
                    if graph.value(dataset, prop) is None and row.get(key) is not None:
                        added.add((dataset, prop, row[key]))
    named = set(added.subjects(RDF.type, FOAF.Agent)) | set(graph.subjects(RDF.type, FOAF.Agent))
    for who in sorted(n for n in named if isinstance(n, URIRef) and graph.value(n, FOAF.name) is None):
        for row in store.select(NAME_QUERY, {"who": who}):
            added.add((who, FOAF.name, row["name"]))
    return added


# Answers -----------------------------------------------------------------------------------------


def _answer(target: Target, graph: describe.Description | None = None) -> Response:
    """HTML or RDF for ``target``: by extension when given, else by ``Accept`` (HTML for browsers); a data
    cube's table too (``_table``)."""
    if target.extension in TABLES or (target.extension is None and _wants_table(target, graph)):
        return _table(target)
    if target.extension is not None:
        fmt = EXTENSIONS[target.extension]
        media_type = fmt.media_type if fmt else HTML
    else:
        chosen = negotiate(request.headers.get("Accept"), OFFERED, default=HTML)
        if chosen is None:
            raise DocumentNotAcceptable(", ".join([HTML, *(f.media_type for f in FORMATS)]))
        media_type = HTML if chosen == "application/xhtml+xml" else chosen
        fmt = None if media_type == HTML else rdf_format_for_media_type(media_type)
    cube = graph is None and _is_cube(target.iri)
    render: Callable[[], Response] = lambda: _render(target, fmt, media_type, graph, cube)  # noqa: E731
    # The ETag comes from the bytes, and the prefix the Link and Content-Location headers start with.
    variant = fmt.name if fmt else "html"
    response = caching.rendered(variant, render, vary_accept=target.extension is None, context=_view().root)
    response.headers["Link"] = ", ".join(
        f'<{a.href}>; rel="alternate"; type="{a.media_type}"' for a in _alternates(target, table=cube)
    )
    if target.extension is None and graph is None and response.status_code == 200:
        response.headers["Content-Location"] = f"{target.document}.{fmt.extension if fmt else 'html'}"
    return response


def _wants_table(target: Target, graph: describe.Description | None) -> bool:
    """Whether the client prefers a table type to every other of a cube's document. The store is asked
    whether the resource is a cube only when ``Accept`` names a table type, so other requests cost nothing."""
    accept = request.headers.get("Accept") or ""
    if graph is not None or not any(media_type in accept.lower() for media_type in TABLES.values()):
        return False
    chosen = negotiate(accept, (*OFFERED, *TABLES.values()), default=HTML)
    return chosen in TABLES.values() and _is_cube(target.iri)


def _is_cube(iri: URIRef) -> bool:
    return _view().store.ask(tables.IS_CUBE, {"dataset": iri})


def _table(target: Target) -> Response:
    """A cube's CSV (with the ``Link`` to its CSVW metadata, CSVW "Model for Tabular Data" 5.2) or that
    metadata, by extension or ``Accept``; a 404 for anything but a cube. The public answer is the file of
    the served release's dumps, made once when it was rendered; a draft's preview (or data served without
    its tables) is built here, up to ``tables.MAX_BUILT_ROWS`` rows."""
    if not _is_cube(target.iri):
        raise NoSuchResource(str(target.iri))
    metadata = target.extension == tables.CSV_EXTENSION + tables.METADATA_SUFFIX or (
        target.extension is None
        and negotiate(request.headers.get("Accept"), tuple(TABLES.values())) == tables.METADATA_MEDIA_TYPE
    )
    csv_path = tables.table_href(target.document)
    media_type = tables.METADATA_MEDIA_TYPE if metadata else tables.CSV_MEDIA_TYPE
    name = tables.file_name(target.iri) + (tables.METADATA_SUFFIX if metadata else "")
    folder = _served_dumps(name)
    if folder is not None:
        response = dump_answer(folder, name, media_type, f"public, max-age={caching.MAX_AGE_S}")
        if target.extension is None:
            response.vary.add("Accept")
        if not metadata:
            response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    else:
        response = _built_table(target, metadata)
    if not metadata:
        response.headers["Link"] = _described_by(csv_path)
    if target.extension is None and response.status_code == 200:
        response.headers["Content-Location"] = csv_path + (tables.METADATA_SUFFIX if metadata else "")
    return response


def _served_dumps(name: str) -> Path | None:
    """The folder of the served dumps when it holds ``name`` and the request reads what is served (not a
    draft's preview)."""
    if requeststate.current().view is not None:
        return None
    folder = current().dumps_folder()
    return folder if (folder / name).is_file() else None


def _built_table(target: Target, metadata: bool) -> Response:
    store = _page_store(_view().store)

    def render() -> Response:
        tables.check_rows(store.select(tables.OBSERVATION_COUNT, {"dataset": target.iri}), target.iri)
        graph = store.construct(tables.TABLE_QUERY, {"dataset": target.iri})
        table = tables.cube_table(graph, target.iri)
        if metadata:
            return Response(table.metadata_json(), mimetype=tables.METADATA_MEDIA_TYPE)
        disposition = f'attachment; filename="{table.file_name}"'
        return Response(
            table.csv(),
            content_type=tables.CSV_CONTENT_TYPE,
            headers={"Content-Disposition": disposition},
        )

    variant = "csv-metadata" if metadata else "csv"
    return caching.rendered(variant, render, vary_accept=target.extension is None, context=_view().root)


def _render(
    target: Target, fmt: RdfFormat | None, media_type: str, graph: describe.Description | None, cube: bool
) -> Response:
    found = graph if graph is not None else _description(target.iri, cube)
    description = _stable(found.graph)
    scheme = current().settings.scheme
    view = _view()
    # A cut document says so to machines as the endpoint says it of a cut answer (``X-SPARQL-MaxRows``,
    # here counting statements), and to people on the page, with a link to the query of the rest.
    headers = {} if found.rest is None else {"X-SPARQL-MaxRows": str(describe.MAX_STATEMENTS)}
    if fmt is not None:
        body = describe.serialise(_about(description, target.iri, scheme), fmt, scheme)
        body = _stable_json(body) if fmt.name == "jsonld" else body
        return Response(body, mimetype=media_type, headers=headers)
    linker = paths.Linker(scheme, view.root)
    page = resource.resource_page(view.store, scheme, linker, target.iri, description, _alternates(target), _shapes())
    rest = None if found.rest is None else _query_link(view, found.rest)
    cut = describe.MAX_STATEMENTS if rest else None
    releases = current().releases
    public = releases is not None and requeststate.current().view is None
    notices = releases.notices(str(target.iri), current().served()) if releases is not None and public else ()
    table = tables.table_href(target.document) if cube else None
    html = render_template(
        "resource.html",
        page=page,
        cut=cut,
        rest=rest,
        cuts=_cut_links(view, page.cuts),
        notices=notices,
        table=table,
    )
    return Response(html, mimetype=HTML, headers=headers)


def _query_link(view: View, query: str) -> str:
    """Where ``query`` is answered: the SPARQL endpoint over the page's data (a draft's, in a preview)."""
    return f"{view.endpoint}?{urlencode({'query': query})}"


def _cut_links(view: View, cuts: Sequence[Cut]) -> list[tuple[Cut, str]]:
    """The parts a page left out (``pages.capped``), each with the link to its query."""
    return [(cut, _query_link(view, cut.query)) for cut in cuts]


def _about(description: Graph, iri: URIRef, scheme: UriScheme) -> Graph:
    """A thing's document is a resource of its own (``/doc/x`` for ``/id/x``): it says which thing it
    is about, so a client holding only the document can find the thing (foaf:primaryTopic)."""
    document = scheme.document_of(iri)
    if document is None or document == str(iri):
        return description
    about = light_graph()
    about += description
    about.add((URIRef(document), FOAF.primaryTopic, iri))
    return about


def _stable(graph: Graph) -> Graph:
    """The same triples in the same order in every process.

    A document's ETag comes from its bytes, so every worker must render the same bytes for the same
    document, or caches would hold as many copies as there are workers. Blank node labels are already the
    same everywhere: the store keeps the stable labels the dumps and drafts were written with (computed in
    a worker, ``ceopgraph.bnodes``), and the shapes get theirs when loaded; labelling here would be work
    that grows faster than the document, in the request thread. The triples are inserted sorted, because
    rdflib's JSON-LD writer and the HTML page follow insertion order (in ``rdfio.light_graph``, each term's
    first insertion: sorted too).
    """
    stable = light_graph()
    for triple in sorted(graph, key=lambda t: tuple(term.n3() for term in t)):
        stable.add(triple)
    return stable


def _stable_json(body: bytes) -> bytes:
    """rdflib's JSON-LD writer orders nodes and values by Python set iteration, which differs between
    processes: the same document with its arrays in one order (JSON-LD arrays are unordered, but for
    ``@list`` and the ``@context``) and its keys sorted."""

    def ordered(value: Any, key: str = "") -> Any:
        if isinstance(value, dict):
            return {k: v if k == "@context" else ordered(v, k) for k, v in value.items()}
        if isinstance(value, list):
            items = [ordered(item) for item in value]
            return items if key == "@list" else sorted(items, key=lambda item: json.dumps(item, sort_keys=True))
        return value

    document = ordered(json.loads(body))
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False).encode("utf-8")


def _alternates(target: Target, table: bool = False) -> list[resource.Alternate]:
    """The document's other representations; with ``table`` (a cube's, for the ``Link`` header) its CSV and
    CSVW metadata too (the page offers those by its download button)."""
    found = [resource.Alternate("HTML", HTML, f"{target.document}.html")]
    names = {"turtle": "Turtle", "jsonld": "JSON-LD", "rdfxml": "RDF/XML", "ntriples": "N-Triples"}
    found += [resource.Alternate(names[f.name], f.media_type, f"{target.document}.{f.extension}") for f in FORMATS]
    if table:
        csv_href = tables.table_href(target.document)
        found.append(resource.Alternate("CSV", tables.CSV_MEDIA_TYPE, csv_href))
        found.append(resource.Alternate("CSVW", tables.METADATA_MEDIA_TYPE, csv_href + tables.METADATA_SUFFIX))
    return found


class DocumentNotAcceptable(Exception):
    """The client accepts none of a document's formats; the message lists those offered."""

    def __init__(self, offered: str) -> None:
        super().__init__(f"this resource is available as {offered}")


class NoSuchResource(Exception):
    """No resource has this IRI (``iri``), or the path cannot be one of ours (None)."""

    def __init__(self, iri: str | None) -> None:
        super().__init__(iri)
        self.iri = iri


class ResourceGone(Exception):
    """A resource of a published release that the current release no longer holds (``gone``); the
    extension the request named, if any."""

    def __init__(self, gone: Gone, extension: str | None) -> None:
        super().__init__(f"{gone.iri} is no longer published: it last appeared in release {gone.last.n}")
        self.gone = gone
        self.extension = extension


def gone_answer(status: int, title: str, exc: ResourceGone) -> Response:
    """A page, or RDF, saying where the resource last was and what took it away, by extension or
    ``Accept`` as its document was served. ``web.errors`` gives the status and title."""
    if exc.extension is not None:
        fmt = EXTENSIONS.get(exc.extension)
    else:
        chosen = negotiate(request.headers.get("Accept"), OFFERED, default=HTML)
        fmt = None if chosen in (None, HTML, "application/xhtml+xml") else rdf_format_for_media_type(chosen or HTML)
    gone = exc.gone
    root = request.script_root
    if fmt is not None:
        body = describe.serialise(_gone_graph(gone), fmt, current().settings.scheme)
        response = Response(body, status, mimetype=fmt.media_type)
    else:
        html = render_template(
            "gone.html",
            gone=gone,
            message=str(exc),
            dump=f"{root}/releases/{gone.last.n}/dumps/{DUMP_STEM}.trig",
            root=root,
        )
        response = Response(html, status, mimetype=HTML)
    response.vary.add("Accept")
    return response


def _gone_graph(gone: Gone) -> Graph:
    """What a machine is told of a resource that is gone: the last release that held it (``void:inDataset``)
    and its dump, when it stopped being published (``prov:invalidatedAtTime``), by which publication, why."""
    scheme = current().settings.scheme
    iri = URIRef(gone.iri)
    last = scheme.release(gone.last.n)
    graph = light_graph()
    graph.add((iri, VOID.inDataset, last))
    graph.add((last, VOID.dataDump, scheme.release_dump(gone.last.n, f"{DUMP_STEM}.trig")))
    graph.add((iri, PROV.invalidatedAtTime, Literal(gone.when, datatype=XSD.dateTime, normalize=False)))
    if gone.removed_by is not None:
        graph.add((iri, PROV.wasInvalidatedBy, scheme.publication(gone.removed_by.n)))
        said = f"Removed by release {gone.removed_by.n}, published {gone.when}"
    else:
        said = f"Release {gone.last.n}, the last that held it, was withdrawn on {gone.when}"
    graph.add((iri, RDFS.comment, Literal(said + (f": {gone.why}" if gone.why else ""), lang="en")))
    if gone.successor is not None:
        graph.add((last, DCTERMS.isReplacedBy, scheme.release(gone.successor)))
    return graph


def not_found_answer(status: int, title: str, exc: NoSuchResource) -> Response:
    """For people, a page with where to look instead; for machines, one line. Never the path echoed.
    ``web.errors`` gives the status and title."""
    if negotiate(request.headers.get("Accept"), ["text/plain", HTML]) != HTML:
        response = Response(f"{title}: no resource in this dataset has that IRI.\n", status, mimetype="text/plain")
    else:
        scheme = current().settings.scheme
        view = _view()
        linker = paths.Linker(scheme, view.root)
        nearby = notfound.nearby(view.store, linker, exc.iri, scheme, index=view.subjects) if exc.iri else ()
        body = render_template("not_found.html", nearby=nearby, sparql=request.script_root + "/sparql")
        response = Response(body, status, mimetype=HTML)
    response.vary.add("Accept")
    return response
