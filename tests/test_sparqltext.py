"""``ceopgraph.sparqltext``: query vetting, our own queries' bound values, and dataset clauses, as pure functions."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pyoxigraph as ox
import pytest
from rdflib import BNode, Literal, URIRef
from rdflib.plugins.sparql.parser import parseQuery

from ceopgraph import sparqltext
from ceopgraph.querydataset import DatasetSelection
from ceopgraph.sparqltext import (
    QueryIsUpdate,
    QueryUsesService,
    Template,
    UnparsableQuery,
    UnsafeTerm,
    read_dataset_clauses,
    sparql_term,
    walk,
)
from ceopgraph.terms import read_solutions

# Vetting endpoint queries ----------------------------------------------------------------------------


@contextmanager
def recursion_limit(limit: int) -> Iterator[None]:
    before = sys.getrecursionlimit()
    sys.setrecursionlimit(limit)
    try:
        yield
    finally:
        sys.setrecursionlimit(before)


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
    info = sparqltext.vet_query(query)
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
    with pytest.raises(QueryUsesService):
        sparqltext.vet_query(query)


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
    with pytest.raises(UnparsableQuery):
        sparqltext.vet_query(query)


def test_string_escapes_are_expanded_once_and_the_engine_gets_the_expanded_text() -> None:
    """\\u0022 fooled the string scan: Oxigraph reads it as a quote inside the string, rdflib (as §19.2
    says) as a quote that ends it. The checker expands it and the engine is given what was checked: one
    BIND of a long string, the same for both, with no SERVICE pattern in it."""
    query = 'SELECT * { BIND("\\u0022" AS ?q) SERVICE <http://127.0.0.1:9/> { ?a ?b ?c } BIND("\\u0022" AS ?r) }'
    info = sparqltext.vet_query(query)
    assert "\\u" not in info.query
    assert info.query == query.replace("\\u0022", '"')
    _, rows = read_solutions(ox.Store().query(info.query))  # read here: only this thread may drop them
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
    with pytest.raises(UnparsableQuery, match=says), recursion_limit(20_000):  # the checker's (queryvet)
        sparqltext.vet_query(query)


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
    with pytest.raises(QueryIsUpdate):
        sparqltext.vet_query(query)


def test_a_query_and_an_update_together_are_refused() -> None:
    with pytest.raises((QueryIsUpdate, UnparsableQuery)):
        sparqltext.vet_query("SELECT * {} ; INSERT DATA { <http://a> <http://b> <http://c> }")


@pytest.mark.parametrize("query", ["", "PREFIX ex: <http://ex/>", "hello world", "{ ?s ?p ?o }"])
def test_text_without_a_query_form_is_malformed(query: str) -> None:
    with pytest.raises(UnparsableQuery):
        sparqltext.vet_query(query)


# Our own queries and their bound values ---------------------------------------------------------------


def test_terms_that_would_end_early_are_refused() -> None:
    for bad in ["http://x/> } ; DROP ALL ; <http://y", "http://x/ y", 'http://x/"']:
        with pytest.raises(UnsafeTerm):
            sparql_term(URIRef(bad))
    with pytest.raises(UnsafeTerm):
        Template("SELECT * WHERE { ?s ?p ?o }").bind({"s) {} } DROP ALL {": URIRef("urn:x:a")})
    assert sparql_term(Literal('a"b\\c\nd')) == '"a\\"b\\\\c\\nd"'


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("SELECT ?s WHERE { ?s ?p ?o }", "SELECT ?s WHERE { VALUES (?s) { (<urn:x:a>) }  ?s ?p ?o }"),
        ("ASK { ?s ?p '{ WHERE' }", "ASK { VALUES (?s) { (<urn:x:a>) }  ?s ?p '{ WHERE' }"),
        (
            "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }",
            "CONSTRUCT { ?s ?p ?o } WHERE { VALUES (?s) { (<urn:x:a>) }  ?s ?p ?o }",
        ),
        ("DESCRIBE ?s", "DESCRIBE ?s\nWHERE { VALUES (?s) { (<urn:x:a>) } }"),
        (
            "PREFIX w: <urn:where#> SELECT (EXISTS { ?s ?p ?o } AS ?e) WHERE { ?s w:WHERE ?o } # {",
            "PREFIX w: <urn:where#> SELECT (EXISTS { ?s ?p ?o } AS ?e) WHERE { VALUES (?s) { (<urn:x:a>) }  "
            "?s w:WHERE ?o } # {",
        ),
    ],
)
def test_bind_puts_values_at_the_start_of_the_where_group(query: str, expected: str) -> None:
    assert Template(query).bind({"s": URIRef("urn:x:a")}) == expected


def test_dataset_clauses_are_resolved_and_removed() -> None:
    query = "BASE <http://b/> PREFIX ex: <http://e/> SELECT * FROM ex:g FROM NAMED <h> WHERE { ?s ?p ?o }"
    clauses = read_dataset_clauses(query)
    assert clauses.graphs == DatasetSelection(("http://e/g",), ("http://b/h",))
    assert " ".join(clauses.query_without.split()) == (
        "BASE <http://b/> PREFIX ex: <http://e/> SELECT * WHERE { ?s ?p ?o }"
    )


@pytest.mark.parametrize(
    ("query", "default", "named", "without"),
    [
        ("SELECT * FROM <http://g/> { ?s ?p ?o }", ("http://g/",), (), "SELECT * { ?s ?p ?o }"),
        # Strings, comments and IRIs that spell FROM are not clauses; an undeclared prefix names no graph.
        (
            'SELECT ("FROM <urn:x>" AS ?a) FROM <urn:g> # FROM <urn:y>\n FROM NAMED x:h WHERE { ?s ?p ?o }',
            ("urn:g",),
            (),
            'SELECT ("FROM <urn:x>" AS ?a) # FROM <urn:y> WHERE { ?s ?p ?o }',
        ),
        (
            "PREFIX : <http://e/> ASK FROM :a FROM NAMED :b {}",
            ("http://e/a",),
            ("http://e/b",),
            "PREFIX : <http://e/> ASK {}",
        ),
        ("CONSTRUCT FROM <http://g/> WHERE { ?s ?p ?o }", ("http://g/",), (), "CONSTRUCT WHERE { ?s ?p ?o }"),
        ("DESCRIBE <http://a/> from named <http://g/>", (), ("http://g/",), "DESCRIBE <http://a/>"),
    ],
)
def test_dataset_clauses_are_read_from_the_parse(
    query: str, default: tuple[str, ...], named: tuple[str, ...], without: str
) -> None:
    clauses = read_dataset_clauses(query)
    assert clauses.graphs == DatasetSelection(default, named)
    assert " ".join(clauses.query_without.split()) == without
    parseQuery(clauses.query_without)  # still a query


def test_vetting_carries_the_dataset_clauses() -> None:
    info = sparqltext.vet_query("SELECT * FROM <http://g/> FROM NAMED <http://h/> { ?s ?p ?o }")
    assert info.dataset_clauses is not None
    assert info.dataset_clauses.graphs == DatasetSelection(("http://g/",), ("http://h/",))
    assert sparqltext.vet_query("SELECT * { ?s ?p ?o }").dataset_clauses is None


HOSTILE = [
    '"} } ; DROP ALL ; #',
    "\\u0022) } SELECT * { ?a ?b ?c",
    "\\\\u0022 } }",
    "\"\"\" ''' ' \" \\",
    "line\nbreak\rreturn\ttab # not a comment",
    "}}}} >>> <<< ]]]",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_bound_values_stay_values(value: str) -> None:
    """Whatever a value holds, the bound query parses to one VALUES block holding exactly that value,
    and the engine reads it back unchanged."""
    query = Template("SELECT ?s ?o WHERE { }")
    bound = query.bind({"o": Literal(value), "s": URIRef("urn:x:s")})
    values = [node for node in walk(parseQuery(bound)) if getattr(node, "name", None) == "InlineData"]
    assert len(values) == 1
    _, [row] = read_solutions(ox.Store().query(bound))
    assert row["o"] == ox.Literal(value) and row["s"] == ox.NamedNode("urn:x:s")


@pytest.mark.parametrize(
    "term",
    [Literal("x", datatype=URIRef("urn:x> } DROP ALL <urn:y")), BNode("b"), URIRef("")],
)
def test_terms_that_are_not_safe_are_refused(term: object) -> None:
    with pytest.raises(UnsafeTerm):
        sparql_term(term)  # type: ignore[arg-type]


def test_values_of_several_rows_and_describe_with_modifiers() -> None:
    rows = [(URIRef("urn:x:a"), Literal(1)), (URIRef("urn:x:b"), Literal("two", lang="en"))]
    bound = Template("SELECT ?s ?n WHERE { ?s ?p ?n }").with_values(("s", "n"), rows)
    assert bound == (
        'SELECT ?s ?n WHERE { VALUES (?s ?n) { (<urn:x:a> "1"^^<http://www.w3.org/2001/XMLSchema#integer>) '
        '(<urn:x:b> "two"@en) }  ?s ?p ?n }'
    )
    described = Template("DESCRIBE ?s # the resource\nLIMIT 1").bind({"s": URIRef("urn:x:a")})
    assert described == "DESCRIBE ?s # the resource\n\nWHERE { VALUES (?s) { (<urn:x:a>) } } LIMIT 1"
    parseQuery(described)


def test_values_go_where_the_grammar_says_or_nowhere() -> None:
    with pytest.raises(UnsafeTerm, match="long form"):
        Template("CONSTRUCT WHERE { ?s ?p ?o }").bind({"s": URIRef("urn:x:a")})
    with pytest.raises(UnsafeTerm, match="not a query"):
        Template("not a query { ?s ?p ?o }").bind({"s": URIRef("urn:x:a")})
    assert Template("SELECT * { ?s ?p ?o }").bind({}) == "SELECT * { ?s ?p ?o }"
