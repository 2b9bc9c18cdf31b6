"""SPARQL query text: the one place that reads it, writes terms into it, and changes it.

Three things need a query's text, and every one decides on rdflib's SPARQL 1.1 parser (its grammar,
not a lexer of ours): the vetting of endpoint queries (``vet_query``: updates, ``SERVICE`` and what
does not parse are refused on the parse tree), the query's own dataset clauses (``read_dataset_clauses``:
the graphs ``FROM``/``FROM NAMED`` name, and the text without them, which a remote store needs), and
where our own queries take their bound values (``Template``: the start of the WHERE group).

Request data is never spliced into a query. Our own queries are ``Template`` values; the values bound
into them are written by one function, ``sparql_term`` (IRIs checked, strings escaped, language tags
and variable names checked), into a ``VALUES`` block at the place the grammar says the WHERE group
starts, so no value can end the block, its term or the query early. Section numbers refer to SPARQL
1.1 Query unless another spec is named.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from urllib.parse import urljoin

from pyparsing import (
    CaselessKeyword,
    Empty,
    Group,
    Located,
    OneOrMore,
    Optional,
    ParseException,
    ParseResults,
    ZeroOrMore,
)
from pyparsing import Literal as Symbol
from rdflib import Literal, URIRef
from rdflib.plugins.sparql import parser as grammar
from rdflib.plugins.sparql.parser import parseQuery, parseUpdate
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.term import Node, Variable

from ceopgraph.querydataset import DatasetClauses, DatasetSelection
from ceopgraph.terms import XSD_STRING

Bindings = Mapping[str, Node]


class UnsafeTerm(ValueError):
    """A term or name that cannot be written into a query without changing its meaning (a programming error)."""


# Refusals: why a query is not passed on to an engine. Domain errors, with no HTTP in them: the protocol
# layer (the table in ``ceopgraph.web.errors``) gives each kind its status. The checker's processes send
# them back pickled, so they keep to a message.


class QueryRefused(Exception):
    """A query that is not passed on to any engine; the message says why, and where in the text."""


class UnparsableQuery(QueryRefused):
    """The text is not a SPARQL 1.1 query, or not one that every reader would read the same way."""


class QueryIsUpdate(QueryRefused):
    """The text is a SPARQL 1.1 Update: the service is read-only."""


class QueryUsesService(QueryRefused):
    """The query holds ``SERVICE``, which would make an engine fetch from the network."""


# Writing terms -----------------------------------------------------------------------------------

# IRIREF (§19.8): anything but these characters, between angle brackets.
_IRI_FORBIDDEN = re.compile(r'[\x00-\x20<>"{}|^`\\]')
# LANGTAG and VARNAME (§19.8), ASCII only.
_LANGTAG = re.compile(r"[a-zA-Z]+(-[a-zA-Z0-9]+)*\Z")
_VARNAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_STRING_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}


def sparql_iri(value: str) -> str:
    """``<value>``, refusing what would end the IRI early or is not allowed in one."""
    if not value or _IRI_FORBIDDEN.search(value):
        raise UnsafeTerm(f"not an IRI that can be written in SPARQL: {value!r}")
    return f"<{value}>"


def sparql_string(value: str) -> str:
    """A short string literal (STRING_LITERAL_QUOTE) with every character that could end it escaped."""
    return '"' + "".join(_STRING_ESCAPES.get(c, c) for c in value) + '"'


def sparql_term(term: Node) -> str:
    """One IRI or literal in SPARQL (and N-Triples/Turtle) syntax.

    Blank nodes are refused: in a query a blank node label is a variable, and in ``INSERT DATA`` it
    names a fresh node, so neither says "this node" (callers handle blank nodes themselves).
    """
    if isinstance(term, URIRef):
        return sparql_iri(str(term))
    if isinstance(term, Literal):
        text = sparql_string(str(term))
        if term.language:
            if not _LANGTAG.match(term.language):
                raise UnsafeTerm(f"not a language tag: {term.language!r}")
            return f"{text}@{term.language}"
        if term.datatype is not None and str(term.datatype) != XSD_STRING:
            return f"{text}^^{sparql_iri(str(term.datatype))}"
        return text
    raise UnsafeTerm(f"cannot write {term!r} into a query")


def values_block(names: Sequence[str], rows: Iterable[Sequence[Node]]) -> str:
    """``VALUES (?a ?b) { (t1 t2) … }`` (§10.2): one solution a row, each term by ``sparql_term``."""
    for name in names:
        if not _VARNAME.match(name):
            raise UnsafeTerm(f"not a variable name: {name!r}")
    written = []
    for row in rows:
        if len(row) != len(names):
            raise UnsafeTerm(f"a row of {len(row)} values for {len(names)} variables")
        written.append("(" + " ".join(sparql_term(term) for term in row) + ")")
    return f"VALUES ({' '.join('?' + name for name in names)}) {{ {' '.join(written)} }}"


# The head of a query: what comes before its WHERE group -------------------------------------------

# rdflib's own grammar elements, composed into the head of a query (§2: Prologue, the form with its
# projection or template, the dataset clauses, the WHERE keyword), each place the head has that we need
# kept with ``Located``: the dataset clauses' spans, where the head ends and where the WHERE group opens.
_FORM = (
    grammar.SelectClause
    | CaselessKeyword("CONSTRUCT") + Optional(Located(grammar.ConstructTemplate)("template"))
    | CaselessKeyword("DESCRIBE") + (OneOrMore(grammar.VarOrIri) | "*")
    | CaselessKeyword("ASK")
)
_HEAD = (
    grammar.Prologue("prologue")
    + _FORM
    + Group(ZeroOrMore(Group(Located(grammar.DatasetClause))))("datasets")
    + Located(Empty())("end")
    + Optional(CaselessKeyword("WHERE"))
    + Optional(Located(Symbol("{"))("group"))
)
_HEAD.ignore(grammar.QueryUnit.ignoreExprs[0])  # rdflib's comment rule: already on its elements, not added again


@dataclass(frozen=True)
class _Head:
    form: str  # SELECT, CONSTRUCT, DESCRIBE or ASK
    prologue: tuple[CompValue, ...]  # BASE and PREFIX declarations, in order
    datasets: tuple[tuple[int, int, CompValue], ...]  # each dataset clause: start, end, parse
    end: int  # where the head ends: its WHERE keyword, its group, or what follows it
    group: int | None  # just inside the brace that opens the WHERE group; None without one
    template: bool  # CONSTRUCT has its template (not CONSTRUCT WHERE { triples }, §16.2.4)


def _read_head(text: str) -> _Head:
    """The head of ``text`` (which must be a query), read with rdflib's grammar."""
    try:
        found = _HEAD.parse_string(text)
    except ParseException as exc:
        raise UnparsableQuery(f"the query's head does not parse: {exc.msg}") from None
    except RecursionError:
        raise UnparsableQuery("the query nests groups, brackets or operators too deeply to be parsed") from None
    group = found.get("group")
    return _Head(
        str(found[1]),  # the form's keyword, after the prologue
        tuple(found["prologue"]),
        tuple((clause[0], clause[2], clause[1][0]) for clause in found["datasets"]),
        found["end"][0],
        group[2] if group is not None else None,
        "template" in found,
    )


# Our own queries ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Template:
    """One of our own queries, and where values bound into it go: first in its WHERE group.

    There the values join the whole pattern before OPTIONAL, FILTER, BIND and aggregation see it, which
    is what binding a variable before evaluation means (a VALUES block after the query would join after
    GROUP BY and LIMIT). The place is read once per template, from the grammar, and only by a store
    that needs it: the embedded engine binds values itself and runs ``text`` as written. ``DESCRIBE``
    without a WHERE clause gets one holding only what is put first.
    """

    text: str

    def __str__(self) -> str:
        return self.text

    @cached_property
    def _head(self) -> _Head:
        try:
            return _read_head(self.text)
        except UnparsableQuery as exc:
            raise UnsafeTerm(f"not a query values can be bound into: {exc}") from None

    def bind(self, bindings: Bindings | None) -> str:
        """The query with ``bindings`` as one solution of a VALUES block first in its WHERE group."""
        if not bindings:
            return self.text
        return self.with_first(values_block(list(bindings), [list(bindings.values())]))

    def with_values(self, names: Sequence[str], rows: Iterable[Sequence[Node]]) -> str:
        """The query with a VALUES block of ``rows`` (one solution each) first in its WHERE group."""
        return self.with_first(values_block(names, rows))

    def with_first(self, pattern: str) -> str:
        """The query with ``pattern`` (SPARQL text of ours: a VALUES block, a group) first in its WHERE group."""
        head, text = self._head, self.text
        if head.form == "CONSTRUCT" and not head.template:  # CONSTRUCT WHERE { ... }: triple patterns only
            raise UnsafeTerm("bind values in the long form CONSTRUCT { ... } WHERE { ... }")
        if head.group is not None:
            return f"{text[: head.group]} {pattern} {text[head.group :]}"
        if head.form != "DESCRIBE":  # the grammar has a WHERE group in every other form
            raise UnsafeTerm("no WHERE group to bind values in")
        # Not a trailing VALUES block (§10.2.2): Virtuoso takes those after SELECT only.
        rest = text[head.end :]
        return f"{text[: head.end]}\nWHERE {{ {pattern} }}{' ' + rest if rest else ''}"


@lru_cache(maxsize=256)
def template(query: Template | str) -> Template:
    """``query`` as a ``Template``; a string of ours is read once (our queries are a few constants)."""
    return query if isinstance(query, Template) else Template(query)


# Dataset clauses --------------------------------------------------------------------------------


def read_dataset_clauses(query: str) -> DatasetClauses:
    """The graphs a query's ``FROM`` and ``FROM NAMED`` clauses name (§13.2), IRIs resolved against the
    query's BASE, and the query's text with those clauses cut out.

    A remote store needs both: it must not resolve the clauses itself (a shared store holds graphs
    that are not ours), and the protocol's dataset parameters, which we send restricted to our graphs,
    should override the query's clauses (SPARQL 1.1 Protocol §2.1.4), but Virtuoso lets the query's
    clauses win. A prefixed name whose prefix the query does not declare names no graph.
    """
    head = _read_head(query)
    base = ""
    prefixes: dict[str, str] = {}
    for declaration in head.prologue:
        if declaration.name == "Base":
            base = urljoin(base, str(declaration.iri))
        elif declaration.name == "PrefixDecl":
            prefixes[declaration.prefix or ""] = urljoin(base, str(declaration.iri))
    graphs: dict[bool, list[str]] = {False: [], True: []}  # by "is it FROM NAMED"
    for _, _, clause in head.datasets:
        named = clause.named is not None
        iri = clause.named if named else clause.default
        if isinstance(iri, URIRef):
            graphs[named].append(urljoin(base, str(iri)))
        elif isinstance(iri, CompValue) and (iri.prefix or "") in prefixes:
            graphs[named].append(prefixes[iri.prefix or ""] + (iri.localname or ""))
    without = query
    for start, end, _ in reversed(head.datasets):
        without = without[:start] + " " + without[end:]
    return DatasetClauses(DatasetSelection(tuple(graphs[False]), tuple(graphs[True])), without)


# Vetting endpoint queries --------------------------------------------------------------------------


@dataclass(frozen=True)
class QueryInfo:
    """What the checker found in a query it parsed, and the text every engine is given."""

    form: str  # SELECT, ASK, CONSTRUCT or DESCRIBE
    query: str  # the query with its codepoint escapes expanded: exactly what was checked
    # SELECT *: the query's variables in the order they first appear, the order of the answer's
    # columns (§18.2.1; engines list them in an order of their own). Empty otherwise.
    variable_order: tuple[str, ...] = ()
    # FROM or FROM NAMED in the query (§13.2): the graphs, and the query without them (a remote store's).
    dataset_clauses: DatasetClauses | None = None

    @property
    def has_dataset_clause(self) -> bool:
        return self.dataset_clauses is not None


# §19.2: \u and \U escapes are processed before the query is parsed, so "\u0053ERVICE" is the keyword
# SERVICE. Oxigraph reads them only inside strings and IRIs, and rdflib everywhere, so the checker
# expands them once and hands the engine the expanded text.
_CODEPOINT = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")
# What rdflib would still read as an escape (it expands \u or \U with four or eight digits, any case).
_ESCAPE_LEFT = re.compile(r"\\[uU][0-9A-Fa-f]{4}")
# A carriage return not followed by a line feed: the engine ends a comment there (SPARQL's EOL), rdflib
# only at a line feed, so "# c \r SERVICE <…>" would hide SERVICE from the checker alone.
_BARE_CR = re.compile(r"\r(?!\n)")
_QUERY_FORMS = {"SelectQuery": "SELECT", "AskQuery": "ASK", "ConstructQuery": "CONSTRUCT", "DescribeQuery": "DESCRIBE"}
# Beyond rdflib's grammar, only for the message: SPARQL 1.2 / RDF 1.2 triple terms.
_TRIPLE_TERMS = re.compile(r"<<|\bTRIPLE\s*\(", re.IGNORECASE)


def expand_codepoint_escapes(query: str) -> str:
    """The query with each \\uXXXX / \\UXXXXXXXX replaced by its character (§19.2), once.

    Refused when an escape names no character (a surrogate, past U+10FFFF) or when the expanded text
    still holds one (``\\u005Cu0022`` expands to ``\\u0022``): a second reading would differ from the
    first, and the checker and the engine must read the same query.
    """

    def character(match: re.Match[str]) -> str:
        code = int(match.group(1) or match.group(2), 16)
        if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            raise UnparsableQuery(f"{match.group()} at character {match.start()} is not a Unicode character")
        return chr(code)

    text = _CODEPOINT.sub(character, query)
    left = _ESCAPE_LEFT.search(text)
    if left is not None:
        raise UnparsableQuery(f"{left.group()}: an escape that is not whole, or expands to another, is not accepted")
    return text


def vet_query(query: str) -> QueryInfo:
    """Parse the query (rdflib's SPARQL 1.1 parser) and decide on the parse tree: refuse updates,
    ``SERVICE`` anywhere (sub-queries, ``EXISTS``, ``OPTIONAL``…), and whatever does not parse.

    Slow for long queries (pyparsing): run it where a time limit can stop it (``ceopgraph.queryvet``).
    """
    text = expand_codepoint_escapes(query)
    bare = _BARE_CR.search(text)
    if bare is not None:
        raise UnparsableQuery(
            f"a carriage return without a line feed at character {bare.start()}: end lines with LF or CRLF"
        )
    tree = _parsed(text)
    names = {node.name for node in walk(tree) if isinstance(node, CompValue)}
    if "ServiceGraphPattern" in names:
        raise QueryUsesService("SERVICE is not allowed: this endpoint answers from its own data and does not federate")
    top = next((node for node in walk(tree) if isinstance(node, CompValue) and node.name in _QUERY_FORMS), None)
    if top is None:  # the grammar has no other top-level form
        raise UnparsableQuery("a query is SELECT, ASK, CONSTRUCT or DESCRIBE")
    star = top.name == "SelectQuery" and "projection" not in top
    order = _variables_in_order(dict.get(top, "where")) if star else ()
    clauses = read_dataset_clauses(text) if "DatasetClause" in names else None
    return QueryInfo(_QUERY_FORMS[top.name], text, order, clauses)


def _parsed(text: str) -> ParseResults:
    """The parse tree of a query, or the ``QueryRefused`` that says why there is none."""
    try:
        return parseQuery(text)
    except ParseException as exc:
        if _parses_as_update(text):
            raise QueryIsUpdate("this endpoint is read-only: SPARQL Update is not accepted") from None
        if _TRIPLE_TERMS.search(text):
            raise UnparsableQuery(
                "RDF 1.2 triple terms (<< >>, TRIPLE()) are not supported by this endpoint: the data has none"
            ) from None
        raise UnparsableQuery(
            f"the query does not parse at line {exc.lineno}, column {exc.col}: {_short(exc.msg)}"
        ) from None
    except RecursionError:
        raise UnparsableQuery("the query nests groups, brackets or operators too deeply to be parsed") from None


def _parses_as_update(text: str) -> bool:
    """An update with at least one operation (an empty text or a bare prologue is one with none)."""
    try:
        update = parseUpdate(text)
    except (ParseException, RecursionError):
        return False
    return "request" in update


def walk(tree: object) -> Iterator[object]:
    """Every node of a parse tree (its CompValues, parse results, lists and terms) in the order they
    stand in the text: depth first, left to right, without recursion (a deep tree must not exhaust the
    stack)."""
    stack: list[object] = [tree]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, CompValue):
            stack.extend(reversed(list(dict.values(node))))
        elif isinstance(node, ParseResults | list | tuple):
            stack.extend(reversed(list(node)))


def _variables_in_order(pattern: object) -> tuple[str, ...]:
    """The variables of a parse tree in the order they first appear in the text."""
    return tuple(dict.fromkeys(str(node) for node in walk(pattern) if isinstance(node, Variable)))


def _short(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[:limit].rstrip() + "…"
