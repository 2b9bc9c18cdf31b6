"""``/catalog``: the DCAT catalogue a harvester pages through (data.gov.uk's CKAN with ckanext-dcat, the EU's
portals): the dataset and each of its releases, with their distributions, in DCAT-AP 3's form (``dcatap``),
``catalog_page_size`` to a page, paged as Hydra says (``?page=N``; 400 for anything but a page number, 404
past the last page). Turtle, JSON-LD, RDF/XML or any of our RDF formats by ``Accept``; Turtle by default."""

from __future__ import annotations

import re

from flask import Blueprint, Response, abort, request
from rdflib import Graph, URIRef

from ceopgraph import dcatap, describe, rdfio, tables
from ceopgraph.build import METADATA_GRAPH
from ceopgraph.conneg import RDF_FORMATS, negotiate, rdf_format_for_media_type
from ceopgraph.releases.content import releases_graph
from ceopgraph.releases.service import listed
from ceopgraph.web import resources
from ceopgraph.web.services import current

blueprint = Blueprint("catalogue", __name__)

# A page number as a harvester writes one: digits, no sign, no leading zero, a few of them.
_PAGE = re.compile(r"[1-9][0-9]{0,8}")
NO_STORE = {"Cache-Control": "no-store", "Vary": "Accept"}


@blueprint.get("/catalog")
def catalog() -> Response:
    """One page of the catalogue (the first without ``?page``)."""
    asked = request.args.getlist("page")
    if len(asked) > 1 or (asked and _PAGE.fullmatch(asked[0]) is None):
        abort(400, description="page must be one page number: 1, 2, …")
    page = int(asked[0]) if asked else 1
    offered = [f.media_type for f in RDF_FORMATS]
    turtle = next(f.media_type for f in RDF_FORMATS if f.name == "turtle")
    chosen = negotiate(request.headers.get("Accept"), offered, default=turtle)
    fmt = rdf_format_for_media_type(chosen) if chosen else None
    if fmt is None:
        abort(406, description="no acceptable format; offered: " + ", ".join(offered))
    services = current()
    scheme = services.settings.scheme
    described, items = _described()
    size = services.settings.catalog_page_size
    last = dcatap.page_count(len(items), size)
    if page > last:
        abort(404, description=f"no page {page}: the catalogue has {last}")
    graph = dcatap.catalogue_page(scheme, described, items, page, size)
    graph += resources.dcatap_context(graph, services.store)
    return Response(rdfio.serialise(graph, fmt), mimetype=fmt.media_type, headers=NO_STORE)


def _described() -> tuple[Graph, list[URIRef]]:
    """Everything the catalogue says of its datasets, and the datasets in order: the dataset (the VoID/DCAT
    of the current release, with its tables), then each release (the live releases graph), oldest first."""
    services = current()
    scheme = services.settings.scheme
    timeout = services.settings.query_timeout_s
    described = rdfio.light_graph()
    described += describe.graph_contents(services.store, scheme.graph_iri(METADATA_GRAPH), timeout).graph
    for row in services.store.select(tables.CUBES_QUERY):
        cube, title = row["dataset"], row.get("title")
        if isinstance(cube, URIRef):
            described += tables.distribution(scheme, cube, str(title) if title is not None else None)
    items = [scheme.dataset]
    if services.releases is not None:
        current_n, _ = services.releases.registry.state()
        every = services.releases.registry.releases()
        described += releases_graph(scheme, [listed(r) for r in every], current_n)
        items += [scheme.release(r.n) for r in sorted(every, key=lambda r: r.n)]
    return described, items
