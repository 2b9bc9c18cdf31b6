"""The home page and the headers every answer carries."""

from __future__ import annotations

from flask import Blueprint, Response, render_template

blueprint = Blueprint("site", __name__)

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


@blueprint.get("/")
def home() -> str:
    return render_template("home.html")


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
