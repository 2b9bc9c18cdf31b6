"""``ceopgraph.queryshape``: one verdict per query shape, never for a query another parser could read otherwise."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ceopgraph import sparqltext
from ceopgraph.queryshape import MAX_SHAPED_CHARS, Shape, Verdict, Verdicts, shape_of
from ceopgraph.queryvet import CheckerUnavailable, QueryChecker
from ceopgraph.sparqltext import QueryRefused, QueryUsesService, UnparsableQuery

from .test_sparqltext import SERVICE_QUERIES

W3C_QUERIES = Path(__file__).resolve().parents[1] / ".w3c-suite" / "sparql11"

LOOKUP = "SELECT ?p ?o WHERE { <https://w3id.org/ceopgraph/id/organisation/ceop> ?p ?o } LIMIT 10"


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (LOOKUP, LOOKUP.replace("organisation/ceop", "person/peter-davies").replace("10", "2000")),
        (
            "PREFIX ex: <http://example.org/> SELECT ?s { ?s ex:p 'one' ; ex:q 1.5 FILTER(?s != ex:a) }",
            'PREFIX ex: <http://example.org/> SELECT ?s { ?s ex:p "two" ; ex:q 7.25 FILTER(?s != ex:b) }',
        ),
        ("ASK { ?s ?p 3 }  # a comment", "ASK {\n ?s ?p 12345\n}"),
    ],
)
def test_queries_that_differ_in_constants_only_share_a_shape(first: str, second: str) -> None:
    assert shape_of(first) is not None and shape_of(first) == shape_of(second)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("SELECT ?p ?o { ?s ?p ?o }", "SELECT ?o ?p { ?s ?p ?o }"),  # the columns
        ("SELECT * { ?s ?p 1 }", "SELECT * { ?s ?p 1.0 }"),  # an integer, a decimal
        ("SELECT * { ?s ?p 'a' }", "SELECT * { ?s ?p 'a'@en }"),  # a language tag
        ("SELECT * { ?s ?p ex:a }", "SELECT * { ?s ?p ey:a }"),  # the prefix
        ("SELECT * { ?s ?p <http://e/?q=1> }", "SELECT * { ?s ?p <http://e/?q=2> }"),  # an IRI that could hold a ?var
        ("SELECT * { ?s ?p ?o }", "CONSTRUCT WHERE { ?s ?p ?o }"),
    ],
)
def test_queries_that_differ_in_structure_do_not(first: str, second: str) -> None:
    assert shape_of(first) != shape_of(second)


@pytest.mark.parametrize(
    "query",
    [
        *SERVICE_QUERIES,
        # Oxigraph reads a keyword at the start of a longer name: SERVICEa:b is SERVICE a:b.
        "PREFIX a: <http://127.0.0.1:9/> SELECT * { SERVICEa:b { ?s ?p ?o } }",
        "SELECT * FROM <http://e/g> { ?s ?p ?o }",  # dataset clauses are read in full
        # An IRI holding '#' after an operand: to a parser reading '<' as less-than, '#' starts a comment,
        # and what this lexer takes for a long string would be code (here, a SERVICE).
        'PREFIX b: <http://e/> SELECT * { ?s ?p ?a FILTER(?a <b:c#> 1) BIND("""\n) SERVICE <http://127.0.0.1:9/> {} }\n'
        '# """ AS ?z) }',
        "SELECT * { ?s ?p ?o FILTER(?o <http://e/p#q>) }",  # inside parentheses, after an operand
        "SELECT * { ?s ?p ?o FILTER(EXISTS { ?s ?p <http://e/p#q> }) }",  # still inside them: not shaped
        "SELECT ?secret { ?s ?p 1SERVICE <http://127.0.0.1:9/> { ?a ?b ?secret } }",  # glued
        "PREFIX ex: <http://e/> SELECT * { ?s ?p ex:a.b:c }",  # a local name going on past what is read here
        'SELECT * { BIND("\\u0022" AS ?q) }',  # escapes are expanded before parsing (§19.2)
        "SELECT * WHERE { ?s ?p ?o . # c \r SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } \n }",  # a bare CR
        "SELECT * { ?s ?p 'é' . ?é ?p ?o }",  # non-ASCII outside a string
        "SELECT * { ?s ?p ex:a\\.b }",  # an escape in a prefixed name
        "SELECT * { ?s ?p ex:a%20b }",  # a percent escape in a prefixed name
        "SELECT * { ?s ?p 'unterminated }",
        "SELECT * { ?s ?p ?o } " + "#" * MAX_SHAPED_CHARS,  # too long to scan in a server thread
    ],
)
def test_what_another_parser_could_read_otherwise_is_never_shaped(query: str) -> None:
    assert shape_of(query) is None


def test_an_iri_with_a_fragment_is_shaped_where_no_operator_can_stand() -> None:
    """Outside parentheses (triple patterns: no operators there), or after what cannot end an operand."""
    shaped = shape_of(
        "PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> "
        "SELECT * { ?s a <http://e/T#x> ; rdf:type ?t ; <http://e/p#q> ?o . ?o <http://e/r#s> 1 "
        "FILTER(?t = <http://e/U#y>) }"
    )
    assert shaped is not None
    assert "<http://www.w3.org/1999/02/22-rdf-syntax-ns#>" in shaped.tokens  # kept as it is: not a plain IRI
    assert {"<http://e/T#x>", "<http://e/U#y>", "<http://e/p#q>", "<http://e/r#s>"} <= set(shaped.tokens)


def test_verdicts_are_kept_for_the_most_recent_shapes() -> None:
    verdicts = Verdicts(max_shapes=2)
    one, two, three = (Shape((name,)) for name in ("1", "2", "3"))
    verdicts.put(one, Verdict("ASK", ()))
    verdicts.put(two, Verdict("ASK", ()))
    assert verdicts.get(one) is not None  # now the most recent
    verdicts.put(three, Verdict("SELECT", ("s",)))
    assert verdicts.get(two) is None and verdicts.get(one) is not None and len(verdicts) == 2


def _w3c_queries() -> list[Path]:
    """The W3C SPARQL 1.1 suite's queries (fetched by `make w3c-suite`, a step of `make test`)."""
    return sorted(W3C_QUERIES.glob("*/*.rq"))


def _vary_constants(query: str) -> str:
    """The same query with other constants of the same kinds, where the lexer would leave them out."""
    query = re.sub(r"<[A-Za-z][A-Za-z0-9+.\-]*:[^#?$<>\"{}|^`\\\x00-\x20]*>", "<http://example.org/varied>", query)
    query = re.sub(r"(?<![\w.:\"'])\d+(?![\w.:])", "7", query)
    return query


def test_every_w3c_query_of_a_known_shape_gets_the_verdict_its_own_parse_gives() -> None:
    """Soundness over the W3C suite's queries: where the varied query has the original's shape, the
    original's verdict is the one a full parse of the varied query gives (or the varied query does not
    parse, and then the engine refuses it: never a verdict that lets through what a parse refuses
    for SERVICE or an update)."""
    queries = _w3c_queries()
    assert len(queries) > 300, "the W3C suite is missing: run `make w3c-suite`"
    compared = 0
    for path in queries:
        original = path.read_text(encoding="utf-8")
        shape = shape_of(original)
        if shape is None:
            continue
        try:
            verdict = sparqltext.vet_query(original)
        except QueryRefused:
            continue  # refused: nothing would be kept for its shape
        varied = _vary_constants(original)
        if shape_of(varied) != shape:
            continue
        try:
            again = sparqltext.vet_query(varied)
        except UnparsableQuery:
            continue
        except QueryRefused as exc:  # SERVICE or an update that the original's verdict would let through
            raise AssertionError(f"{path.name}: the shape's verdict would let through {exc}") from None
        assert (again.form, again.variable_order) == (verdict.form, verdict.variable_order), path.name
        compared += 1
    assert compared > 150


@pytest.fixture(scope="module")
def checker() -> QueryChecker:
    return QueryChecker(size=1, memory_mb=512)


def test_a_query_of_a_known_shape_is_answered_without_the_checker_processes(checker: QueryChecker) -> None:
    """After one parse, the shape's verdict serves the next query even with no checker process left;
    a query of another shape still needs one (and is refused while there is none)."""
    first = checker.check(LOOKUP, timeout_s=10)
    checker.close()
    second_text = LOOKUP.replace("organisation/ceop", "person/peter-davies")
    second = checker.check(second_text, timeout_s=10)
    assert (second.form, second.query) == (first.form, second_text)
    with pytest.raises(CheckerUnavailable):
        checker.check("ASK { ?s ?p ?o }", timeout_s=2)


def test_refusals_are_never_kept_for_a_shape() -> None:
    checker = QueryChecker(size=1, memory_mb=512)
    try:
        with pytest.raises(QueryUsesService):
            checker.check("SELECT * { ?a ?b ?c SERVICE ?where { ?s ?p ?o } }", timeout_s=10)
        with pytest.raises(UnparsableQuery):
            checker.check("SELECT * { ?s ?p 1 2 }", timeout_s=10)
        assert shape_of("SELECT * { ?s ?p 3 4 }") == shape_of("SELECT * { ?s ?p 1 2 }")
        with pytest.raises(UnparsableQuery):  # the same shape as the one before: parsed again, refused again
            checker.check("SELECT * { ?s ?p 3 4 }", timeout_s=10)
    finally:
        checker.close()
