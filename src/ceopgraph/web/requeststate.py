"""What one request carries from one layer to another, typed, in one place.

The endpoint's WSGI fast path (``web.sparql.QueryOperations``) runs before Flask has a request, so what it
leaves for the Flask view (a failure to answer, the query's hash for the access log, a browser's navigation
to a query, which the view answers with the editor) travels in the WSGI environ, the one object both see; a
draft's preview (``web.releases``) tells the documents' views (``web.resources``) which data and links to
use, and the page template which draft it shows; the middleware times the request from its first hook to its
last (``web.middleware``). Each is a field of ``RequestState``, kept under one environ key and reached only
through ``state_of``/``current``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask import request

if TYPE_CHECKING:
    from ceopgraph.releases.registry import DraftSummary
    from ceopgraph.sparql import QueryRequest
    from ceopgraph.web.resources import View

_KEY = "ceopgraph.request_state"


@dataclass
class RequestState:
    """One request's state between layers; every field starts unset."""

    query_failure: Exception | None = None  # the endpoint's failure to answer, raised again by its view
    query_hash: str | None = None  # the query's hash, for the access log
    editor_query: QueryRequest | None = None  # a browser's navigation to a query URL: the editor shows it
    view: View | None = None  # the data and links a draft's preview shows documents with
    draft_preview: DraftSummary | None = None  # the draft a preview page shows (its banner)
    started: float | None = None  # when the app took the request (perf_counter), for Server-Timing and the log


def state_of(environ: dict[str, Any]) -> RequestState:
    """The state of the request ``environ`` describes, made on first use."""
    found: RequestState | None = environ.get(_KEY)
    if found is None:
        found = environ[_KEY] = RequestState()
    return found


def current() -> RequestState:
    """The state of the request Flask is handling."""
    return state_of(request.environ)
