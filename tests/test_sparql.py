"""``ceopgraph.sparql``: request decoding and format choice, as pure functions (vetting: ``test_sparqltext``)."""

from __future__ import annotations

import pytest

from ceopgraph import sparql
from ceopgraph.sparql import (
    MalformedQuery,
    MalformedRequest,
    NotAcceptable,
    ProtocolError,
    RequestTooLarge,
    UnsupportedMediaType,
    UpdateRefused,
)
from ceopgraph.web.errors import status_of

LIMIT = 64 * 1024


def parse(method: str, qs: bytes = b"", ctype: str | None = None, body: bytes = b"") -> sparql.QueryRequest | None:
    return sparql.parse_request(method, qs, ctype, body, LIMIT)


def test_get_query_with_dataset() -> None:
    request = parse("GET", b"query=ASK%20%7B%7D&default-graph-uri=http%3A%2F%2Fa%2F&named-graph-uri=http%3A%2F%2Fb%2F")
    assert request == sparql.QueryRequest("ASK {}", ("http://a/",), ("http://b/",))


def test_bare_get_is_the_service_description() -> None:
    assert parse("GET") is None


def test_head_is_read_as_get() -> None:
    """HEAD /sparql was refused as "not a query operation" although the preflight advertises it."""
    assert parse("HEAD") is None
    assert parse("HEAD", b"query=ASK%20%7B%7D") == parse("GET", b"query=ASK%20%7B%7D")


def test_post_form_merges_url_dataset_parameters() -> None:
    request = parse(
        "POST", b"default-graph-uri=http%3A%2F%2Fa%2F", "application/x-www-form-urlencoded", b"query=ASK%7B%7D"
    )
    assert request == sparql.QueryRequest("ASK{}", ("http://a/",))


def test_post_direct_with_utf8_charset() -> None:
    request = parse("POST", b"format=csv", "application/sparql-query; charset=UTF-8", "ASK { 'é' }".encode())
    assert request == sparql.QueryRequest("ASK { 'é' }", formats=("csv",))


@pytest.mark.parametrize(
    ("method", "qs", "ctype", "body", "error"),
    [
        ("PUT", b"query=ASK%7B%7D", None, b"", MalformedRequest),
        ("GET", b"query=ASK%7B%7D&query=SELECT%20*%20%7B%7D", None, b"", MalformedRequest),
        ("POST", b"", "text/plain", b"ASK {}", UnsupportedMediaType),
        ("POST", b"", None, b"query=ASK%20%7B%7D", UnsupportedMediaType),
        ("POST", b"", None, b"ASK {}", UnsupportedMediaType),
        ("POST", b"", "application/sparql-query; charset=UTF-16", "ASK {}".encode("utf-16"), UnsupportedMediaType),
        ("POST", b"", "application/sparql-query", b"ASK { '\xff' }", MalformedRequest),
        ("GET", b"query=ASK%20%7B%27%FF%27%7D", None, b"", MalformedRequest),
        ("GET", b"query=%20%20", None, b"", MalformedQuery),
        ("GET", b"default-graph-uri=http%3A%2F%2Fa%2F", None, b"", MalformedRequest),
        ("GET", b"query=ASK%7B%7D&default-graph-uri=not%20an%20iri", None, b"", MalformedRequest),
        ("POST", b"query=ASK%7B%7D", "application/sparql-query", b"ASK {}", MalformedRequest),
        ("GET", b"update=CLEAR%20ALL", None, b"", UpdateRefused),
        (
            "POST",
            b"",
            "application/x-www-form-urlencoded",
            b"update=CLEAR%20NAMED&update=CLEAR%20DEFAULT",
            UpdateRefused,
        ),
        ("POST", b"", "application/sparql-update", b"CLEAR NAMED", UpdateRefused),
        ("POST", b"", "application/sparql-update; charset=UTF-16", "CLEAR NAMED".encode("utf-16"), UpdateRefused),
        (
            "POST",
            b"using-graph-uri=http%3A%2F%2Fa%2F",
            "application/x-www-form-urlencoded",
            b"query=ASK%7B%7D",
            UpdateRefused,
        ),
        ("POST", b"", "application/sparql-query", b"ASK {" + b" " * LIMIT + b"}", RequestTooLarge),
        ("GET", b"query=ASK%7B" + b"%20" * LIMIT + b"%7D", None, b"", RequestTooLarge),
    ],
    ids=lambda v: v.__name__ if isinstance(v, type) else None,
)
def test_bad_requests_are_refused_with_a_status(
    method: str, qs: bytes, ctype: str | None, body: bytes, error: type[ProtocolError]
) -> None:
    with pytest.raises(error) as raised:
        parse(method, qs, ctype, body)
    assert 400 <= status_of(raised.value) < 500
    assert str(raised.value)


def test_a_dataset_iri_the_engine_refuses_is_a_malformed_request() -> None:
    """``default-graph-uri=a:%zz`` passed the pattern, then the engine's IRI parser raised in the query
    process and killed it (503)."""
    with pytest.raises(MalformedRequest, match="not an absolute IRI"):
        parse("GET", b"query=ASK%7B%7D&default-graph-uri=a:%25zz", None, b"")


@pytest.mark.parametrize(
    ("form", "accept", "param", "expected"),
    [
        ("SELECT", None, None, "json"),
        ("SELECT", "*/*", None, "json"),
        ("SELECT", "text/csv", None, "csv"),
        ("SELECT", "text/tab-separated-values", None, "tsv"),
        ("SELECT", "application/sparql-results+xml;q=0.9, application/sparql-results+json;q=0.5", None, "xml"),
        ("SELECT", "application/json", None, "json"),
        ("SELECT", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", None, "xml"),
        ("SELECT", "text/csv", "tsv", "tsv"),
        ("SELECT", None, ("tsv", "text/tab-separated-values"), "tsv"),
        ("CONSTRUCT", None, ("rdf+xml", "application/rdf+xml"), "rdfxml"),
        ("CONSTRUCT", None, "xml", "rdfxml"),
        ("CONSTRUCT", None, "json", "jsonld"),
        ("DESCRIBE", None, "n3", "turtle"),
        ("SELECT", None, ("nonsense", "csv"), "csv"),
        ("SELECT", None, "application/sparql-results+xml", "xml"),
        ("ASK", "application/sparql-results+xml", None, "xml"),
        ("CONSTRUCT", None, None, "turtle"),
        ("CONSTRUCT", "application/n-triples", None, "ntriples"),
        ("CONSTRUCT", "application/ld+json", None, "jsonld"),
        ("DESCRIBE", "application/rdf+xml", None, "rdfxml"),
        ("DESCRIBE", "application/trig", None, "trig"),
        ("CONSTRUCT", "application/n-quads", None, "nquads"),
        ("CONSTRUCT", "text/csv", "csv", None),
        ("CONSTRUCT", None, "ntriples", "ntriples"),
        # A client that sends one Accept for every query form: answer formats only, none for this form.
        ("CONSTRUCT", "application/sparql-results+json", None, "turtle"),
        ("DESCRIBE", "application/sparql-results+xml, text/csv;q=0.5", None, "turtle"),
        ("ASK", "text/csv", None, "json"),
        ("SELECT", "application/n-triples", None, "json"),
    ],
)
def test_format_choice(
    form: str, accept: str | None, param: str | tuple[str, ...] | None, expected: str | None
) -> None:
    params = (param,) if isinstance(param, str) else (param or ())
    if expected is None:
        with pytest.raises(MalformedRequest):
            sparql.choose_format(form, accept, params)
    else:
        assert sparql.choose_format(form, accept, params).name == expected


@pytest.mark.parametrize(
    ("form", "accept", "param"),
    [
        ("SELECT", "image/png", None),
        ("CONSTRUCT", "application/sparql-results+json, image/png", None),  # not only answer formats
        ("CONSTRUCT", "application/sparql-results+json;q=0", None),  # nothing acceptable at all
    ],
)
def test_no_acceptable_format(form: str, accept: str, param: str | None) -> None:
    with pytest.raises(NotAcceptable):
        sparql.choose_format(form, accept, (param,) if param else ())


def test_format_parameter_must_fit_the_query_form() -> None:
    with pytest.raises(MalformedRequest, match="does not apply to ASK"):
        sparql.choose_format("ASK", None, ("csv",))


def test_query_hash_is_short_and_stable() -> None:
    assert sparql.QueryRequest("ASK {}").query_hash == sparql.QueryRequest("ASK {}").query_hash
    assert len(sparql.QueryRequest("ASK {}").query_hash) == 12
