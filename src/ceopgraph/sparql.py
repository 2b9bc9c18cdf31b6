"""SPARQL 1.1 Protocol, the query side: request parsing, result formats, the notice on cut answers.

Pure functions and small values; the web layer feeds them the raw request and answers the exceptions
below (``web.errors`` gives each its status). Section numbers refer to SPARQL 1.1 Protocol (W3C
Recommendation, 2013-03-21) unless another spec is named.

The endpoint is read-only and never reaches the network: updates in any form are refused, and so is
``SERVICE`` (the embedded engine, pyoxigraph, federates it unconditionally, and so do most stores), so
every query is parsed and decided on its parse tree before any engine sees it (``ceopgraph.sparqltext``,
whose refusals ``web.errors`` answers as it answers the errors below); what the checker cannot parse is refused
(and the engine's processes cannot reach the network either: ``ceopgraph.processes.sandbox``).
``FROM``/``FROM NAMED`` and the protocol's ``default-graph-uri``/``named-graph-uri`` name graphs of the
store only; a graph it does not hold is empty.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl

import pyoxigraph as ox

from ceopgraph.conneg import RDF_FORMATS, negotiate, parse_accept

# Errors ----------------------------------------------------------------------------------------


class ProtocolError(Exception):
    """A request the endpoint refuses; the message says why."""


class MalformedRequest(ProtocolError):
    """§2.1: the request is not a well-formed query operation (HTTP 400)."""


class MalformedQuery(ProtocolError):
    """§2.1.4 "MalformedQuery": the query string is not a SPARQL query (HTTP 400)."""


class UnsupportedMediaType(ProtocolError):
    """§2.1.2/§2.1.3: a POST body that is neither a form nor ``application/sparql-query`` (HTTP 415)."""


class UpdateRefused(ProtocolError):
    """The endpoint is read-only: SPARQL 1.1 Update is refused in every form (HTTP 403)."""


class RequestTooLarge(ProtocolError):
    """Query or body above the configured limit (HTTP 413)."""


class NotAcceptable(ProtocolError):
    """No result format the client accepts (HTTP 406)."""


# Result formats, as data -------------------------------------------------------------------------


@dataclass(frozen=True)
class ResultFormat:
    """A serialisation of query results: ``kind`` is "results" (SELECT/ASK) or "graph" (CONSTRUCT/DESCRIBE)."""

    name: str  # token for ?format= and the store's execution path
    media_type: str
    kind: str
    aliases: tuple[str, ...] = ()
    boolean: bool = True  # can carry an ASK answer
    quads: bool = False


# SPARQL 1.1 Query Results JSON / XML / CSV and TSV formats (separate W3C Recommendations).
RESULTS_FORMATS: tuple[ResultFormat, ...] = (
    ResultFormat("json", "application/sparql-results+json", "results", ("application/json",)),
    ResultFormat("xml", "application/sparql-results+xml", "results", ("application/xml", "text/xml")),
    ResultFormat("csv", "text/csv", "results", boolean=False),
    ResultFormat("tsv", "text/tab-separated-values", "results", boolean=False),
)
GRAPH_FORMATS: tuple[ResultFormat, ...] = tuple(
    ResultFormat(f.name, f.media_type, "graph", f.aliases, quads=f.quads) for f in RDF_FORMATS
)
ALL_FORMATS = RESULTS_FORMATS + GRAPH_FORMATS

QUERY_FORMS = ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE")


def formats_for(form: str) -> tuple[ResultFormat, ...]:
    """The formats an answer of this query form can be written in, the default first."""
    if form == "SELECT":
        return RESULTS_FORMATS
    if form == "ASK":
        return tuple(f for f in RESULTS_FORMATS if f.boolean)
    return GRAPH_FORMATS


# Tokens other clients put in ?format= (SPARQLWrapper sends its return format name, and for a graph
# answer "xml" means RDF/XML, "json" JSON-LD and "n3" Turtle, which is N3 too).
FORMAT_TOKENS: dict[str, tuple[str, ...]] = {
    "turtle": ("ttl", "n3", "text/n3"),
    "ntriples": ("nt", "n-triples"),
    "nquads": ("nq", "n-quads"),
    "jsonld": ("json-ld", "json"),
    "rdfxml": ("rdf", "rdf+xml", "xml"),
}


def choose_format(form: str, accept: str | None, format_params: Sequence[str] = ()) -> ResultFormat:
    """§2.1 leaves the response format to content negotiation: ``format`` (a name or a media type;
    the first one that fits when several are given) overrides ``Accept``; with neither, JSON for
    results and Turtle for graphs."""
    candidates = formats_for(form)
    if format_params:
        for value in format_params:
            wanted = value.strip().lower()
            for fmt in candidates:
                if wanted in (fmt.name, fmt.media_type, *fmt.aliases, *FORMAT_TOKENS.get(fmt.name, ())):
                    return fmt
        known = ", ".join(f.name for f in candidates)
        given = ", ".join(format_params)
        raise MalformedRequest(f"format={given} does not apply to {form} results; use one of: {known}")
    offered: list[str] = [f.media_type for f in candidates]
    offered += [alias for f in candidates for alias in f.aliases if alias not in offered]
    chosen = negotiate(accept, offered, default=candidates[0].media_type)
    if chosen is None and _only_answer_formats(accept):
        return candidates[0]
    if chosen is None:
        types = ", ".join(f.media_type for f in candidates)
        raise NotAcceptable(f"{form} results are available as: {types}")
    return next(f for f in candidates if chosen == f.media_type or chosen in f.aliases)


def _only_answer_formats(accept: str | None) -> bool:
    """Whether ``accept`` names answer formats of SPARQL only, none of which fits this query's form: a client
    that sends one ``Accept`` for every query (roqet, rdflib's SPARQLStore: result-set types with a CONSTRUCT).
    It gets the form's default, as Fuseki answers; anything else unacceptable is a 406."""
    known = {media_type for f in ALL_FORMATS for media_type in (f.media_type, *f.aliases)}
    named = [r for r in parse_accept(accept) if r.q > 0]
    return bool(named) and all(f"{r.type}/{r.subtype}" in known for r in named)


# Requests --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueryRequest:
    """One query operation (§2.1), decoded and checked."""

    query: str
    default_graphs: tuple[str, ...] = ()
    named_graphs: tuple[str, ...] = ()
    formats: tuple[str, ...] = ()  # our extension: ?format= overrides Accept

    @property
    def query_hash(self) -> str:
        """A short stable id of the query text, for logs and support (never the query itself)."""
        return hashlib.sha256(self.query.encode()).hexdigest()[:12]


FORM_TYPE = "application/x-www-form-urlencoded"
QUERY_TYPE = "application/sparql-query"
UPDATE_TYPE = "application/sparql-update"
_IRI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:[^\s<>\"{}|\\^`]*")


def _media_type(content_type: str | None) -> tuple[str, dict[str, str]]:
    essence, _, rest = (content_type or "").partition(";")
    params = {}
    for part in rest.split(";"):
        key, _, value = part.partition("=")
        if key.strip():
            params[key.strip().lower()] = value.strip().strip('"').lower()
    return essence.strip().lower(), params


def _decode_pairs(raw: bytes, where: str) -> list[tuple[str, str]]:
    """``application/x-www-form-urlencoded`` pairs; §2.1.2: percent-encoded UTF-8 only."""
    try:
        return parse_qsl(raw.decode("ascii"), keep_blank_values=True, encoding="utf-8", errors="strict")
    except UnicodeDecodeError as exc:
        raise MalformedRequest(f"the {where} is not percent-encoded UTF-8") from exc


def parse_request(
    method: str,
    query_string: bytes,
    content_type: str | None,
    body: bytes,
    max_query_bytes: int,
) -> QueryRequest | None:
    """Decode a query operation from a request; None means a bare GET (no parameters: the service
    description). Raises a ``ProtocolError`` saying what is wrong otherwise."""
    if len(body) > max_query_bytes or len(query_string) > 3 * max_query_bytes:
        raise RequestTooLarge(f"the request is larger than the limit of {max_query_bytes} bytes")
    params = _decode_pairs(query_string, "query string")
    if method in ("GET", "HEAD"):  # HEAD: the GET answer without its body (RFC 9110 9.3.2)
        if not params:
            return None
        return _from_params(params, direct_query=None, max_query_bytes=max_query_bytes)
    if method != "POST":
        raise MalformedRequest(f"{method} is not a query operation; use GET or POST (§2.1)")
    essence, type_params = _media_type(content_type)
    if essence == UPDATE_TYPE:
        raise UpdateRefused("this endpoint is read-only: SPARQL Update is not accepted")
    if essence == FORM_TYPE:
        # §2.1.2 query via URL-encoded POST; dataset parameters may also come in the URL.
        return _from_params(params + _decode_pairs(body, "form body"), None, max_query_bytes)
    if essence == QUERY_TYPE:
        # §2.1.3 query via POST directly: the body is the query, UTF-8; dataset in the URL.
        charset = type_params.get("charset", "utf-8")
        if charset not in ("utf-8", "utf8"):
            raise UnsupportedMediaType(f"charset={charset} is not supported: send the query as UTF-8 (§2.1.3)")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedRequest("the query is not valid UTF-8 (§2.1.3)") from exc
        return _from_params(params, text, max_query_bytes)
    if not essence:
        raise UnsupportedMediaType(f"a POST needs a Content-Type: {FORM_TYPE} or {QUERY_TYPE} (§2.1.2, §2.1.3)")
    raise UnsupportedMediaType(f"{essence} is not accepted; send {FORM_TYPE} or {QUERY_TYPE} (§2.1.2, §2.1.3)")


def _from_params(params: Sequence[tuple[str, str]], direct_query: str | None, max_query_bytes: int) -> QueryRequest:
    values: dict[str, list[str]] = {}
    for key, value in params:
        values.setdefault(key, []).append(value)
    if "update" in values or "using-graph-uri" in values or "using-named-graph-uri" in values:
        raise UpdateRefused("this endpoint is read-only: SPARQL Update is not accepted")
    queries = values.get("query", [])
    if direct_query is not None:
        if queries:
            raise MalformedRequest("a query in the body and a query= parameter: send exactly one query (§2.1.3)")
        queries = [direct_query]
    if len(queries) != 1:
        raise MalformedRequest(
            "exactly one query is required (query= parameter or body)" if not queries else "more than one query= given"
        )
    query = queries[0]
    if not query.strip():
        raise MalformedQuery("the query is empty")
    if len(query.encode()) > max_query_bytes:
        raise RequestTooLarge(f"the query is larger than the limit of {max_query_bytes} bytes")
    return QueryRequest(
        query,
        tuple(_graph_iri(v) for v in values.get("default-graph-uri", [])),
        tuple(_graph_iri(v) for v in values.get("named-graph-uri", [])),
        tuple(values.get("format", [])),
    )


def _graph_iri(value: str) -> str:
    """§2.1.4: dataset parameters are IRIs; they name graphs of the store, never fetched. Checked here
    by the engine's own IRI parser too, so that the query process is never handed one it refuses."""
    try:
        if _IRI.fullmatch(value):
            ox.NamedNode(value)
            return value
    except ValueError:
        pass
    raise MalformedRequest(f"{value!r} is not an absolute IRI (default-graph-uri / named-graph-uri)")


# Answers cut at the row limit ------------------------------------------------------------------


def truncation_notice(max_rows: int) -> str:
    """What a cut answer says where a person reads it (a comment in the body, the editor)."""
    return (
        f"Truncated: this answer holds the first {max_rows} results only, the endpoint's row limit; "
        "use LIMIT and OFFSET to page through the rest"
    )


def with_truncation_notice(body: bytes, fmt: ResultFormat, max_rows: int, about: str) -> bytes:
    """``body`` cut at ``max_rows``, saying so inside itself where the format has room for it: a comment
    in Turtle, TriG, N-Triples, N-Quads and both XML formats, and ``head.link`` (SPARQL 1.1 JSON
    Results §3.1, a link to metadata) to ``about`` in JSON results. CSV, TSV and JSON-LD have no place
    for it and carry the ``X-SPARQL-MaxRows`` header alone, as every format does.
    """
    notice = truncation_notice(max_rows)
    if fmt.name in ("turtle", "trig", "ntriples", "nquads"):
        return f"# {notice}\n".encode() + body
    if fmt.name in ("xml", "rdfxml"):
        declaration_end = body.find(b"?>") + 2 if body.startswith(b"<?xml") else 0
        return body[:declaration_end] + f"\n<!-- {notice} -->\n".encode() + body[declaration_end:].lstrip(b"\n")
    if fmt.name == "json" and body.startswith(_JSON_HEAD + b'"'):
        # Written into the engine's own text, never parsed: a cut answer can still be large (many
        # columns), and the server's process has no memory cap. The engine's writer starts a SELECT's
        # answer with a head that has members ("vars" at least), so the link goes first among them.
        return _JSON_HEAD + b'"link":' + json.dumps([about]).encode() + b"," + body[len(_JSON_HEAD) :]
    return body


_JSON_HEAD = b'{"head":{'
