"""CORS (Fetch standard) for the whole app: any origin may read any answer, without credentials.

Everything served here is public and read-only (documents, the JSON-LD context, the dumps, the
VoID, SPARQL answers, validation reports of what the client itself sent), and no answer depends on
cookies or authentication, so ``Access-Control-Allow-Origin: *`` exposes nothing a script on another
site could not fetch through a proxy anyway; it lets browser tools (YASGUI, Comunica, a JSON-LD
playground) read our answers directly. One hook for every answer, errors included, so that a
browser tool can read why it was refused; the replay cache (``web.replay``) records the headers
this hook added, so replayed answers carry them too.
"""

from __future__ import annotations

from flask import Flask, Response, current_app, request

# Response headers a script may read besides the CORS-safelisted ones (Content-Type, Last-Modified…).
EXPOSED_HEADERS = "ETag, Link, Location, Content-Location, Retry-After, X-SPARQL-MaxRows, X-Query-Hash"
ALLOWED_HEADERS = "Accept, Content-Type, If-None-Match, If-Modified-Since, Cache-Control, X-Requested-With"
# The order methods are listed in, whatever order the routes declare them.
_METHOD_ORDER = ("GET", "HEAD", "POST", "OPTIONS")
MAX_AGE_S = 86400


def allow_any_origin(response: Response) -> Response:
    """Applied to every answer, errors and 304s included: each may be read by a script elsewhere."""
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
    return response


def preflight() -> Response | None:
    """Answer a preflight (an ``OPTIONS`` request) on any route with the methods that route takes.

    The methods come from the URL map, so a new route is described without a list to keep in step:
    GET, HEAD and OPTIONS on documents, POST besides on ``/sparql`` and ``/validate``. A path no
    route matches falls through to its 404 (with the CORS headers, from ``allow_any_origin``).
    """
    if request.method != "OPTIONS" or request.url_rule is None:
        return None
    adapter = current_app.url_map.bind_to_environ(request.environ)
    offered = set(adapter.allowed_methods())
    methods = ", ".join(m for m in _METHOD_ORDER if m in offered)
    return Response(
        status=204,
        headers={
            "Allow": methods,
            "Access-Control-Allow-Methods": methods,
            "Access-Control-Allow-Headers": ALLOWED_HEADERS,
            "Access-Control-Max-Age": str(MAX_AGE_S),
        },
    )


def install(app: Flask) -> None:
    """Register last: the preflight answer then comes after the other request hooks (the access
    log's timer), and the CORS headers are added before any other response hook sees the answer."""
    app.before_request(preflight)
    app.after_request(allow_any_origin)
