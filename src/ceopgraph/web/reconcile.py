"""The reconciliation service (Reconciliation Service API 0.2) at ``/reconcile``: thin over
``ceopgraph.reconcile``, which matches, scores and shapes the answers.

OpenRefine asks for the manifest (``GET /reconcile``), sends batches of queries (``queries=`` in a POST
form or a GET query string), extension requests (``extend=``), and fetches the suggest, preview and
property-proposal services the manifest names. The index behind them is made once per dataset version
(``Services.reconcile``). Malformed input is a ``ReconcileInputError`` (400, the table in ``web.errors``);
an id not ours at the preview, ``NotOurEntity`` (404). CORS comes from ``web.middleware`` like every
answer, preflights for the POST included.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, render_template, request

from ceopgraph import reconcile
from ceopgraph.reconcile import Index, ReconcileInputError
from ceopgraph.web.services import current

blueprint = Blueprint("reconcile", __name__)

# A form's fields around the JSON text: the field name, ``=``, its percent-encoding's growth (up to 3×).
_FORM_LIMIT = 3 * reconcile.MAX_BATCH_BYTES + 1024
# The preview is shown in another site's frame (OpenRefine's): this page alone may be framed by any.
PREVIEW_POLICY = "default-src 'none'; style-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors *"


def _index() -> Index:
    services = current()
    return services.reconcile.get(services.store.version)


def _json(value: Any) -> Response:
    body = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return Response(body, mimetype="application/json", headers={"Cache-Control": "no-cache"})


def _field(name: str) -> str | None:
    """A field of the request: from the POST form (its body read within limits first) or the query string."""
    if request.method == "POST":
        request.max_content_length = _FORM_LIMIT
        request.max_form_memory_size = _FORM_LIMIT
        current().bodies.read(request.environ, _FORM_LIMIT)
        if name in request.form:
            return request.form[name]
    return request.args.get(name)


@blueprint.route("/reconcile", methods=["GET", "POST"])
def service() -> Response:
    """A batch of queries, a data extension request, or (with neither) the manifest."""
    index = _index()
    queries, extension = _field("queries"), _field("extend")
    if queries is not None and extension is not None:
        raise ReconcileInputError("send queries or extend, not both")
    if queries is not None:
        return _json(reconcile.answer_queries(index, reconcile.parse_queries(queries)))
    if extension is not None:
        return _json(reconcile.extend(index, reconcile.parse_extension(extension, index)))
    scheme = current().settings.scheme
    return _json(reconcile.manifest(index, scheme, str(scheme.reconcile)))


@blueprint.get("/reconcile/preview")
def preview() -> Response:
    """A small card for OpenRefine's frame: name, types, one line, a link to the entity's page."""
    iri = request.args.get("id")
    if not iri:
        raise ReconcileInputError("id: missing (the entity to preview)")
    entity = _index().entities.get(iri)
    if entity is None:
        raise reconcile.NotOurEntity(iri)
    body = render_template("reconcile_preview.html", entity=entity)
    return Response(body, mimetype="text/html", headers={"Content-Security-Policy": PREVIEW_POLICY})


@blueprint.get("/reconcile/suggest/entity")
def suggest_entity() -> Response:
    prefix = reconcile.check_prefix(request.args.get("prefix"))
    return _json(reconcile.suggest_entities(_index(), prefix, reconcile.check_cursor(request.args.get("cursor"))))


@blueprint.get("/reconcile/suggest/type")
def suggest_type() -> Response:
    prefix = reconcile.check_prefix(request.args.get("prefix"))
    cursor = reconcile.check_cursor(request.args.get("cursor"))
    return _json(reconcile.suggest_named(_index().kinds, prefix, cursor))


@blueprint.get("/reconcile/suggest/property")
def suggest_property() -> Response:
    prefix = reconcile.check_prefix(request.args.get("prefix"))
    cursor = reconcile.check_cursor(request.args.get("cursor"))
    return _json(reconcile.suggest_named(_index().properties, prefix, cursor))


@blueprint.get("/reconcile/properties")
def propose_properties() -> Response:
    """The properties to fetch for a type (data extension's property proposal)."""
    kind = request.args.get("type")
    if not kind:
        raise ReconcileInputError("type: missing (the type whose properties to propose)")
    limit_text = request.args.get("limit", "")
    if limit_text and (not limit_text.isdecimal() or len(limit_text) > 9):
        raise ReconcileInputError("limit: must be a non-negative integer")
    limit = int(limit_text) if limit_text else reconcile.MAX_LIMIT
    return _json(reconcile.propose_properties(_index(), kind, min(limit, reconcile.MAX_LIMIT)))
