"""Reading and writing RDF bytes: the one place that parses untrusted RDF.

Writing goes through Oxigraph's serialisers, fed with quads in sorted order: rdflib's serialisers walk
hash-ordered sets, so their output changes between runs, while a sorted feed makes every dump
byte-identical for the same data.

Reading untrusted bytes also goes through Oxigraph's parsers, which never touch the network or the
disk and report syntax errors with a line and column. What they would still do is closed before they
run (see the project's security notes): RDF/XML with a document type declaration is refused (internal
entities would expand: "billion laughs"), JSON-LD that names a remote context or an import is refused
(it would be fetched), JSON nested deeper than ``MAX_JSON_DEPTH`` is refused (Python's JSON reader
recurses, Oxigraph's JSON-LD parser slows quadratically with depth and then crashes the process),
and every input has a size limit, files read from pipes and devices included. ``owl:imports`` is
data, never followed.

Every scan of untrusted bytes here takes time linear in what it reads: plain byte searches, or
patterns whose possessive quantifiers (``*+``, ``++``) never backtrack; format guessing, which runs
in the web server's own process, reads a bounded prefix.
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from xml.parsers import expat

import pyoxigraph as ox
from rdflib import BNode, Dataset, Graph, URIRef
from rdflib.graph import DATASET_DEFAULT_GRAPH_ID
from rdflib.term import Node

from ceopgraph.conneg import FORMATS_BY_EXTENSION, FORMATS_BY_NAME, RdfFormat
from ceopgraph.terms import read_solutions, to_rdflib

# Extra file extensions people use for the allow-listed formats (conneg's table has one each).
EXTRA_EXTENSIONS = {"xml": "rdfxml", "owl": "rdfxml", "json": "jsonld"}

# The XML declaration (XML 1.0 section 2.8) comes first (after a byte order mark at most): it is
# looked for in this prefix, and its encoding up to its end, however far that is.
_XML_DECLARATION_BYTES = 200
_XML_ENCODING = re.compile(rb"""encoding\s*+=\s*+["']([^"'\s>]*+)""")
# How deep JSON may nest: real JSON-LD uses a handful of levels (the published dump, 6); Python's JSON
# reader fails near 1,000 and Oxigraph's parser crashes the process at a few thousand.
MAX_JSON_DEPTH = 256
# How much of pasted or unnamed bytes the format guess reads.
GUESS_BYTES = 64 * 1024


class UnreadableRdf(Exception):
    """The input cannot be read as RDF: unknown format, too large, hostile or syntactically wrong.

    ``message`` names the source (and the line and column where the parser gives them) so that a
    person can find the problem; callers show it as it is (exit 2 on the command line, 4xx on HTTP).
    """

    def __init__(self, message: str, source: str, line: int | None = None, column: int | None = None):
        super().__init__(message)
        self.message = message
        self.source = source
        self.line = line
        self.column = column


def light_graph() -> Graph:
    """An empty rdflib graph for triples our code builds and reads: rdflib's context-free store (2.5x cheaper
    to fill than its default, which keeps the graph of every triple) and no prefixes bound (rdflib's defaults
    cost ~40 bind calls per graph; our writers bind our own). It iterates each subject's triples together,
    in the order subjects, predicates and objects were first added."""
    return Graph(store="SimpleMemory", bind_namespaces="none")


def format_for_name(name: str) -> RdfFormat:
    """An allow-listed format from its short name (``turtle``), file extension or media type."""
    key = name.strip().lower().lstrip(".")
    fmt = (
        FORMATS_BY_NAME.get(key)
        or FORMATS_BY_EXTENSION.get(key)
        or FORMATS_BY_NAME.get(EXTRA_EXTENSIONS.get(key, ""))
        or next((f for f in FORMATS_BY_NAME.values() if key in (f.media_type, *f.aliases)), None)
    )
    if fmt is None:
        allowed = ", ".join(FORMATS_BY_NAME)
        raise UnreadableRdf(f"{name}: not a supported RDF format (supported: {allowed})", name)
    return fmt


def format_for_path(path: Path) -> RdfFormat:
    """The format a file's extension names; refused (not guessed from the content) when unknown."""
    try:
        return format_for_name(path.suffix)
    except UnreadableRdf as exc:
        raise UnreadableRdf(
            f"{path}: cannot tell the RDF format from the extension {path.suffix!r} "
            f"(use one of {', '.join(sorted({*FORMATS_BY_EXTENSION, *EXTRA_EXTENSIONS}))}, "
            "or name the format)",
            str(path),
        ) from exc


# Content sniffing for people who paste text: an XML start tag or declaration (not an IRI such as
# <http://…>, whose colon is followed by "/"), a TriG graph block, an N-Quads line (four terms).
# Possessive quantifiers and line-bound matches keep each search linear: a line start's attempt
# never backtracks and never runs past its own line (TriG's brace may follow on a later line, but
# only one term reaches each run of whitespace). "\s*" at a line start crossing newlines made the
# former patterns quadratic over runs of blank lines.
_LOOKS_XML = re.compile(rb"\s*+(?:<\?xml|<!|<[A-Za-z_][\w.-]*+:[A-Za-z_][\w.-]*+[\s>/])")
_LOOKS_TRIG = re.compile(
    rb"^[ \t]*+(?:GRAPH\s++)?+(?:<[^>\s]*+>|[A-Za-z][\w.-]*+:[\w.-]*+|_:[^\s{]++)\s*+\{", re.MULTILINE | re.IGNORECASE
)
_IRI = r"<[^>\s]*+>"
_BLANK = r"_:[^\s.]++(?:\.++[^\s.]++)*+"  # N-Quads: a label may hold dots but not end with one
_LITERAL = r'"(?:[^"\\\r\n]++|\\.)*+"\S*+'
_NODE = f"(?:{_IRI}|{_BLANK})"
_LOOKS_NQUADS = re.compile(
    rf"^[ \t]*+{_NODE}[ \t]++{_IRI}[ \t]++(?:{_NODE}|{_LITERAL})[ \t]++{_NODE}[ \t]*+\.[ \t\r]*+$".encode(),
    re.MULTILINE,
)


def guess_format(data: bytes) -> RdfFormat:
    """The format pasted or unnamed bytes are most likely in, from their first ``GUESS_BYTES``.

    Only a guess, never a security decision: whatever is guessed, the same refusals apply. It runs
    in the web server's own process, so it reads a bounded prefix in linear time. JSON starts with
    ``{`` or ``[``, RDF/XML with an XML declaration or a prefixed start tag; TriG (a superset of
    Turtle) when a graph block appears, N-Quads when a line has four terms; else Turtle, which also
    reads N-Triples (and reports a graph block past the prefix as a syntax error, with its line).
    """
    prefix = data[:GUESS_BYTES]
    head = prefix.lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"{") or (head.startswith(b"[") and head[1:].lstrip()[:1] in (b"{", b"]", b'"')):
        return FORMATS_BY_NAME["jsonld"]
    if _LOOKS_XML.match(head):
        return FORMATS_BY_NAME["rdfxml"]
    if _LOOKS_TRIG.search(prefix):
        return FORMATS_BY_NAME["trig"]
    if _LOOKS_NQUADS.search(prefix):
        return FORMATS_BY_NAME["nquads"]
    return FORMATS_BY_NAME["turtle"]


def parse_rdf(data: bytes, fmt: RdfFormat, source: str, max_bytes: int, base_uri: str | None = None) -> Graph:
    """Parse untrusted bytes into one graph: a dataset becomes the union of its graphs.

    Nothing is fetched or read besides ``data``; relative IRIs resolve against ``base_uri``.
    """
    graph = Graph()
    for _, triple in _parsed(data, fmt, source, max_bytes, base_uri):
        graph.add(triple)
    return graph


class ExpandsTooFar(Exception):
    """Bytes whose quads, written out in full as N-Quads, pass a limit (``parse_dataset``'s ``max_expanded``):
    compact syntax (prefixes, lists, ``;`` and ``,``) lets a few kilobytes name megabytes of IRIs."""

    def __init__(self, source: str, expanded: int, limit: int) -> None:
        super().__init__(f"{source}: its quads take at least {expanded:,} bytes as N-Quads, more than {limit:,}")
        self.source = source
        self.expanded = expanded
        self.limit = limit


def statements_of_answer(data: bytes) -> Graph:
    """The statements of a SPARQL JSON answer of ours with columns ``s``, ``p``, ``o`` (a query process's
    answer), blank nodes keeping the store's labels: the stable labels the dumps were written with
    (``ceopgraph.bnodes``), so that every process reads the same nodes. Only for answers of our own queries."""
    graph = light_graph()
    _, solutions = read_solutions(ox.parse_query_results(data, format=ox.QueryResultsFormat.JSON))
    for row in solutions:
        graph.add((to_rdflib(row["s"]), to_rdflib(row["p"]), to_rdflib(row["o"])))
    return graph


def parse_dataset(
    data: bytes,
    fmt: RdfFormat,
    source: str,
    max_bytes: int,
    base_uri: str,
    default_graph: URIRef,
    max_expanded: int | None = None,
) -> Dataset:
    """Parse untrusted bytes into a dataset, keeping the named graphs of the quad formats; triples of the
    default graph (and of the triple formats) go into ``default_graph``. The refusals of ``parse_rdf``, and
    a graph named ``<urn:x-rdflib:default>``: rdflib's name for a dataset's default graph, so its triples
    would silently join the default graph rather than be a graph of their own. With ``max_expanded``, the
    parse stops (``ExpandsTooFar``) as soon as the quads read so far pass that many bytes as N-Quads, before
    they are all held in memory: 4 MiB of Turtle over a 2,000-character prefix is gigabytes of terms."""
    dataset = Dataset()
    for graph_name, triple in _parsed(data, fmt, source, max_bytes, base_uri, max_expanded):
        if graph_name == DATASET_DEFAULT_GRAPH_ID:
            raise UnreadableRdf(
                f"{source}: graph <{DATASET_DEFAULT_GRAPH_ID}> is the name rdflib gives the default graph, not "
                "accepted as a graph name; put these triples in the default graph or in a named graph",
                source,
            )
        dataset.graph(default_graph if graph_name is None else graph_name).add(triple)
    return dataset


def _parsed(
    data: bytes, fmt: RdfFormat, source: str, max_bytes: int, base_uri: str | None, max_expanded: int | None = None
) -> Iterator[tuple[URIRef | None, tuple[Node, Node, Node]]]:
    """The quads of untrusted bytes as rdflib terms, after the refusals: (graph name or None, triple); past
    ``max_expanded`` bytes of quads as N-Quads, ``ExpandsTooFar`` (counted while parsing, one quad at a time)."""
    if len(data) > max_bytes:
        raise UnreadableRdf(f"{source}: {len(data):,} bytes is more than the limit of {max_bytes:,} bytes", source)
    if fmt.name == "rdfxml":
        _refuse_xml_declarations(data, source)
        _require_well_formed_xml(data, source)
    elif fmt.name == "jsonld":
        _refuse_deep_json(data, source)  # first: what follows (and Oxigraph) recurses with depth
        _refuse_remote_contexts(data, source)
    quads: list[ox.Quad] = []
    expanded = 0
    try:
        for quad in ox.parse(data, format=getattr(ox.RdfFormat, fmt.oxigraph_name), base_iri=base_uri):
            quads.append(quad)
            if max_expanded is not None:
                expanded += len(str(quad)) + 3  # the line's " .\n"
                if expanded > max_expanded:
                    raise ExpandsTooFar(source, expanded, max_expanded)
    except SyntaxError as exc:
        line, column = exc.lineno, exc.offset
        if line is None and fmt.name == "rdfxml":
            line, column = _xml_error_position(data)
        where = f"line {line}, column {column}" if line else "somewhere"
        raise UnreadableRdf(f"{source}: {fmt.name} syntax error at {where}: {exc.msg}", source, line, column) from exc
    except ValueError as exc:  # e.g. an invalid base IRI
        raise UnreadableRdf(f"{source}: {exc}", source) from exc
    blank_nodes: dict[str, BNode] = {}  # the parser keeps labels; fresh nodes keep files apart

    def fresh(label: str) -> BNode:
        return blank_nodes.setdefault(label, BNode())

    for quad in quads:
        triple = []
        for term in (quad.subject, quad.predicate, quad.object):
            try:
                triple.append(to_rdflib(term, fresh))
            except TypeError as exc:
                message = f"unsupported RDF term {term!r} (RDF 1.2 triple terms are not accepted)"
                raise UnreadableRdf(message, source) from exc
        graph_name = URIRef(quad.graph_name.value) if isinstance(quad.graph_name, ox.NamedNode) else None
        if graph_name is None and not isinstance(quad.graph_name, ox.DefaultGraph):
            raise UnreadableRdf(f"{source}: a graph named by a blank node is not accepted; name it with an IRI", source)
        yield graph_name, (triple[0], triple[1], triple[2])


def read_files(
    paths: Sequence[Path], max_bytes: int, base_uri: str | None = None, fmt: RdfFormat | None = None
) -> Graph:
    """Read and merge the named files (and only them), each in ``fmt`` or the format of its extension.

    The size limit applies to each file, pipes and devices included; blank nodes of different files
    stay distinct.
    """
    merged = Graph()
    for path in paths:
        file_format = fmt or format_for_path(path)
        merged += parse_rdf(read_bounded(path, max_bytes), file_format, str(path), max_bytes, base_uri)
    return merged


def read_bounded(path: Path, max_bytes: int) -> bytes:
    """The bytes of ``path``, refused past ``max_bytes`` without reading (much) more.

    A regular file's size is checked before reading; a pipe, a device (``/dev/zero``, ``/dev/stdin``)
    or anything else whose size is unknown is read up to one byte past the limit, never to its end.
    """
    try:
        with path.open("rb") as stream:
            status = os.fstat(stream.fileno())
            if stat.S_ISREG(status.st_mode) and status.st_size > max_bytes:
                message = f"{path}: {status.st_size:,} bytes is more than the limit of {max_bytes:,} bytes"
                raise UnreadableRdf(message, str(path))
            data = stream.read(max_bytes + 1)
    except OSError as exc:
        raise UnreadableRdf(f"{path}: cannot read the file ({exc.strerror})", str(path)) from exc
    if len(data) > max_bytes:
        raise UnreadableRdf(f"{path}: more than the limit of {max_bytes:,} bytes (reading stopped there)", str(path))
    return data


def _refuse_xml_declarations(data: bytes, source: str) -> None:
    """Refuse DTDs (entity expansion, external entities) and encodings the byte check cannot see into."""
    declared = _declared_encoding(data)
    # A NUL byte: UTF-16 or UTF-32 without a byte order mark (XML 1.0 allows no U+0000 in UTF-8).
    if (
        data.startswith((b"\xff\xfe", b"\xfe\xff"))
        or b"\0" in data
        or (declared is not None and declared.lower() not in (b"utf-8", b"utf8", b"us-ascii"))
    ):
        raise UnreadableRdf(f"{source}: RDF/XML must be encoded in UTF-8", source)
    declaration = _markup_declaration(data)
    if declaration is not None:
        line = data.count(b"\n", 0, declaration) + 1
        raise UnreadableRdf(
            f"{source}: line {line}: RDF/XML with a document type or entity declaration (<!DOCTYPE, "
            "<!ENTITY) is refused: entities could expand without bound or read files and URLs",
            source,
            line,
        )


def _declared_encoding(data: bytes) -> bytes | None:
    """The encoding the XML declaration names (the value, possibly empty), or None.

    Read to the declaration's end (its first ">"), so padding cannot push the encoding out of sight.
    """
    start = data.find(b"<?xml", 0, _XML_DECLARATION_BYTES)
    if start < 0:
        return None
    end = data.find(b">", start)
    found = _XML_ENCODING.search(data, start, end if end >= 0 else len(data))
    return found.group(1) if found else None


def _markup_declaration(data: bytes) -> int | None:
    """Where the first markup declaration starts, or None.

    XML 1.0 sections 2.8 (document type declaration), 2.7 (CDATA) and 2.5 (comments): any "<!" that
    opens neither a comment nor a CDATA section declares markup (DOCTYPE, ENTITY, ELEMENT, ATTLIST).
    One pass of byte searches over the whole document.
    """
    at = data.find(b"<!")
    while at >= 0:
        if not data.startswith((b"<!--", b"<![CDATA["), at):
            return at
        at = data.find(b"<!", at + 2)
    return None


def _require_well_formed_xml(data: bytes, source: str) -> None:
    """Refuse XML that is not well-formed, such as a document cut off before its end tags.

    Oxigraph's RDF/XML parser reads a truncated document as an empty graph, which would then
    "conform"; expat sees the missing end tags.
    """
    line, column = _xml_error_position(data)
    if line is not None:
        raise UnreadableRdf(
            f"{source}: rdfxml syntax error at line {line}, column {column}: the XML is not well-formed",
            source,
            line,
            column,
        )


def _xml_error_position(data: bytes) -> tuple[int | None, int | None]:
    """Where an XML document stops being well-formed (Oxigraph does not say for RDF/XML).

    Only called after ``_refuse_xml_declarations``: with no DTD, expat expands and fetches nothing.
    """
    parser = expat.ParserCreate()
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        return exc.lineno, exc.offset + 1
    return None, None


def _refuse_remote_contexts(data: bytes, source: str) -> None:
    """JSON-LD 1.1 section 4.1: a string ``@context`` (or an ``@import``) is a document to fetch; refuse it."""
    try:
        document = json.loads(data)
    except ValueError as exc:
        line = getattr(exc, "lineno", None)
        column = getattr(exc, "colno", None)
        where = f" at line {line}, column {column}" if line else ""
        raise UnreadableRdf(f"{source}: not valid JSON{where}: {exc}", source, line, column) from exc
    for key, value in _members(document):
        if key == "@import" or (key == "@context" and _names_a_document(value)):
            raise UnreadableRdf(
                f"{source}: JSON-LD with a remote context ({key}: {json.dumps(value)[:80]}) is refused: "
                "contexts are never fetched; put the context inline",
                source,
            )


# A JSON string (an unterminated one runs to the end) or a bracket. Possessive: never backtracks, so
# each match is found in time linear in its length.
_JSON_TOKEN = re.compile(rb'"(?:[^"\\]++|\\.?)*+"?|[\[\]{}]', re.DOTALL)
_OPENING = frozenset(b"[{")
_CLOSING = frozenset(b"]}")


def _refuse_deep_json(data: bytes, source: str) -> None:
    """Refuse JSON nested deeper than ``MAX_JSON_DEPTH``, before anything recursive reads it.

    One pass with a counter: strings are skipped whole (brackets inside them do not count), brackets
    outside them move the depth. It agrees with any JSON reader on every prefix that reader accepts,
    so nothing it lets through nests deeper; malformed JSON is left to the reader to report.
    """
    if data.count(b"[") + data.count(b"{") <= MAX_JSON_DEPTH:
        return  # fewer brackets than the limit cannot nest past it
    depth = 0
    for token in _JSON_TOKEN.finditer(data):
        first = data[token.start()]
        if first in _OPENING:
            depth += 1
            if depth > MAX_JSON_DEPTH:
                at = token.start()
                line, column = data.count(b"\n", 0, at) + 1, at - data.rfind(b"\n", 0, at)
                raise UnreadableRdf(
                    f"{source}: the JSON nests deeper than {MAX_JSON_DEPTH} levels (line {line}, column {column}); "
                    "JSON-LD needs far fewer: flatten the document",
                    source,
                    line,
                    column,
                )
        elif first in _CLOSING:
            depth -= 1


def _names_a_document(context: object) -> bool:
    """Whether a ``@context`` value is, or lists (at any depth), a string: a document to fetch."""
    pending = [context]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            return True
        if isinstance(item, list):
            pending.extend(item)
    return False


def _members(value: object) -> Iterable[tuple[str, object]]:
    """Every (key, value) pair of every object in a JSON document, iteratively (no recursion limit)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, member in item.items():
                yield key, member
                stack.append(member)
        elif isinstance(item, list):
            stack.extend(item)


def _oxigraph_quads(data: Graph) -> list[ox.Quad]:
    if not data.context_aware:  # a plain Graph (a validation report, an example): rdflib writes no N-Quads for it
        ntriples = data.serialize(format="nt", encoding="utf-8")
        return list(ox.parse(ntriples, format=ox.RdfFormat.N_TRIPLES))
    nquads = data.serialize(format="nquads", encoding="utf-8")
    return list(ox.parse(nquads, format=ox.RdfFormat.N_QUADS))


def _sort_key(term: object) -> tuple[str, str]:
    return (type(term).__name__, str(term))


def serialise(data: Graph, fmt: RdfFormat, prefixes: dict[str, str] | None = None) -> bytes:
    """Serialise a graph, or a dataset (its named graphs kept where the format carries them)."""
    return serialise_each(data, (fmt,), prefixes)[fmt.name]


def serialise_each(
    data: Graph, formats: Iterable[RdfFormat], prefixes: dict[str, str] | None = None
) -> dict[str, bytes]:
    """``serialise`` in each of ``formats`` (by format name), the bytes each would give: the data handed to
    the engine once, and its quads and its triples each sorted once, however many formats are asked for (six
    dumps of a release were six copies through N-Quads text and six sorts)."""
    quads = _oxigraph_quads(data)
    in_order: list[ox.Quad] | None = None
    triples: list[ox.Triple] | None = None
    made = {}
    for fmt in formats:
        target = getattr(ox.RdfFormat, fmt.oxigraph_name)
        usable_prefixes = prefixes if fmt.name in ("turtle", "trig", "rdfxml", "jsonld") else None
        if fmt.quads and isinstance(data, Dataset):
            if in_order is None:
                in_order = sorted(
                    quads,
                    key=lambda q: (
                        _sort_key(q.graph_name),
                        _sort_key(q.subject),
                        str(q.predicate),
                        _sort_key(q.object),
                    ),
                )
            made[fmt.name] = _bytes(ox.serialize(in_order, format=target, prefixes=usable_prefixes))
            continue
        if triples is None:
            triples = sorted(
                {ox.Triple(q.subject, q.predicate, q.object) for q in quads},
                key=lambda t: (_sort_key(t.subject), str(t.predicate), _sort_key(t.object)),
            )
        made[fmt.name] = _bytes(ox.serialize(triples, format=target, prefixes=usable_prefixes))
    return made


def _bytes(data: bytes | None) -> bytes:
    """``ox.serialize`` returns bytes when given no output file, as it is here."""
    assert data is not None
    return data
