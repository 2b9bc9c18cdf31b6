"""``ceopgraph.sparql``: request decoding, query vetting and format choice, as pure functions."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pyoxigraph as ox
import pytest

from ceopgraph import sparql
from ceopgraph.sparql import (
    AnswerCache,
    CachedAnswer,
    MalformedQuery,
    MalformedRequest,
    NotAcceptable,
    ProtocolError,
    RequestTooLarge,
    ServiceRefused,
    UnsupportedMediaType,
    UpdateRefused,
)

LIMIT = 64 * 1024


@contextmanager
def recursion_limit(limit: int) -> Iterator[None]:
    before = sys.getrecursionlimit()
    sys.setrecursionlimit(limit)
    try:
        yield
    finally:
        sys.setrecursionlimit(before)


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
    assert 400 <= raised.value.status < 500
    assert str(raised.value)


@pytest.mark.parametrize(
    ("query", "form", "has_dataset"),
    [
        ("SELECT * { ?s ?p ?o }", "SELECT", False),
        ("PREFIX ex: <http://ex/> BASE <http://b/> ask { ex:a ?p ?o }", "ASK", False),
        ("# comment SERVICE INSERT\nCONSTRUCT WHERE { ?s ?p ?o }", "CONSTRUCT", False),
        ("DESCRIBE <http://ex/a>", "DESCRIBE", False),
        ("SELECT * FROM <http://g/> { ?s ?p ?o }", "SELECT", True),
        ("SELECT * FROM NAMED <http://g/> { GRAPH ?g { ?s ?p ?o } }", "SELECT", True),
        # The keywords in strings, IRIs, variables, prefixed names and comments are not keywords.
        ("SELECT ?service { ?service <http://ex/SERVICE> 'SERVICE INSERT' }", "SELECT", False),
        ('SELECT * { ?s ?p """multi\nline SERVICE <http://x/> {}""" }', "SELECT", False),
        ("PREFIX service: <http://ex/> SELECT * { service:delete ?p ?o } # LOAD <x>", "SELECT", False),
        ("SELECT * { ?s ?p 'x'@service }", "SELECT", False),
        ("# comment SERVICE\r\nSELECT * { ?s ?p ?o }\r\n", "SELECT", False),  # CRLF line ends stay
    ],
)
def test_vetting_tells_the_form(query: str, form: str, has_dataset: bool) -> None:
    info = sparql.vet_query(query)
    assert (info.form, info.has_dataset_clause, info.query) == (form, has_dataset, query)


SERVICE_QUERIES = [
    "SELECT * { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }",
    "SELECT * { service silent <http://127.0.0.1:9/> { ?s ?p ?o } }",
    "SELECT * { ?a ?b ?c SERVICE ?where { ?s ?p ?o } }",
    "SELECT * {SERVICE<http://127.0.0.1:9/>{?s ?p ?o}}",
    "SELECT * { \\u0053ERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }",
    "SELECT * { # comment\nSERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }",
    "SELECT * { ?s ?p 'a' . SERVICE <http://127.0.0.1:9/> { ?s ?p \"#\" } }",
    "ASK { FILTER(?x < 3) SERVICE <http://127.0.0.1:9/> {} }",
    # What got past the token check: a prefixed name glued to the keyword; nested where no scan looks.
    "PREFIX : <http://127.0.0.1:9/> SELECT * { SERVICE:x { ?a ?b ?c } }",
    "SELECT * { ?s ?p ?o FILTER EXISTS { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } } }",
    "SELECT * { { SELECT * { OPTIONAL { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } } } } }",
    "CONSTRUCT { ?s ?p ?o } WHERE { MINUS { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } } }",
]


@pytest.mark.parametrize("query", SERVICE_QUERIES)
def test_service_is_refused_before_any_engine(query: str) -> None:
    with pytest.raises(ServiceRefused):
        sparql.vet_query(query)


@pytest.mark.parametrize(
    "query",
    [
        # The number glued to the keyword: Oxigraph reads "1 SERVICE", the grammar has no such token.
        "SELECT ?secret { ?s ?p 1SERVICE <http://127.0.0.1:9/admin?x=1> { ?a ?b ?secret } }",
        # An escape that expands to an escape: the engine would read it a second time.
        'SELECT * { BIND("\\u005Cu0022" AS ?q) SERVICE <http://127.0.0.1:9/> {} }',
        # Not a character.
        'SELECT ("\\uD800" AS ?x) {}',
        # Half an escape: rdflib reads \U with four digits as one, the engine does not.
        'SELECT ("\\U0041x" AS ?x) {}',
        # A bare carriage return ends a comment for the engine (SPARQL's EOL) but not for rdflib.
        "SELECT * WHERE { ?s ?p ?o . # c \r SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } \n }",
        "SELECT * WHERE { ?s ?p ?o . # c \\u000D SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } \n }",
    ],
)
def test_what_the_checker_cannot_read_the_way_the_engine_does_is_refused(query: str) -> None:
    with pytest.raises(MalformedQuery):
        sparql.vet_query(query)


def test_string_escapes_are_expanded_once_and_the_engine_gets_the_expanded_text() -> None:
    """\\u0022 fooled the string scan: Oxigraph reads it as a quote inside the string, rdflib (as §19.2
    says) as a quote that ends it. The checker expands it and the engine is given what was checked: one
    BIND of a long string, the same for both, with no SERVICE pattern in it."""
    query = 'SELECT * { BIND("\\u0022" AS ?q) SERVICE <http://127.0.0.1:9/> { ?a ?b ?c } BIND("\\u0022" AS ?r) }'
    info = sparql.vet_query(query)
    assert "\\u" not in info.query
    assert info.query == query.replace("\\u0022", '"')
    answer = ox.Store().query(info.query)
    assert isinstance(answer, ox.QuerySolutions)
    rows = list(answer)
    assert len(rows) == 1 and rows[0]["r"].value.startswith(" AS ?q) SERVICE")


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("SELECT * " + "{" * 5000 + "}" * 5000, "too deeply"),
        ("SELECT * { FILTER(" + "(" * 5000 + "1" + ")" * 5000 + ") }", "too deeply"),
        ("ASK { " + "FILTER EXISTS { " * 1000 + "}" * 1000 + "}", "too deeply"),
        ("SELECT * { FILTER(" + "!" * 20000 + "true) }", "does not parse"),
        ("a-" * 32000, "does not parse"),
        ("SELECT (TRIPLE(<a:s>, <a:p>, 1) AS ?t) {}", "triple terms"),
        ("CONSTRUCT { << <a:s> <a:p> 1 >> <a:q> 2 } WHERE {}", "triple terms"),
    ],
)
def test_hostile_or_unsupported_queries_are_malformed_with_a_reason(query: str, says: str) -> None:
    with pytest.raises(MalformedQuery, match=says), recursion_limit(20_000):  # the checker's (queryvet)
        sparql.vet_query(query)


def test_a_dataset_iri_the_engine_refuses_is_a_malformed_request() -> None:
    """``default-graph-uri=a:%zz`` passed the pattern, then the engine's IRI parser raised in the query
    process and killed it (503)."""
    with pytest.raises(MalformedRequest, match="not an absolute IRI"):
        parse("GET", b"query=ASK%7B%7D&default-graph-uri=a:%25zz", None, b"")


@pytest.mark.parametrize(
    "query",
    [
        "INSERT DATA { <http://a> <http://b> <http://c> }",
        "DELETE WHERE { ?s ?p ?o }",
        "LOAD <http://127.0.0.1:9/data.ttl>",
        "CLEAR ALL",
        "DROP GRAPH <http://g/>",
        "PREFIX ex: <http://ex/> WITH <http://g/> DELETE { ?s ?p ?o } WHERE { ?s ?p ?o }",
        "CREATE GRAPH <http://g/>",
        "COPY DEFAULT TO <http://g/>",
        "MOVE <http://a/> TO <http://b/>",
        "ADD <http://a/> TO <http://b/>",
    ],
)
def test_updates_sent_as_queries_are_refused(query: str) -> None:
    with pytest.raises(UpdateRefused):
        sparql.vet_query(query)


def test_a_query_and_an_update_together_are_refused() -> None:
    with pytest.raises((UpdateRefused, MalformedQuery)):
        sparql.vet_query("SELECT * {} ; INSERT DATA { <http://a> <http://b> <http://c> }")


@pytest.mark.parametrize("query", ["", "PREFIX ex: <http://ex/>", "hello world", "{ ?s ?p ?o }"])
def test_text_without_a_query_form_is_malformed(query: str) -> None:
    with pytest.raises(MalformedQuery):
        sparql.vet_query(query)


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
    [("ASK", "text/csv", None), ("CONSTRUCT", "application/sparql-results+json", None), ("SELECT", "image/png", None)],
)
def test_no_acceptable_format(form: str, accept: str, param: str | None) -> None:
    with pytest.raises(NotAcceptable):
        sparql.choose_format(form, accept, (param,) if param else ())


def test_format_parameter_must_fit_the_query_form() -> None:
    with pytest.raises(MalformedRequest, match="does not apply to ASK"):
        sparql.choose_format("ASK", None, ("csv",))


def test_answer_cache_is_bounded_and_lru() -> None:
    cache = AnswerCache(max_bytes=10, max_entry_bytes=6)
    for key in ("a", "b"):
        cache.put((key,), CachedAnswer(b"12345", "text/csv", False, '"x"'))
    assert cache.get(("a",)) is not None  # a is now the most recent
    cache.put(("c",), CachedAnswer(b"12345", "text/csv", False, '"x"'))
    assert cache.get(("b",)) is None
    assert cache.get(("a",)) is not None and cache.get(("c",)) is not None
    cache.put(("big",), CachedAnswer(b"1234567", "text/csv", False, '"x"'))
    assert cache.get(("big",)) is None


@pytest.mark.parametrize(
    ("header", "matches"),
    [(None, False), ('"abc"', True), ('W/"abc"', True), ('"x", "abc"', True), ("*", True), ('"x"', False)],
)
def test_if_none_match(header: str | None, matches: bool) -> None:
    assert sparql.if_none_match(header, '"abc"') is matches


def test_query_hash_is_short_and_stable() -> None:
    assert sparql.QueryRequest("ASK {}").query_hash == sparql.QueryRequest("ASK {}").query_hash
    assert len(sparql.QueryRequest("ASK {}").query_hash) == 12
