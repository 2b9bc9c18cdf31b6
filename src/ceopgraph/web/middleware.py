"""What every answer gets, in one place: timing, the access log, security headers and CORS.

- **Timing**: ``Server-Timing: app;dur=…`` (W3C Server Timing) on every answer the app renders; the
  replay cache (``web.replay``) measures its own replays afresh.
- **Access log**: one line per request, method, path, status, time and, for queries, the query's hash
  (also sent as ``X-Query-Hash``). The query itself is never logged (it can be long or carry personal
  data); the hash is enough to find a query a user reports. Replays write the same line. A request's
  fields are the client's text (a decoded path holds ``%0a`` as a newline, ``%00`` as a NUL), so every
  character that is not printable, and the ``"`` and ``\\`` that delimit and escape, is written as
  ``\\xNN``/``\\uNNNN``/``\\UNNNNNNNN``: one line per request always, and no line a client can forge.
- **Security headers**: no MIME sniffing, no inline script, no framing; a page that needs another
  policy (the SPARQL editor) sets its own ``Content-Security-Policy`` first.
- **CORS** (Fetch standard): any origin may read any answer, without credentials. Everything served
  here is public and read-only (documents, the JSON-LD context, the dumps, the VoID, SPARQL answers,
  validation reports of what the client itself sent), and no answer depends on cookies or
  authentication, so ``Access-Control-Allow-Origin: *`` exposes nothing a script on another site could
  not fetch through a proxy anyway; it lets browser tools (YASGUI, Comunica, a JSON-LD playground)
  read our answers directly, errors included, so that they can show why they were refused. Preflights
  are answered from the URL map, so a new route is described without a list to keep in step.

The replay cache records the headers added here, so replayed answers carry them too; the SPARQL query
operation (``web.sparql.QueryOperations``), answered before Flask runs, adds the same (``ANSWER_HEADERS``)
and writes the same log line.
"""

from __future__ import annotations

import logging
import time

from flask import Flask, Response, current_app, request

from ceopgraph.web import requeststate

logger = logging.getLogger("ceopgraph.access")

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
# Response headers a script may read besides the CORS-safelisted ones (Content-Type, Last-Modified…).
EXPOSED_HEADERS = (
    "ETag, Link, Location, Content-Location, Retry-After, X-SPARQL-MaxRows, X-Query-Hash, Content-Range, Accept-Ranges"
)
# Range and If-Range: a script resumes a dump's download (a Range that is not one plain range needs a preflight).
ALLOWED_HEADERS = (
    "Accept, Content-Type, If-None-Match, If-Modified-Since, Cache-Control, X-Requested-With, Range, If-Range"
)
# Security headers, each unless the answer set its own (the SPARQL editor has another policy).
SECURITY_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
)
CORS_HEADERS = (("Access-Control-Allow-Origin", "*"), ("Access-Control-Expose-Headers", EXPOSED_HEADERS))
# What an answer that sets none of these itself carries, in the order the hooks below add them.
ANSWER_HEADERS = (*CORS_HEADERS, *SECURITY_HEADERS)
# The order methods are listed in, whatever order the routes declare them.
_METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS")
PREFLIGHT_MAX_AGE_S = 86400


def install(app: Flask) -> None:
    """Register the hooks. The preflight answer comes after the timer starts, and the response hooks
    run in reverse order of registration: CORS first, then the security headers, timing and the log
    line last, so the log sees the answer as sent."""
    app.before_request(_start_timer)
    app.before_request(_preflight)
    app.after_request(_log)
    app.after_request(_server_timing)
    app.after_request(_security_headers)
    app.after_request(_allow_any_origin)


def log_line(remote_addr: str, method: str, path: str, status: int, elapsed_ms: float, query_hash: str) -> None:
    """The one format of an access line, also written by the replay cache and the query operation; every
    text field escaped (``loggable``)."""
    if logger.isEnabledFor(logging.INFO):
        fields = (loggable(remote_addr), loggable(method), loggable(path))
        logger.info('%s "%s %s" %d %.2fms query=%s', *fields, status, elapsed_ms, loggable(query_hash))


def loggable(field: str) -> str:
    """``field`` as a log line may hold it: characters that are not printable (controls, line and paragraph
    separators, format characters), ``"`` and ``\\`` escaped in Python's ``\\x``/``\\u``/``\\U`` form, the
    rest as it is. One pass; a field with nothing to escape is returned by a C-speed check."""
    if field.isprintable() and '"' not in field and "\\" not in field:
        return field
    return "".join(_escaped(c) for c in field)


def _escaped(c: str) -> str:
    if c.isprintable() and c not in '"\\':
        return c
    code = ord(c)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _start_timer() -> None:
    requeststate.current().started = time.perf_counter()


def _elapsed_ms() -> float:
    now = time.perf_counter()
    started = requeststate.current().started
    return (now - (now if started is None else started)) * 1000


def server_timing(elapsed_ms: float) -> tuple[str, str]:
    """The one ``Server-Timing`` header of an answer, also written by the replay cache."""
    return ("Server-Timing", f"app;dur={elapsed_ms:.1f}")


def _server_timing(response: Response) -> Response:
    name, value = server_timing(_elapsed_ms())
    response.headers[name] = value
    return response


def _log(response: Response) -> Response:
    if logger.isEnabledFor(logging.INFO):
        remote = request.remote_addr or "-"
        query_hash = requeststate.current().query_hash or "-"
        log_line(remote, request.method, request.path, response.status_code, _elapsed_ms(), query_hash)
    return response


def _security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS:
        response.headers.setdefault(name, value)
    return response


def _allow_any_origin(response: Response) -> Response:
    """Applied to every answer, errors and 304s included: each may be read by a script elsewhere."""
    for name, value in CORS_HEADERS:
        response.headers[name] = value
    return response


def _preflight() -> Response | None:
    """A preflight (``OPTIONS``) on any route, answered with exactly the methods its path takes, whichever
    rules declare them: GET, HEAD and OPTIONS on documents, POST besides on ``/sparql`` and ``/validate``,
    PUT and DELETE on ``/drafts/{id}``. A path no route matches falls through to its 404 (with the CORS
    headers)."""
    if request.method != "OPTIONS" or request.url_rule is None:
        return None
    adapter = current_app.url_map.bind_to_environ(request.environ)
    offered = set(adapter.allowed_methods())
    rank = {method: i for i, method in enumerate(_METHOD_ORDER)}
    methods = ", ".join(sorted(offered, key=lambda m: (rank.get(m, len(rank)), m)))
    return Response(
        status=204,
        headers={
            "Allow": methods,
            "Access-Control-Allow-Methods": methods,
            "Access-Control-Allow-Headers": ALLOWED_HEADERS,
            "Access-Control-Max-Age": str(PREFLIGHT_MAX_AGE_S),
        },
    )
