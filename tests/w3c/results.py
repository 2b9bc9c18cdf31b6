"""Expected and actual answers read by rdflib's parsers (never the engine's), and compared.

A SELECT answer is a multiset of solutions (an ordered list when the query has a top-level ``ORDER BY``),
equal to another when a one-to-one renaming of blank nodes maps one onto the other; an ASK answer is a
boolean; a CONSTRUCT or DESCRIBE answer a graph, compared by isomorphism. Terms are compared as RDF 1.1
terms: exact lexical forms (rdflib's literal normalisation is turned off while parsing, so "01" and "1"
differ as they do in RDF), ``xsd:string`` the same as a simple literal, language tags in any case.
"""

from __future__ import annotations

import io
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import rdflib
from rdflib import BNode, Graph, Literal
from rdflib.compare import isomorphic
from rdflib.namespace import XSD
from rdflib.query import Result
from rdflib.term import Node

# What each file extension of the suite holds, and the media type the endpoint is asked for it in.
RESULTS_FORMATS = {  # extension: (rdflib results format, media type)
    ".srx": ("xml", "application/sparql-results+xml"),
    ".srj": ("json", "application/sparql-results+json"),
    ".csv": ("csv", "text/csv"),
    ".tsv": ("tsv", "text/tab-separated-values"),
}
GRAPH_FORMATS = {  # extension: rdflib parser
    ".ttl": "turtle",
    ".nt": "nt",
    ".rdf": "xml",
}
GRAPH_MEDIA_TYPE = "text/turtle"


class ResultMismatch(AssertionError):
    """The endpoint's answer differs from the suite's expected result."""


Term = tuple[str, ...]  # a term as compared: ("iri", text), ("literal", lexical, datatype, language), ("bnode", id)
Row = dict[str, Term]


@dataclass(frozen=True)
class Table:
    """A SELECT answer: its variables and its solutions (unbound variables are absent from a row)."""

    variables: frozenset[str]
    rows: tuple[Row, ...]


Answer = Table | bool | Graph


@contextmanager
def literals_as_written() -> Iterator[None]:
    """Parse without rdflib's literal normalisation (it rewrites "01"^^xsd:integer as "1")."""
    previous = rdflib.NORMALIZE_LITERALS
    rdflib.NORMALIZE_LITERALS = False
    try:
        yield
    finally:
        rdflib.NORMALIZE_LITERALS = previous


def term(node: Node) -> Term:
    if isinstance(node, BNode):
        return ("bnode", str(node))
    if isinstance(node, Literal):
        datatype = "" if node.datatype in (None, XSD.string) else str(node.datatype)
        return ("literal", str(node), datatype, (node.language or "").lower())
    return ("iri", str(node))


def parse_results(data: bytes, fmt: str) -> Table | bool:
    """A SPARQL results document (``fmt``: xml, json, csv or tsv)."""
    with literals_as_written():
        result = Result.parse(io.BytesIO(data), format=fmt)
    if result.type == "ASK":
        return bool(result.askAnswer)
    variables = frozenset(str(v) for v in result.vars or [])
    rows = tuple(
        {str(var): term(value) for var, value in binding.items() if value is not None} for binding in result.bindings
    )
    return Table(variables, rows)


def parse_graph(data: bytes, fmt: str, base: str) -> Graph:
    """An RDF document, with literals as written and ``xsd:string`` made simple (RDF 1.1: the same term)."""
    with literals_as_written():
        parsed = Graph().parse(data=data, format=fmt, publicID=base)
    graph = Graph()
    for triple in parsed:
        graph.add(tuple(_simple(node) for node in triple))  # type: ignore[arg-type]
    return graph


def _simple(node: Node) -> Node:
    if isinstance(node, Literal) and node.datatype == XSD.string:
        return Literal(str(node))
    if isinstance(node, Literal) and node.language:
        return Literal(str(node), lang=node.language.lower())
    return node


def expected_answer(path: Path) -> Answer:
    """The suite's result file, by its extension."""
    if path.suffix in RESULTS_FORMATS:
        return parse_results(path.read_bytes(), RESULTS_FORMATS[path.suffix][0])
    return parse_graph(path.read_bytes(), GRAPH_FORMATS[path.suffix], path.resolve().as_uri())


# Comparison ---------------------------------------------------------------------------------------


def check(expected: Answer, actual: Answer, ordered: bool) -> None:
    """Raise ``ResultMismatch`` saying how ``actual`` differs from ``expected``."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        if expected is not actual:
            raise ResultMismatch(f"expected {expected!r}, the endpoint answered {actual!r}")
        return
    if isinstance(expected, Graph) or isinstance(actual, Graph):
        if not (isinstance(expected, Graph) and isinstance(actual, Graph) and isomorphic(expected, actual)):
            raise ResultMismatch(_graph_diff(expected, actual))
        return
    # The answer's head names every variable the expected one does (agg-empty-group's expected head omits a
    # projected variable that is never bound, so an equal head cannot be asked for).
    if not expected.variables <= actual.variables:
        raise ResultMismatch(f"variables: expected {sorted(expected.variables)}, got {sorted(actual.variables)}")
    matched = _match_ordered(expected.rows, actual.rows) if ordered else _match_unordered(expected.rows, actual.rows)
    if not matched:
        raise ResultMismatch(_table_diff(expected.rows, actual.rows, ordered))


def _unify(expected: Row, actual: Row, mapping: dict[str, str], used: set[str]) -> dict[str, str] | None:
    """``mapping`` (expected blank node -> actual) extended so that ``expected`` becomes ``actual``; None
    when no one-to-one extension does."""
    if expected.keys() != actual.keys():
        return None
    extended = mapping
    taken = used
    for name, want in expected.items():
        got = actual[name]
        if want[0] == "bnode" and got[0] == "bnode":
            image = extended.get(want[1])
            if image is None:
                if got[1] in taken:
                    return None
                extended, taken = {**extended, want[1]: got[1]}, taken | {got[1]}
            elif image != got[1]:
                return None
        elif want != got:
            return None
    return extended


def _match_ordered(expected: Sequence[Row], actual: Sequence[Row]) -> bool:
    if len(expected) != len(actual):
        return False
    mapping: dict[str, str] | None = {}
    used: set[str] = set()
    for want, got in zip(expected, actual, strict=True):
        assert mapping is not None
        mapping = _unify(want, got, mapping, used)
        if mapping is None:
            return False
        used = set(mapping.values())
    return True


def _skeleton(row: Row) -> tuple[tuple[str, Term], ...]:
    """The row with every blank node alike: rows that can match share it."""
    return tuple(sorted((name, ("bnode",) if value[0] == "bnode" else value) for name, value in row.items()))


def _match_unordered(expected: Sequence[Row], actual: Sequence[Row]) -> bool:
    if len(expected) != len(actual) or Counter(map(_skeleton, expected)) != Counter(map(_skeleton, actual)):
        return False
    with_bnodes = [row for row in expected if any(v[0] == "bnode" for v in row.values())]
    if not with_bnodes:
        return True  # no blank nodes: equal skeletons are equal rows
    candidates: dict[tuple[tuple[str, Term], ...], list[Row]] = defaultdict(list)
    for row in actual:
        if any(v[0] == "bnode" for v in row.values()):
            candidates[_skeleton(row)].append(row)
    return _search(with_bnodes, candidates, {}, set())


def _search(
    rows: list[Row], candidates: dict[tuple[tuple[str, Term], ...], list[Row]], mapping: dict[str, str], used: set[str]
) -> bool:
    """Backtracking over the actual rows each expected row may be (same skeleton), one blank node mapping."""
    if not rows:
        return True
    first, rest = rows[0], rows[1:]
    pool = candidates[_skeleton(first)]
    for index, candidate in enumerate(pool):
        extended = _unify(first, candidate, mapping, used)
        if extended is None:
            continue
        del pool[index]
        try:
            if _search(rest, candidates, extended, set(extended.values())):
                return True
        finally:
            pool.insert(index, candidate)
    return False


def _show_term(value: Term) -> str:
    if value[0] == "bnode":
        return "_:"  # every blank node alike: a renaming is not a difference
    if value[0] == "iri":
        return f"<{value[1]}>"
    lexical, datatype, language = value[1:]
    return f'"{lexical}"' + (f"@{language}" if language else f"^^<{datatype}>" if datatype else "")


def _show(row: Row) -> str:
    return "{" + ", ".join(f"?{name}={_show_term(value)}" for name, value in sorted(row.items())) + "}"


def _table_diff(expected: Sequence[Row], actual: Sequence[Row], ordered: bool) -> str:
    want, got = Counter(map(_show, expected)), Counter(map(_show, actual))
    missing = list((want - got).elements())[:10]
    extra = list((got - want).elements())[:10]
    lines = [f"{len(expected)} solutions expected, {len(actual)} answered" + (" (in order)" if ordered else "")]
    lines += ["  missing: " + row for row in missing]
    lines += ["  unexpected: " + row for row in extra]
    if not missing and not extra:
        lines.append(
            "  the same solutions with blank nodes ignored, but "
            + ("in another order or " if ordered else "")
            + "with blank nodes no one-to-one renaming maps onto the expected ones"
        )
    return "\n".join(lines)


def _graph_diff(expected: Answer, actual: Answer) -> str:
    if not (isinstance(expected, Graph) and isinstance(actual, Graph)):
        return f"expected {type(expected).__name__}, the endpoint answered {type(actual).__name__}"
    ground = [t for t in expected if not any(isinstance(n, BNode) for n in t)]
    missing = [t for t in ground if t not in actual][:10]
    ground_actual = [t for t in actual if not any(isinstance(n, BNode) for n in t)]
    extra = [t for t in ground_actual if t not in expected][:10]
    lines = [f"graphs differ: {len(expected)} triples expected, {len(actual)} answered"]
    lines += ["  missing: " + " ".join(n.n3() for n in t) for t in missing]
    lines += ["  unexpected: " + " ".join(n.n3() for n in t) for t in extra]
    return "\n".join(lines)
