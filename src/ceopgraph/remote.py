"""The remote backend: the ``Store`` protocol over any SPARQL 1.1 store, through SPARQLWrapper.

Only this module and ``publish.py`` import SPARQLWrapper. Nothing here assumes the store's default
graph is the union of its named graphs (Oxigraph needs ``--union-default-graph`` for that, Fuseki
``unionDefaultGraph``; Virtuoso's default graph is every graph it holds, system graphs included): every
query names its dataset explicitly with the protocol's ``default-graph-uri`` and ``named-graph-uri``
(SPARQL 1.1 Protocol §2.1.4), listing our named graphs only, so the default graph is their merge and
``GRAPH ?g`` sees nothing else, whatever else the store holds.

SPARQLWrapper has no bindings, so values are bound in a ``VALUES`` block (SPARQL 1.1 Query §10.2)
placed at the start of the query's WHERE group, each term written by ``sparql_term`` after checking
it cannot end early (an IRI with ``>`` in it, a language tag with a space); request text is never
spliced into a query.

Failures become the store's domain exceptions: unreachable or refusing connections are
``StoreUnavailable`` (503), a store that answers but not with an answer is ``StoreBadGateway`` (502),
a store that takes longer than the timeout is ``QueryTimeout`` (503). Nothing is kept between requests
but a short cache of the graph list, so the front end recovers by itself when the store comes back.
"""

from __future__ import annotations

import ast
import hashlib
import http.client
import itertools
import json
import math
import re
import threading
import time
import urllib.error
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

import pyoxigraph as ox
from rdflib import BNode, Dataset, Graph, Literal, URIRef
from rdflib.term import Node
from SPARQLWrapper import BASIC, DIGEST, JSON, POST, TURTLE, URLENCODED, SPARQLWrapper
from SPARQLWrapper.SPARQLExceptions import QueryBadFormed, SPARQLWrapperException

from ceopgraph import rdfio
from ceopgraph.config import Settings
from ceopgraph.conneg import FORMATS_BY_NAME, rdf_format_for_media_type
from ceopgraph.namespaces import LocalNamespaces
from ceopgraph.store import (
    Bindings,
    QueryAnswer,
    QueryJob,
    QuerySyntaxError,
    QueryTimeout,
    Row,
    StoreError,
    StoreUnavailable,
    ordered_variables,
)
from ceopgraph.terms import XSD_STRING, literal

USER_AGENT = "ceopgraph (+https://w3id.org/ceopgraph/)"
# Answers to our own queries are small (a page, a graph); anything bigger is a misbehaving store.
MAX_ANSWER_BYTES = 64 * 1024 * 1024
# Result formats (``ceopgraph.sparql`` names) that answers fetched as SPARQL JSON are converted to; pyoxigraph
# is used here as a results-format converter only, never as an engine.
_RESULTS_FORMATS = {
    "json": ox.QueryResultsFormat.JSON,
    "xml": ox.QueryResultsFormat.XML,
    "csv": ox.QueryResultsFormat.CSV,
    "tsv": ox.QueryResultsFormat.TSV,
}


class StoreBadGateway(StoreUnavailable):
    """The store answered, but not with an answer: an HTTP error, a refused query, unreadable results (502)."""


class UnsafeTerm(ValueError):
    """A term that cannot be written into a query without changing its meaning (a programming error)."""


# Writing terms -----------------------------------------------------------------------------------

# IRIREF (SPARQL 1.1 Query §19.8): anything but these characters, between angle brackets.
_IRI_FORBIDDEN = re.compile(r'[\x00-\x20<>"{}|^`\\]')
# LANGTAG (§19.8).
_LANGTAG = re.compile(r"[a-zA-Z]+(-[a-zA-Z0-9]+)*\Z")
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


def values_block(bindings: Bindings) -> str:
    """``VALUES (?a ?b) { (t1 t2) }``: one solution binding each variable to its term."""
    names = []
    for name in bindings:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise UnsafeTerm(f"not a variable name: {name!r}")
        names.append("?" + name)
    terms = [sparql_term(value) for value in bindings.values()]
    return f"VALUES ({' '.join(names)}) {{ ({' '.join(terms)}) }}"


# Where the bindings go ------------------------------------------------------------------------------

# Just enough of the SPARQL grammar (§19.8) to find braces that are syntax: strings, IRIs and comments
# are skipped whole, so a brace or the word WHERE inside them is never taken for one.
_TOKEN = re.compile(
    r"""
      (?P<string>\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"|'''(?:[^'\\]|\\.|'(?!''))*'''
                 |"(?:[^"\\\n\r]|\\.)*"|'(?:[^'\\\n\r]|\\.)*')
    | (?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
    | (?P<comment>\#[^\n\r]*)
    | (?P<var>[?$][A-Za-z0-9_]+)
    | (?P<pname>(?:[A-Za-z_][A-Za-z0-9_\-.]*)?:[A-Za-z0-9_\-.:%]*)
    | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<space>\s+)
    | (?P<open>\{) | (?P<close>\}) | (?P<lparen>\() | (?P<rparen>\))
    | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)
_FORMS = {"SELECT", "CONSTRUCT", "ASK", "DESCRIBE"}


def bind(query: str, bindings: Bindings | None) -> str:
    """The query with ``bindings`` in a VALUES block at the start of its WHERE group.

    There the values join the whole pattern before OPTIONAL, FILTER, BIND and aggregation see it, which
    is what binding a variable before evaluation means for our own queries (a VALUES block after the
    query would join after GROUP BY and multiply counts). ``DESCRIBE`` without a WHERE clause gets one
    holding only the VALUES block.
    """
    if not bindings:
        return query
    block = values_block(bindings)
    form: str | None = None
    braces = parens = groups = 0
    seen_where = False
    for match in _TOKEN.finditer(query):
        kind = match.lastgroup
        if kind == "word":
            word = match.group().upper()
            if braces == 0 and form is None and word in _FORMS:
                form = word
            elif braces == 0 and parens == 0 and word == "WHERE":
                seen_where = True
        elif kind == "lparen":
            parens += 1
        elif kind == "rparen":
            parens -= 1
        elif kind == "close":
            braces -= 1
        elif kind == "open":
            if braces == 0 and parens == 0:
                if form == "CONSTRUCT" and seen_where and groups == 0:
                    # CONSTRUCT WHERE { ... } allows triple patterns only (§16.2.4).
                    raise UnsafeTerm("bind values in the long form CONSTRUCT { ... } WHERE { ... }")
                if seen_where or form in {"SELECT", "ASK", "DESCRIBE"}:
                    at = match.end()
                    return f"{query[:at]} {block} {query[at:]}"
                groups += 1
            braces += 1
    if form == "DESCRIBE":
        # Not a trailing VALUES block (§10.2.2): Virtuoso takes those after SELECT only.
        return f"{query}\nWHERE {{ {block} }}"
    raise UnsafeTerm("no WHERE group to bind values in")


def dataset_clauses(query: str) -> tuple[list[str], list[str]]:
    """The graphs a query's ``FROM`` and ``FROM NAMED`` clauses name (§13.2), IRIs resolved.

    Needed because the remote store must not resolve them itself: a shared store holds graphs that are
    not ours, and the protocol's dataset parameters (which we send, restricted to our graphs) override
    the query's own clauses (SPARQL 1.1 Protocol §2.1.4).
    """
    prefixes: dict[str, str] = {}
    base = ""
    default: list[str] = []
    named: list[str] = []
    tokens = [m for m in _TOKEN.finditer(query) if m.lastgroup not in {"space", "comment"}]
    for i, match in enumerate(tokens):
        kind, text = match.lastgroup, match.group()
        if kind == "open":
            break
        following = [t.group() for t in tokens[i + 1 : i + 4]]
        upper = text.upper() if kind == "word" else ""
        if upper == "PREFIX" and len(following) >= 2 and following[1].startswith("<"):
            prefixes[following[0][:-1]] = urljoin(base, following[1][1:-1])
        elif upper == "BASE" and following and following[0].startswith("<"):
            base = urljoin(base, following[0][1:-1])
        elif upper == "FROM" and following:
            target = named if following[0].upper() == "NAMED" else default
            term = following[1] if following[0].upper() == "NAMED" and len(following) > 1 else following[0]
            if term.startswith("<"):
                target.append(urljoin(base, term[1:-1]))
            elif ":" in term and term.split(":", 1)[0] in prefixes:
                head, local = term.split(":", 1)
                target.append(prefixes[head] + local)
    return default, named


def without_dataset_clauses(query: str) -> str:
    """The query minus its ``FROM``/``FROM NAMED`` clauses, which ``dataset_clauses`` has read.

    The protocol's dataset parameters should override them (SPARQL 1.1 Protocol §2.1.4), but Virtuoso
    lets the query's clauses win; removing them leaves only the dataset we send, restricted to our graphs.
    """
    tokens = [m for m in _TOKEN.finditer(query) if m.lastgroup not in {"space", "comment"}]
    cuts: list[tuple[int, int]] = []
    for i, match in enumerate(tokens):
        if match.lastgroup == "open":
            break
        if match.lastgroup == "word" and match.group().upper() == "FROM" and i + 1 < len(tokens):
            last = i + 2 if tokens[i + 1].group().upper() == "NAMED" else i + 1
            if last < len(tokens):
                cuts.append((match.start(), tokens[last].end()))
    for start, end in reversed(cuts):
        query = query[:start] + " " + query[end:]
    return query


# Reading answers --------------------------------------------------------------------------------


def term_from_json(value: Mapping[str, str]) -> Node:
    """One RDF term of SPARQL 1.1 Query Results JSON (§3.2.2), as the embedded store gives it.

    ``typed-literal`` is the 2008 draft's form, still sent by Virtuoso. ``xsd:string`` becomes a plain
    literal, as in RDF 1.1 and the embedded backend.
    """
    kind = value.get("type")
    text = value.get("value", "")
    if kind == "uri":
        return URIRef(text)
    if kind == "bnode":
        return BNode(text)
    if kind in {"literal", "typed-literal"}:
        return literal(text, value.get("xml:lang"), value.get("datatype"))
    raise ValueError(f"not an RDF term in SPARQL JSON results: {value!r}")


# The store ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Credentials:
    """For stores that want them on reads too (writes: see ``publish``); digest is what Virtuoso asks."""

    user: str
    password: str
    scheme: str = "digest"  # or "basic"
    realm: str = "SPARQL"  # the realm Virtuoso's digest challenge names


def configure(wrapper: SPARQLWrapper, credentials: Credentials | None, timeout_s: float) -> None:
    """What every request we send has in common: POST (no URL length limit), only content negotiation
    (SPARQLWrapper otherwise adds ``format``/``output`` parameters some stores misread), a timeout."""
    wrapper.setMethod(POST)
    wrapper.setRequestMethod(URLENCODED)
    wrapper.setOnlyConneg(True)
    # SPARQLWrapper takes whole seconds and treats 0 as "no timeout".
    wrapper.setTimeout(max(1, math.ceil(timeout_s)))
    if credentials is not None:
        wrapper.setHTTPAuth(DIGEST if credentials.scheme == "digest" else BASIC)
        wrapper.setCredentials(credentials.user, credentials.password, realm=credentials.realm)


def failure(exc: BaseException, what: str) -> StoreError | None:
    """The domain exception for a failed request, or None for a bug (which must surface as one).

    Messages say what happened, never where the store is: its address is the deployment's business.
    """
    if isinstance(exc, StoreError):
        return exc
    if isinstance(exc, TimeoutError) or (
        isinstance(exc, urllib.error.URLError) and isinstance(exc.reason, TimeoutError)
    ):
        return QueryTimeout(f"the SPARQL store did not answer {what} in time; try again shortly")
    if isinstance(exc, urllib.error.HTTPError):
        if exc.code == 503:
            return StoreUnavailable(f"the SPARQL store is unavailable (it answered {what} with 503); try again shortly")
        return StoreBadGateway(f"the SPARQL store answered {what} with HTTP {exc.code}")
    if isinstance(exc, SPARQLWrapperException):
        return StoreBadGateway(f"the SPARQL store refused {what}: {store_message(exc)}")
    if isinstance(exc, urllib.error.URLError | http.client.HTTPException | OSError):
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        return StoreUnavailable(f"the SPARQL store cannot be reached ({reason}); try again shortly")
    if isinstance(exc, ValueError | rdfio.UnreadableRdf):
        return StoreBadGateway(f"the SPARQL store's answer to {what} is unreadable: {exc}")
    return None


def store_message(exc: SPARQLWrapperException) -> str:
    """The first line of what the store said (Virtuoso's goes on to echo the rewritten query)."""
    text = str(exc)
    if "Response:\n" in text:  # SPARQLWrapper appends the body's repr
        try:
            body = ast.literal_eval(text.split("Response:\n", 1)[1].strip())
            text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
        except (ValueError, SyntaxError):
            pass
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return (lines[0] if lines else "no reason given")[:300]


def raise_failure(exc: BaseException, what: str) -> None:
    """Raise the domain exception for ``exc`` from it, or ``exc`` itself when it is a bug."""
    mapped = failure(exc, what)
    if mapped is None:
        raise exc
    raise mapped from exc


class RemoteStore:
    """The ``Store`` protocol over a SPARQL 1.1 query endpoint.

    ``graph_prefix`` names which of the store's graphs are ours: a shared store (and every Virtuoso)
    holds others, which the front end must neither show nor count.
    """

    # How long the graph list and version are trusted; while they are, the endpoint may still serve
    # answers it has cached for that version, even if the store has just gone away.
    DEFAULT_CACHE_S = 2.0

    def __init__(
        self,
        endpoint: str,
        graph_prefix: str,
        timeout_s: float = 10.0,
        cache_s: float | None = None,
        credentials: Credentials | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.graph_prefix = graph_prefix
        self.timeout_s = timeout_s
        self.cache_s = self.DEFAULT_CACHE_S if cache_s is None else cache_s
        self.credentials = credentials
        self._lock = threading.Lock()
        self._counts: dict[URIRef, int] | None = None
        self._counts_until = 0.0

    @classmethod
    def from_settings(cls, settings: Settings, endpoint: str | None = None) -> RemoteStore:
        url = endpoint or settings.endpoint
        if not url:
            raise ValueError("no SPARQL endpoint configured (--endpoint or CEOPGRAPH_ENDPOINT)")
        prefix = str(LocalNamespaces(settings.base_uri).graph)
        return cls(url, prefix, timeout_s=settings.query_timeout_s)

    # Requests -------------------------------------------------------------------------------------

    def _wrapper(self, query: str, return_format: str, dataset: Sequence[URIRef] | None) -> SPARQLWrapper:
        wrapper = SPARQLWrapper(self.endpoint, agent=USER_AGENT)
        configure(wrapper, self.credentials, self.timeout_s)
        wrapper.setReturnFormat(return_format)
        wrapper.setQuery(query)
        if dataset is not None:
            # §2.1.4: these replace any dataset the store would use by default. An empty list would mean
            # "the store's default", so a graph nobody has stands in for "no graphs at all".
            for graph in dataset or [URIRef(self.graph_prefix + "none")]:
                wrapper.addDefaultGraph(str(graph))
                wrapper.addNamedGraph(str(graph))
        return wrapper

    def _fetch(self, query: str, return_format: str, what: str, ours: bool = True) -> tuple[bytes, str]:
        """The answer's bytes and media type; ``ours`` selects our graphs as the dataset."""
        dataset = self.graphs() if ours else None
        try:
            answer = self._wrapper(query, return_format, dataset).query()
            body = answer.response.read(MAX_ANSWER_BYTES + 1)
            media_type = answer.response.headers.get("Content-Type", "")
        except Exception as exc:  # mapped to the domain exceptions, or re-raised (see failure())
            raise_failure(exc, what)
            raise
        if len(body) > MAX_ANSWER_BYTES:
            raise StoreBadGateway(f"the SPARQL store's answer to {what} is larger than {MAX_ANSWER_BYTES:,} bytes")
        return body, media_type

    def _json(self, query: str, what: str, ours: bool = True) -> dict[str, Any]:
        body, _ = self._fetch(query, JSON, what, ours)
        try:
            answer = json.loads(body)
        except ValueError as exc:
            raise StoreBadGateway(f"the SPARQL store's answer to {what} is not JSON: {exc}") from exc
        if not isinstance(answer, dict):
            raise StoreBadGateway(f"the SPARQL store's answer to {what} is not SPARQL JSON results")
        return answer

    # Graphs and version --------------------------------------------------------------------------------

    def counts(self, fresh: bool = False) -> dict[URIRef, int]:
        """Triples per named graph of ours, from one aggregate query, cached for ``cache_s`` seconds.

        The query names no dataset, so ``GRAPH ?g`` ranges over every named graph the store holds,
        which is the one thing every store agrees on (none needs a union default graph for it).
        """
        with self._lock:
            if not fresh and self._counts is not None and time.monotonic() < self._counts_until:
                return dict(self._counts)
        query = (
            "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } "
            f"FILTER(STRSTARTS(STR(?g), {sparql_string(self.graph_prefix)})) }} GROUP BY ?g"
        )
        answer = self._json(query, "the graph count query", ours=False)
        try:
            counts = {
                URIRef(row["g"]["value"]): int(row["n"]["value"])
                for row in answer["results"]["bindings"]
                if row.get("g", {}).get("type") == "uri"
            }
        except (KeyError, TypeError, ValueError) as exc:
            raise StoreBadGateway(f"the SPARQL store's answer to the graph count query is unexpected: {exc}") from exc
        with self._lock:
            self._counts, self._counts_until = counts, time.monotonic() + self.cache_s
        return dict(counts)

    @property
    def version(self) -> str:
        """A hash of the per-graph counts: changes when a publish changes any graph's size.

        A republish that changes a value but no count keeps the version for good; that is the price of
        not reading the whole store to compute it (see the README's remote store notes).
        """
        listing = "\n".join(f"{graph} {count}" for graph, count in sorted(self.counts().items()))
        return "r" + hashlib.sha256(listing.encode()).hexdigest()[:19]

    def graphs(self) -> list[URIRef]:
        return sorted(self.counts())

    def default_graph_holds(self, triples: Sequence[tuple[Node, Node, Node]]) -> bool:
        """Whether the store's own default graph (no dataset named) has every one of these triples.

        Given one triple of each named graph, that is a cheap test of "the default graph is the union of
        the named graphs" (Oxigraph without ``--union-default-graph`` has an empty default graph).
        """
        wanted = set(triples)
        if not wanted:
            return True
        rows = " ".join("(" + " ".join(sparql_term(t) for t in triple) + ")" for triple in sorted(wanted))
        query = f"SELECT DISTINCT ?s ?p ?o WHERE {{ VALUES (?s ?p ?o) {{ {rows} }} ?s ?p ?o }}"
        answer = self._json(query, "the default graph check", ours=False)
        try:
            found = {
                tuple(term_from_json(row[name]) for name in ("s", "p", "o")) for row in answer["results"]["bindings"]
            }
        except (KeyError, TypeError, ValueError) as exc:
            raise StoreBadGateway(f"the SPARQL store's answer to the default graph check is unexpected: {exc}") from exc
        return wanted <= found

    # Our own queries -------------------------------------------------------------------------------------

    def select(self, query: str, bindings: Bindings | None = None) -> list[Row]:
        answer = self._json(bind(query, bindings), "a SELECT query")
        try:
            return [
                {name: term_from_json(value) for name, value in row.items()} for row in answer["results"]["bindings"]
            ]
        except (KeyError, TypeError, ValueError) as exc:
            raise StoreBadGateway(f"the SPARQL store's answer to a SELECT query is unexpected: {exc}") from exc

    def ask(self, query: str, bindings: Bindings | None = None) -> bool:
        answer = self._json(bind(query, bindings), "an ASK query")
        if not isinstance(answer.get("boolean"), bool):
            raise StoreBadGateway("the SPARQL store's answer to an ASK query has no boolean")
        return bool(answer["boolean"])

    def construct(self, query: str, bindings: Bindings | None = None) -> Graph:
        what = "a CONSTRUCT query"
        body, media_type = self._fetch(bind(query, bindings), TURTLE, what)
        fmt = rdf_format_for_media_type(media_type) or FORMATS_BY_NAME["turtle"]
        try:
            return rdfio.parse_rdf(body, fmt, "the SPARQL store's answer", MAX_ANSWER_BYTES)
        except rdfio.UnreadableRdf as exc:
            raise StoreBadGateway(f"the SPARQL store's answer to {what} is unreadable: {exc}") from exc

    def graph_triples(self, graph: URIRef) -> Graph:
        return self.construct("CONSTRUCT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } }", {"g": graph})

    # The endpoint's execution path -----------------------------------------------------------------

    def execute(self, job: QueryJob) -> QueryAnswer:
        """Forward a vetted endpoint query; answer in ``job.result_format``, at most ``job.max_rows``.

        The dataset is always explicit and always ours: the protocol's selection, else the query's own
        ``FROM`` clauses, else every graph of ours as the default graph (the union, whatever the store's
        configuration); graphs that are not ours become an empty graph. Results are fetched as SPARQL
        JSON and graphs as Turtle, which every store writes, then capped and written here in the format
        asked for, so the answer does not depend on which formats the store offers.
        """
        ours = [str(g) for g in self.graphs()]
        if job.dataset.default_graphs or job.dataset.named_graphs:
            default, named = list(job.dataset.default_graphs), list(job.dataset.named_graphs)
        elif job.query_has_dataset:
            default, named = dataset_clauses(job.query)
        else:
            default, named = ours, ours
        nothing = self.graph_prefix + "none"
        keep = set(ours)
        selection = (
            [g for g in default if g in keep] or [nothing],
            [g for g in named if g in keep] or [nothing],
        )
        what = "the query"
        graph_form = job.form in {"CONSTRUCT", "DESCRIBE"}
        wrapper = SPARQLWrapper(self.endpoint, agent=USER_AGENT)
        configure(wrapper, self.credentials, job.timeout_s)
        wrapper.setReturnFormat(TURTLE if graph_form else JSON)
        wrapper.setQuery(without_dataset_clauses(job.query) if job.query_has_dataset else job.query)
        for graph in selection[0]:
            wrapper.addDefaultGraph(graph)
        for graph in selection[1]:
            wrapper.addNamedGraph(graph)
        try:
            answer = wrapper.query()
            body = answer.response.read(MAX_ANSWER_BYTES + 1)
            media_type = answer.response.headers.get("Content-Type", "")
        except QueryBadFormed as exc:
            raise QuerySyntaxError(f"the query was refused: {store_message(exc)}") from exc
        except Exception as exc:  # mapped to the domain exceptions, or re-raised (see failure())
            raise_failure(exc, what)
            raise
        if len(body) > MAX_ANSWER_BYTES:
            raise StoreBadGateway(f"the SPARQL store's answer is larger than {MAX_ANSWER_BYTES:,} bytes")
        if graph_form:
            return _graph_answer(body, media_type, job)
        return _results_answer(body, job)

    def __repr__(self) -> str:
        return f"RemoteStore({self.endpoint!r}, graphs under {self.graph_prefix!r})"


def _results_answer(body: bytes, job: QueryJob) -> QueryAnswer:
    """SPARQL JSON results from the store, capped at ``job.max_rows`` and written as the job asks."""
    try:
        results = json.loads(body)
        rows = results["results"]["bindings"] if "boolean" not in results else None
    except (ValueError, KeyError, TypeError) as exc:
        raise StoreBadGateway(f"the SPARQL store's answer is not SPARQL JSON results: {exc}") from exc
    truncated = rows is not None and len(rows) > job.max_rows
    if rows is not None and isinstance(results.get("head", {}).get("vars"), list):
        results["head"]["vars"] = ordered_variables(results["head"]["vars"], job.variable_order)
    if rows is not None:
        results["results"]["bindings"] = rows = rows[: job.max_rows]
        for row in rows:
            for value in row.values():
                if value.get("type") == "typed-literal":  # the 2008 draft's form (Virtuoso): §3.2.2's is "literal"
                    value["type"] = "literal"
    capped = json.dumps(results, ensure_ascii=False).encode("utf-8")
    if job.result_format == "json":
        return QueryAnswer(capped, truncated)
    try:
        parsed = ox.parse_query_results(capped, format=ox.QueryResultsFormat.JSON)
        written = parsed.serialize(format=_RESULTS_FORMATS[job.result_format])
    except (SyntaxError, ValueError) as exc:
        raise StoreBadGateway(f"the SPARQL store's results cannot be converted: {exc}") from exc
    return QueryAnswer(written or b"", truncated)


def _graph_answer(body: bytes, media_type: str, job: QueryJob) -> QueryAnswer:
    """An RDF answer from the store, capped at ``job.max_rows`` triples and written as the job asks."""
    fmt = rdf_format_for_media_type(media_type) or FORMATS_BY_NAME["turtle"]
    try:
        graph = rdfio.parse_rdf(body, fmt, "the SPARQL store's answer", MAX_ANSWER_BYTES)
    except rdfio.UnreadableRdf as exc:
        raise StoreBadGateway(f"the SPARQL store's answer is unreadable: {exc}") from exc
    truncated = len(graph) > job.max_rows
    # rdfio.serialise wants a Dataset; the answer's triples go in its default graph.
    capped = Dataset()
    for triple in itertools.islice(sorted(graph), job.max_rows) if truncated else graph:
        capped.add(triple)
    return QueryAnswer(rdfio.serialise(capped, FORMATS_BY_NAME[job.result_format], dict(job.prefixes)), truncated)
