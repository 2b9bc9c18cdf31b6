"""The home page and the headers every answer carries."""

from __future__ import annotations

from flask import Blueprint, Response, render_template, request
from rdflib import URIRef

from ceopgraph import pages, paths
from ceopgraph.build import dataset_iri
from ceopgraph.conneg import negotiate

blueprint = Blueprint("site", __name__)

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


@blueprint.get("/", merge_slashes=False)
def home() -> Response:
    """The landing page of the dataset (its ``dcat:landingPage``, the base IRI): HTML for people; RDF
    clients asking for the base IRI get the dataset description, as at ``/.well-known/void``."""
    from ceopgraph.web import caching, current_settings, current_store, resources

    if negotiate(request.headers.get("Accept"), resources.OFFERED, default=resources.HTML) not in (
        resources.HTML,
        "application/xhtml+xml",
    ):
        return resources.void()
    base = current_settings().base_uri

    def render() -> Response:
        linker = paths.Linker(base, request.script_root)
        page = pages.home_page(current_store(), base, linker, URIRef(dataset_iri(base)))
        return Response(render_template("home.html", home=page), mimetype="text/html")

    return caching.conditional("home", render, vary_accept=True, context=request.script_root)


@blueprint.get("/healthz")
def healthz() -> Response:
    """For load balancers: 200 when the store answers a trivial query, 503 otherwise."""
    from ceopgraph.web import current_store

    current_store().ask("ASK { ?s ?p ?o }")
    return Response("ok\n", mimetype="text/plain", headers={"Cache-Control": "no-store"})


def security_headers(response: Response) -> Response:
    """Applied to every answer: no MIME sniffing, no inline script, no framing."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    return response
