"""Errors are values: every domain exception reaches HTTP through ``TABLE``, the one place that says its
status, title, message and extra headers (``Retry-After``, ``WWW-Authenticate``).

Domain modules raise errors with no HTTP in them; each row names how its answer is presented: a short
page for browsers and plain text otherwise (``page``), the write path's JSON or page (``web.releases``),
the documents' 404 with where to look instead (``web.resources``), or plain text naming what is offered
(``offered``). No handler catches ``Exception`` wholesale: a real bug must surface as a 500 in the logs and
tests; ``NOT_ANSWERED`` lists the exceptions of the code base that never reach a client, and why.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response, render_template, request
from werkzeug.exceptions import HTTPException

from ceopgraph.bnodes import IndistinguishableBlankNodes
from ceopgraph.build import BuildError
from ceopgraph.config import SettingsError
from ceopgraph.conneg import negotiate
from ceopgraph.processes.pool import WorkerPoolError
from ceopgraph.processes.sandbox import SandboxUnavailable
from ceopgraph.publish import PublishError
from ceopgraph.queryvet import CheckerUnavailable
from ceopgraph.rdfio import ExpandsTooFar, UnreadableRdf
from ceopgraph.reconcile import NotOurEntity, ReconcileInputError
from ceopgraph.releases.drafting import DraftTooLarge
from ceopgraph.releases.follower import DraftStoresBusy
from ceopgraph.releases.registry import Conflict, RegistryUnavailable, TooManyDrafts
from ceopgraph.releases.remote import StoreNotUpdated
from ceopgraph.releases.service import (
    DraftInvalid,
    DraftNotFound,
    Forbidden,
    NotAcknowledged,
    NoteRequired,
    NotSignedIn,
    PreconditionRequired,
    ReleaseFilesDamaged,
    ReleaseNotFound,
    Unavailable,
    UnknownAcknowledgement,
    UnknownBase,
)
from ceopgraph.releases.tokens import InvalidToken, TooManyFailedChecks
from ceopgraph.releases.transfer import TransferError
from ceopgraph.search import BadSearch
from ceopgraph.sparql import (
    MalformedQuery,
    MalformedRequest,
    NotAcceptable,
    ProtocolError,
    RequestTooLarge,
    UnsupportedMediaType,
    UpdateRefused,
)
from ceopgraph.sparqltext import QueryIsUpdate, QueryRefused, QueryUsesService, UnsafeTerm
from ceopgraph.store.jobs import (
    QueryEvaluationError,
    QuerySyntaxError,
    QueryTimeout,
    StoreBadGateway,
    StoreError,
    StoreUnavailable,
)
from ceopgraph.tables import TableError
from ceopgraph.tablesin import TableProblems, TableTooLarge
from ceopgraph.validation.bulk import UnsafeShapes
from ceopgraph.validation.service import (
    ReportNotAcceptable,
    SubmissionRefused,
    SubmissionTooLarge,
    UnsupportedSubmissionType,
    ValidationMemoryExceeded,
    ValidationTimeout,
    ValidatorUnavailable,
)
from ceopgraph.web import releases, resources
from ceopgraph.web.admission import ServerBusy, TooManyQueries
from ceopgraph.web.body import BodyIncomplete, BodyReadersBusy, BodyRefused, BodyTimedOut, BodyTooLarge
from ceopgraph.web.pages.rows import UnexpectedSolution


def page(status: int, message: str, title: str) -> Response:
    """An error answer in HTML for browsers, plain text otherwise."""
    if negotiate(request.headers.get("Accept"), ["text/plain", "text/html"]) == "text/html":
        body = render_template("error.html", status=status, title=title, message=message)
        return Response(body, status=status, mimetype="text/html")
    return Response(f"{title}: {message}\n", status=status, mimetype="text/plain")


def _page(entry: Entry, exc: Exception) -> Response:
    return page(entry.status, entry.message(exc), entry.title)


def _offered(entry: Entry, exc: Exception) -> Response:
    """Plain text whatever was asked for (the asker accepts none of the formats named)."""
    response = Response(f"{entry.title}: {entry.message(exc)}\n", entry.status, mimetype="text/plain")
    response.vary.add("Accept")
    return response


def _write_path(entry: Entry, exc: Exception) -> Response:
    return releases.error_answer(entry.status, entry.title, entry.message(exc), exc)


def _not_found(entry: Entry, exc: Exception) -> Response:
    assert isinstance(exc, resources.NoSuchResource)
    return resources.not_found_answer(entry.status, entry.title, exc)


def _gone(entry: Entry, exc: Exception) -> Response:
    assert isinstance(exc, resources.ResourceGone)
    return resources.gone_answer(entry.status, entry.title, exc)


Present = Callable[["Entry", Exception], Response]


@dataclass(frozen=True)
class Entry:
    """How one kind of domain error is answered: ``message`` derives the text from the exception."""

    kind: type[Exception]
    status: int
    title: str
    present: Present = _page
    headers: tuple[tuple[str, str], ...] = ()
    message: Callable[[Any], str] = field(default=str)


_RETRY_SOON = (("Retry-After", "1"),)
_RETRY_LATER = (("Retry-After", "5"),)
_RETRY_IN_A_MINUTE = (("Retry-After", "60"),)

# First match wins: subclasses before their bases.
TABLE: tuple[Entry, ...] = (
    # The store (``store.jobs``).
    Entry(StoreBadGateway, 502, "Bad gateway"),
    Entry(QuerySyntaxError, 400, "Bad request"),
    Entry(QueryEvaluationError, 400, "Bad request"),
    Entry(QueryTimeout, 503, "Unavailable", headers=_RETRY_LATER),
    Entry(StoreUnavailable, 503, "Unavailable", headers=_RETRY_LATER),
    Entry(StoreError, 503, "Unavailable", headers=_RETRY_LATER),
    # The SPARQL Protocol (``sparql``) and the query checker's refusals (``sparqltext``).
    Entry(MalformedRequest, 400, "Bad request"),
    Entry(MalformedQuery, 400, "Bad request"),
    Entry(UnsupportedMediaType, 415, "Unsupported media type"),
    Entry(UpdateRefused, 403, "Forbidden"),
    Entry(RequestTooLarge, 413, "Too large"),
    Entry(NotAcceptable, 406, "Not acceptable"),
    Entry(TooManyQueries, 429, "Too many requests", headers=_RETRY_SOON),
    Entry(ProtocolError, 400, "Bad request"),
    Entry(QueryIsUpdate, 403, "Forbidden"),
    Entry(QueryUsesService, 400, "Bad request"),
    Entry(QueryRefused, 400, "Bad request"),
    # Request bodies (``web.body``).
    Entry(BodyIncomplete, 400, "Bad request"),
    Entry(BodyTimedOut, 408, "Request timeout"),
    Entry(BodyTooLarge, 413, "Too large"),
    Entry(BodyReadersBusy, 503, "Unavailable", headers=_RETRY_SOON),
    Entry(BodyRefused, 400, "Bad request"),
    # Validation of a submission (``validation.service``).
    Entry(UnreadableRdf, 400, "Unreadable submission", message=lambda exc: exc.message),
    Entry(SubmissionTooLarge, 413, "Too large"),
    Entry(UnsupportedSubmissionType, 415, "Unsupported media type"),
    Entry(ReportNotAcceptable, 406, "Not acceptable"),
    Entry(SubmissionRefused, 400, "Bad request"),
    Entry(ValidationTimeout, 503, "Unavailable", headers=_RETRY_LATER),
    Entry(ValidationMemoryExceeded, 503, "Unavailable", headers=_RETRY_LATER),
    Entry(ValidatorUnavailable, 503, "Unavailable", headers=_RETRY_LATER),
    Entry(CheckerUnavailable, 503, "Unavailable", headers=_RETRY_LATER),
    Entry(ServerBusy, 503, "Unavailable", headers=_RETRY_LATER),
    # The documents (``web.resources``).
    Entry(resources.ResourceGone, 410, "Gone", present=_gone),
    Entry(resources.NoSuchResource, 404, "Not found", present=_not_found),
    Entry(resources.DocumentNotAcceptable, 406, "Not acceptable", present=_offered),
    Entry(TableError, 422, "Not one table"),
    # The reconciliation service (``reconcile``): what is wrong with the request, and where in it.
    Entry(ReconcileInputError, 400, "Bad request"),
    Entry(NotOurEntity, 404, "Not found"),  # a draft's cube with two values of a component on one figure
    # The write path (``releases``, ``web.releases``).
    Entry(NotSignedIn, 401, "Not signed in", _write_path, (("WWW-Authenticate", 'Bearer realm="ceopgraph"'),)),
    Entry(Forbidden, 403, "Forbidden", _write_path),
    Entry(NoteRequired, 400, "Bad request", _write_path),
    Entry(releases.NotConfirmed, 400, "Bad request", _write_path),
    Entry(DraftNotFound, 404, "Not found", _write_path),
    Entry(ReleaseNotFound, 404, "Not found", _write_path),
    Entry(Conflict, 409, "Conflict", _write_path),
    Entry(NotAcknowledged, 409, "Acknowledgement required", _write_path),
    Entry(UnknownBase, 422, "No such base release", _write_path),
    Entry(UnknownAcknowledgement, 400, "Bad request", _write_path),
    Entry(releases.BadField, 400, "Bad request", _write_path),
    Entry(DraftTooLarge, 413, "Too large", _write_path),
    # A table submitted as a draft (``tablesin``): every problem, by row and column; nothing made.
    Entry(TableProblems, 400, "The table has problems", _write_path),
    Entry(DraftInvalid, 422, "The draft does not conform", _write_path),
    Entry(TooManyDrafts, 429, "Too many drafts", _write_path, _RETRY_IN_A_MINUTE),
    Entry(releases.RateLimited, 429, "Too many requests", _write_path, _RETRY_IN_A_MINUTE),
    Entry(TooManyFailedChecks, 429, "Too many requests", _write_path, _RETRY_IN_A_MINUTE),
    Entry(PreconditionRequired, 428, "Precondition required", _write_path),
    Entry(Unavailable, 503, "Unavailable", _write_path),
    Entry(DraftStoresBusy, 503, "Busy", _write_path),
    # The store of record's database is down or unreachable: nothing was changed, try again shortly.
    Entry(RegistryUnavailable, 503, "Unavailable", _write_path, _RETRY_LATER),
    # A release whose files do not match its recorded hashes is never served.
    Entry(ReleaseFilesDamaged, 503, "Unavailable", _write_path),
    Entry(StoreNotUpdated, 502, "The store was not updated", _write_path),
)

# Exceptions of the code base that never reach a client as themselves: caught and answered as one of the
# rows above, raised only by the command line, or programming errors that must surface as a 500.
NOT_ANSWERED: frozenset[type[Exception]] = frozenset(
    {
        InvalidToken,  # answered as NotSignedIn, the same message whatever is wrong
        WorkerPoolError,  # turned into the caller's own error (``processes.pool.raise_as``)
        ExpandsTooFar,  # caught by the reader, which refuses the input as UnreadableRdf
        SandboxUnavailable,  # the server does not start without its sandbox
        SettingsError,  # bad configuration: the command line says which variable (``cli.main``)
        BuildError,  # the command line's ``build``
        PublishError,  # the command line's ``publish``
        TransferError,  # the command line's release transfer
        UnsafeShapes,  # the operator's shapes, checked when the server starts
        UnsafeTerm,  # a programming error
        UnexpectedSolution,  # a programming error: a page's query answered off its shape
        IndistinguishableBlankNodes,  # a programming error in a build
        TableTooLarge,  # answered as DraftTooLarge (``releases.drafting.TooLarge``)
        BadSearch,  # answered by the search view, a 400 as a page or JSON as the search was asked
    }
)


def entry_for(exc: BaseException) -> Entry:
    """The first row whose kind ``exc`` is; a KeyError for an exception no row answers."""
    found = next((entry for entry in TABLE if isinstance(exc, entry.kind)), None)
    if found is None:
        raise KeyError(type(exc).__name__)
    return found


def status_of(exc: BaseException) -> int:
    """The HTTP status ``exc`` is answered with."""
    return entry_for(exc).status


def answer(exc: Exception) -> Response:
    """The answer to ``exc`` by its row: status, headers and body as the row says."""
    entry = entry_for(exc)
    response = entry.present(entry, exc)
    for name, value in entry.headers:
        response.headers[name] = value
    return response


def _http_error(exc: HTTPException) -> Response:
    """Flask's own refusals (no route, wrong method…): the same short page, the headers they carry."""
    titles = {400: "Bad request", 404: "Not found", 413: "Too large", 503: "Unavailable"}
    code = exc.code or 500
    response = page(code, exc.description or exc.name, titles.get(code, "Error"))
    for header in ("Allow", "Retry-After", "Content-Range"):  # a 416's: the representation's length
        original = exc.get_response().headers.get(header)
        if original:
            response.headers[header] = original
    return response


def register(app: Flask) -> None:
    app.register_error_handler(HTTPException, _http_error)
    for entry in TABLE:
        app.register_error_handler(entry.kind, answer)
