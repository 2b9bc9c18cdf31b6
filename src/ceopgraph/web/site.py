"""What is not the data: the health check load balancers poll."""

from __future__ import annotations

from flask import Blueprint, Response

from ceopgraph.web.services import current

blueprint = Blueprint("site", __name__)


@blueprint.get("/healthz")
def healthz() -> Response:
    """For load balancers: 200 when the store answers a trivial query, 503 otherwise."""
    current().store.ask("ASK { ?s ?p ?o }")
    return Response("ok\n", mimetype="text/plain", headers={"Cache-Control": "no-store"})
