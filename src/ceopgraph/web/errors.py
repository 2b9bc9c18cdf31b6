"""Errors are values with a status: domain exceptions map to HTTP statuses here, in one place.

Every error answer is short and says what is wrong; browsers get a page, everything else plain text.
No handler catches ``Exception`` wholesale: a real bug must surface as a 500 in the logs and tests.
"""

from __future__ import annotations

from flask import Flask, Response, render_template, request
from werkzeug.exceptions import HTTPException

from ceopgraph.conneg import negotiate
from ceopgraph.queryvet import CheckerUnavailable
from ceopgraph.rdfio import UnreadableRdf
from ceopgraph.sparql import ProtocolError
from ceopgraph.store.jobs import (
    QueryEvaluationError,
    QuerySyntaxError,
    QueryTimeout,
    StoreBadGateway,
    StoreError,
    StoreUnavailable,
)
from ceopgraph.validation.service import (
    ReportNotAcceptable,
    SubmissionRefused,
    SubmissionTooLarge,
    UnsupportedSubmissionType,
    ValidationMemoryExceeded,
    ValidationTimeout,
    ValidatorUnavailable,
)
from ceopgraph.web.admission import ServerBusy
from ceopgraph.web.body import BodyRefused

TITLES = {
    400: "Bad request",
    408: "Request timeout",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    413: "Too large",
    403: "Forbidden",
    415: "Unsupported media type",
    429: "Too many requests",
    502: "Bad gateway",
    503: "Unavailable",
}

# First match wins: subclasses before their bases.
STATUS_OF: dict[type[StoreError], int] = {
    StoreBadGateway: 502,
    QuerySyntaxError: 400,
    QueryEvaluationError: 400,
    QueryTimeout: 503,
    StoreUnavailable: 503,
}

# A refused submission's status (first match wins, so subclasses first); any other refusal is a 400.
SUBMISSION_STATUS_OF: dict[type[SubmissionRefused], int] = {
    SubmissionTooLarge: 413,
    UnsupportedSubmissionType: 415,
    ReportNotAcceptable: 406,
}


def error_response(status: int, message: str, title: str | None = None) -> Response:
    """An error answer in HTML for browsers, plain text otherwise."""
    heading = title or {400: "Bad request", 404: "Not found", 413: "Too large", 503: "Unavailable"}.get(status, "Error")
    if negotiate(request.headers.get("Accept"), ["text/plain", "text/html"]) == "text/html":
        body = render_template("error.html", status=status, title=heading, message=message)
        return Response(body, status=status, mimetype="text/html")
    return Response(f"{heading}: {message}\n", status=status, mimetype="text/plain")


def _store_error(exc: StoreError) -> Response:
    status = next((code for kind, code in STATUS_OF.items() if isinstance(exc, kind)), 503)
    response = error_response(status, str(exc), TITLES.get(status))
    if status == 503:
        response.headers["Retry-After"] = "5"
    return response


def _protocol_error(exc: ProtocolError) -> Response:
    """SPARQL Protocol refusals (``ceopgraph.sparql``): the status the exception carries, its message."""
    response = error_response(exc.status, str(exc), TITLES.get(exc.status))
    if exc.status == 429:
        response.headers["Retry-After"] = "1"
    return response


def _unreadable_submission(exc: UnreadableRdf) -> Response:
    """A submission that cannot be read as RDF: 400, the parser's message (it names line and column)."""
    return error_response(400, exc.message, "Unreadable submission")


def _submission_refused(exc: SubmissionRefused) -> Response:
    """Too large (413), an unknown media type (415), no acceptable report format (406)…"""
    status = next((code for kind, code in SUBMISSION_STATUS_OF.items() if isinstance(exc, kind)), 400)
    return error_response(status, str(exc), TITLES.get(status))


def _unavailable(
    exc: ValidationTimeout | ValidationMemoryExceeded | ValidatorUnavailable | CheckerUnavailable | ServerBusy,
) -> Response:
    response = error_response(503, str(exc), TITLES[503])
    response.headers["Retry-After"] = "5"
    return response


def _body_refused(exc: BodyRefused) -> Response:
    """A request body that cannot be judged (incomplete, undecodable, too large, too slow), or one no
    reader is free for (503: a retry in a moment finds one)."""
    response = error_response(exc.status, str(exc), TITLES.get(exc.status))
    if exc.status == 503:
        response.headers["Retry-After"] = "1"
    return response


def _http_error(exc: HTTPException) -> Response:
    response = error_response(exc.code or 500, exc.description or exc.name)
    for header in ("Allow", "Retry-After"):
        original = exc.get_response().headers.get(header)
        if original:
            response.headers[header] = original
    return response


def register(app: Flask) -> None:
    app.register_error_handler(StoreError, _store_error)
    app.register_error_handler(ProtocolError, _protocol_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(UnreadableRdf, _unreadable_submission)
    app.register_error_handler(SubmissionRefused, _submission_refused)
    app.register_error_handler(BodyRefused, _body_refused)
    app.register_error_handler(ValidationTimeout, _unavailable)
    app.register_error_handler(ValidationMemoryExceeded, _unavailable)
    app.register_error_handler(ValidatorUnavailable, _unavailable)
    app.register_error_handler(CheckerUnavailable, _unavailable)
    app.register_error_handler(ServerBusy, _unavailable)
