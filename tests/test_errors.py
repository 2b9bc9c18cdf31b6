"""``ceopgraph.web.errors``: one table answers every domain error of the code base, each with its status."""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil

import pytest
from flask import Flask

import ceopgraph
from ceopgraph.rdfio import UnreadableRdf
from ceopgraph.releases.history import Gone
from ceopgraph.releases.registry import Release
from ceopgraph.releases.service import DraftInvalid
from ceopgraph.sparqltext import QueryIsUpdate, QueryRefused, QueryUsesService, UnparsableQuery
from ceopgraph.tablesin import Problem, TableProblems
from ceopgraph.web import errors
from ceopgraph.web.body import BodyTooLarge
from ceopgraph.web.resources import FORMATS, DocumentNotAcceptable, NoSuchResource, ResourceGone

# A resource whose last release was withdrawn: what a 410 answer is about.
GONE = Gone(
    "https://w3id.org/ceopgraph/id/test/gone",
    Release(2, "2026-01-02T00:00:00Z", 1, None, "operator", 1, {}, "2026-01-03T00:00:00Z", "what is wrong", "note"),
    None,
    None,
)


def _exception_classes() -> list[type[Exception]]:
    """Every public exception class defined in the code base (private ones steer control flow only)."""
    found: dict[str, type[Exception]] = {}
    for module_info in pkgutil.walk_packages(ceopgraph.__path__, "ceopgraph."):
        module = importlib.import_module(module_info.name)
        for name, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, Exception) and value.__module__ == module.__name__ and not name.startswith("_"):
                found[f"{value.__module__}.{name}"] = value
    return [found[key] for key in sorted(found)]


def _row_of(kind: type[Exception]) -> errors.Entry | None:
    return next((entry for entry in errors.TABLE if issubclass(kind, entry.kind)), None)


def test_every_domain_error_has_a_row_or_a_reason_it_never_reaches_a_client() -> None:
    classes = _exception_classes()
    assert len(classes) > 40  # the walk found the code base's exceptions
    unanswered = [
        k.__qualname__
        for k in classes
        if _row_of(k) is None and not any(issubclass(k, internal) for internal in errors.NOT_ANSWERED)
    ]
    assert unanswered == []
    assert [k.__qualname__ for k in errors.NOT_ANSWERED if _row_of(k) is not None] == []


def test_no_row_is_shadowed_by_an_earlier_one() -> None:
    assert [entry.kind.__qualname__ for entry in errors.TABLE if _row_of(entry.kind) is not entry] == []


@pytest.mark.parametrize(
    ("refusal", "status"),
    [
        (UnparsableQuery("the query does not parse at line 1, column 3"), 400),
        (QueryIsUpdate("this endpoint is read-only"), 403),
        (QueryUsesService("SERVICE is not allowed"), 400),
        (QueryRefused("a refusal of a kind the protocol has no status of its own for"), 400),
    ],
)
def test_a_refused_query_is_answered_with_its_kinds_status(refusal: QueryRefused, status: int) -> None:
    """The checker's refusals are domain errors (``ceopgraph.sparqltext``); the table gives them the
    protocol's statuses (an update is forbidden, anything else a malformed query)."""
    assert errors.status_of(refusal) == status


def _instance(kind: type[Exception]) -> Exception:
    """An instance of ``kind`` whose message is "what is wrong" (its constructor's way)."""
    made: dict[type[Exception], Exception] = {
        UnreadableRdf: UnreadableRdf("what is wrong", "submission.ttl", 1, 2),
        DraftInvalid: DraftInvalid("what is wrong", json.dumps({"conforms": False})),
        BodyTooLarge: BodyTooLarge(10),
        NoSuchResource: NoSuchResource(None),
        DocumentNotAcceptable: DocumentNotAcceptable("what is wrong"),
        ResourceGone: ResourceGone(GONE, None),
        TableProblems: TableProblems((Problem(2, "quote", "words", "what is wrong"),), ("quote",), ((2, ("words",)),)),
    }
    return made.get(kind) or kind("what is wrong")


@pytest.mark.parametrize("entry", errors.TABLE, ids=lambda entry: entry.kind.__qualname__)
@pytest.mark.parametrize("accept", ["text/plain", "application/json", "text/html"])
def test_each_row_answers_its_status_title_message_and_headers(app: Flask, entry: errors.Entry, accept: str) -> None:
    exc = _instance(entry.kind)
    with app.test_request_context("/", headers={"Accept": accept}):
        response = errors.answer(exc)
    assert response.status_code == entry.status
    for name, value in entry.headers:
        assert response.headers[name] == value
    body = response.get_data(as_text=True)
    if response.mimetype == "application/json":  # the write path's programs read the status and the error
        data = json.loads(body)
        assert (data["status"], data["error"]) == (entry.status, entry.message(exc))
        return
    if isinstance(exc, ResourceGone) and response.mimetype != "text/html":  # what machines are told: RDF
        assert response.mimetype in {f.media_type for f in FORMATS} and GONE.iri in body
        return
    if not isinstance(exc, NoSuchResource) or accept != "text/html":  # the 404 page says where to look instead
        assert entry.title in body
    if not isinstance(exc, NoSuchResource):  # never the path echoed
        assert entry.message(exc) in body


def test_the_apps_handlers_are_the_tables(app: Flask) -> None:
    """Each row's kind reaches ``errors.answer`` through the app, whatever blueprint raised it."""
    handlers = app.error_handler_spec[None]
    for entry in errors.TABLE:
        assert any(handlers[code].get(entry.kind) is errors.answer for code in handlers), entry.kind
