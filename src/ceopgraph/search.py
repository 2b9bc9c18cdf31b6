"""Full-text search over a release: what is indexed, how text is folded and split, and how a query is built.

Oxigraph has no full-text index, so the registry's database keeps one (SQLite FTS5, PostgreSQL's
tsvector): this module decides everything both backends must agree on, as pure functions.

- **Documents**: one per resource that has words worth finding (labels, alternative labels,
  descriptions, definitions, a quotation's or a claim's text, the news item's text); a resource that
  cites the news item (``prov:wasDerivedFrom``/``prov:wasQuotedFrom`` a segment with an
  ``oa:TextPositionSelector``) also carries the exact words it cites, so a search for words of the article
  finds the figure that came from them. A segment no resource cites is a document of its own, and the
  news item keeps only the words no segment covers, so its words lead to what explains them.
- **Folding**: NFKD, combining marks dropped, case folded (``fold``), the same function on the indexed
  text and on the query, in Python, so the two backends fold alike whatever extensions their database has.
- **The query**: the user's text is never a query language. It is cut to ``MAX_QUERY_CHARS``, folded and
  split into words (runs of letters and digits, one linear scan), at most ``MAX_WORDS``; the MATCH or the
  tsquery is built from those words only (``fts5_match``; PostgreSQL binds each word as a parameter), so an
  operator the user typed is at most a word to look for.
- **Ranking**: an exact label first, then a label that starts with the query, then the engine's
  relevance (bm25 in FTS5, ``ts_rank_cd`` in PostgreSQL: porter stemming in both), ties by IRI.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef

from ceopgraph.labels import PAGE_LABEL_PROPERTIES, local_name

MAX_QUERY_CHARS = 200  # a longer query is refused (400), never cut silently
MAX_WORDS = 10
MAX_PAGE = 1000  # a page past it is refused: deep paging costs the database, and nobody reads page 1,001
PAGE_SIZE = 20
SNIPPET_CHARS = 160  # the text around the first match shown with a result
DOC_IDS = 1_000_000_000  # a release's documents are numbered n * DOC_IDS + i (a billion per release)
MAX_BODY_CHARS = 100_000  # of one document's text; the news item is ~5,000

_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_RDFS = "http://www.w3.org/2000/01/rdf-schema#"
_SKOS = "http://www.w3.org/2004/02/skos/core#"
_DCT = "http://purl.org/dc/terms/"
_SCHEMA = "http://schema.org/"
_PROV = "http://www.w3.org/ns/prov#"
_OA = "http://www.w3.org/ns/oa#"

RDF_TYPE = _RDF + "type"
LABELS: tuple[str, ...] = tuple(str(p) for p in PAGE_LABEL_PROPERTIES)  # labels.py's order, shown as the title
ALT_LABELS: tuple[str, ...] = (_SKOS + "altLabel", _SKOS + "hiddenLabel")
DESCRIPTIONS: tuple[str, ...] = (
    _DCT + "description",
    _RDFS + "comment",
    _SKOS + "definition",
    _SKOS + "scopeNote",
    _SCHEMA + "description",
    _SCHEMA + "text",  # a quotation's and a claim's words, and the news item's whole text
)
CITES: tuple[str, ...] = (_PROV + "wasDerivedFrom", _PROV + "wasQuotedFrom")
HAS_SOURCE = _OA + "hasSource"
HAS_SELECTOR = _OA + "hasSelector"
START = _OA + "start"
END = _OA + "end"
_WANTED = frozenset((*LABELS, *ALT_LABELS, *DESCRIPTIONS, *CITES, RDF_TYPE, HAS_SOURCE, HAS_SELECTOR, START, END))

_ENGLISH = ("en", "en-gb")
# A word: a run of letters and digits (``_`` is a word character to ``re`` but punctuation to us). One
# character class repeated, so the scan is linear whatever the text.
_WORD = re.compile(r"[^\W_]+")
# Marks around a match in a snippet, from Unicode's private use area: removed from the text before it is
# marked, so a document cannot forge one; replaced by <mark> once the text is escaped.
_OPEN, _CLOSE = "\ue000", "\ue001"
_SUFFIXES = ("ing", "es", "ed", "ly", "s")  # cut from a query word to highlight its inflections (display only)


class BadSearch(ValueError):
    """A search the service will not run (too long, too many words, a page that is not one): a 400 that says why."""


# Folding and words ------------------------------------------------------------------------------------


def fold(text: str) -> str:
    """``text`` compared as people search it: compatibility forms (NFKD), accents dropped, case folded.
    ``Bücher`` → ``bucher``, ``ﬁle`` → ``file``. Linear in the text."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def words(text: str) -> list[str]:
    """The folded words of ``text``, in order: what is searched for, never the text itself."""
    return _WORD.findall(fold(text))


@dataclass(frozen=True)
class SearchQuery:
    """A query as the index runs it: its words, an optional type to keep, a page (from 1)."""

    text: str
    words: tuple[str, ...]
    type: str | None = None
    page: int = 1

    @property
    def key(self) -> str:
        """The folded query as a whole, compared with a document's folded label for an exact match."""
        return " ".join(self.words)

    @property
    def offset(self) -> int:
        return (self.page - 1) * PAGE_SIZE


def parse_query(text: str | None, type_: str | None = None, page: str | None = None) -> SearchQuery:
    """The query of a request's parameters, or ``BadSearch`` saying what is wrong. An empty or
    word-less text is a query with no words (no results, no error): a search box submitted empty."""
    text = text or ""
    if len(text) > MAX_QUERY_CHARS:
        raise BadSearch(f"the search text is {len(text)} characters long; at most {MAX_QUERY_CHARS} are searched")
    found = words(text)
    if len(found) > MAX_WORDS:
        raise BadSearch(f"the search has {len(found)} words; at most {MAX_WORDS} are searched")
    number = 1
    if page not in (None, ""):
        assert page is not None
        if not (page.isascii() and page.isdigit()) or len(page) > 6 or not 1 <= int(page) <= MAX_PAGE:
            raise BadSearch(f"page must be a whole number from 1 to {MAX_PAGE}")
        number = int(page)
    if type_ is not None and (len(type_) > 2000 or not type_.isprintable()):
        raise BadSearch("type must be the IRI of a class")
    return SearchQuery(text, tuple(found), type_ or None, number)


def fts5_match(query: SearchQuery) -> str:
    """The FTS5 MATCH expression of ``query``: each word a quoted string (``"`` doubled, though words hold
    none), all of them required; the last as a prefix (``"stre"*``), as the user may still be typing.
    No operator, column filter or parenthesis the user typed reaches FTS5: only the words between them."""
    quoted = ['"' + w.replace('"', '""') + '"' for w in query.words]
    if quoted:
        quoted[-1] += "*"
    return " AND ".join(quoted)


def tsquery_words(query: SearchQuery) -> list[str]:
    r"""The words PostgreSQL binds, one parameter each: every word through ``plainto_tsquery('english', …)``
    (stemmed), the last also as ``word:*`` through ``to_tsquery('simple', …)`` (a prefix). Each is a run
    of letters and digits (``words``), which holds none of tsquery's operators (``& | ! <-> : * ( ) '``
    and spaces are all outside ``[^\W_]``); checked again here, so a change to ``words`` cannot open one."""
    for w in query.words:
        if not _WORD.fullmatch(w):
            raise BadSearch("a search word must be letters and digits")
    return list(query.words)


# Documents --------------------------------------------------------------------------------------------

# A literal as extracted: its text and language tag ("" for none).
Text = tuple[str, str]
# An object as the extractor sees it: an IRI or blank node (str, blank nodes as ``_:label``) or a literal.
Object = str | Text


@dataclass(frozen=True)
class Document:
    """One resource as the index holds it: ``names`` (labels, alternative labels) weigh more than
    ``body`` (descriptions, text, the words of the article it cites)."""

    iri: str
    label: str
    types: tuple[str, ...]
    names: str
    body: str

    @property
    def label_key(self) -> str:
        return " ".join(words(self.label))

    @property
    def folded_names(self) -> str:
        """The names as indexed, with the IRI's last segment as words (``…/event/ceop-joins-nca``: "ceop
        joins nca"), which people type too; not shown in snippets."""
        return fold(self.names) + " \n" + " ".join(words(local_name(self.iri)))

    @property
    def folded_body(self) -> str:
        return fold(self.body)


@dataclass
class _Collected:
    labels: dict[str, dict[str, list[Text]]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(list)))
    alts: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    descriptions: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    types: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    cites: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    source: dict[str, str] = field(default_factory=dict)
    selectors: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    start: dict[str, int] = field(default_factory=dict)
    end: dict[str, int] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)  # schema:text of each resource (the article's)


def documents(triples: Iterable[tuple[str, str, Object]]) -> list[Document]:
    """The documents of a release's triples (subject, predicate, object; one pass, keeping only the
    predicates indexed), sorted by IRI so two builds of one release index the same rows."""
    seen = _Collected()
    for s, p, o in triples:
        if p not in _WANTED:
            continue
        if isinstance(o, tuple):
            text, lang = o
            if p in LABELS:
                seen.labels[s][p].append((_clean(text), lang))
            elif p in ALT_LABELS:
                seen.alts[s].append(_clean(text))
            elif p == _SCHEMA + "text":
                seen.texts[s] = text
                seen.descriptions.setdefault(s, [])
            elif p in DESCRIPTIONS:
                seen.descriptions[s].append(_clean(text))
            elif p in (START, END) and text.isascii() and text.isdigit() and len(text) < 10:
                (seen.start if p == START else seen.end)[s] = int(text)
        elif p == RDF_TYPE:
            seen.types[s].add(o)
        elif p in CITES:
            seen.cites[s].add(o)
        elif p == HAS_SOURCE:
            seen.source[s] = o
        elif p == HAS_SELECTOR:
            seen.selectors[s].add(o)
    spans = _segment_spans(seen)
    quoted = {segment: _clean(seen.texts[source][start:end]) for segment, (source, start, end) in spans.items()}
    # A text segments were cut from keeps only the words no segment covers: a search for words a segment
    # covers finds the figure or quotation citing them (or the segment), which is where they are explained.
    own = _uncovered(seen.texts, spans)
    cited: set[str] = set()
    found: list[Document] = []
    subjects = set(seen.labels) | set(seen.alts) | set(seen.descriptions)
    for s in subjects | {c for r in subjects for c in seen.cites.get(r, ()) if c in quoted}:
        if s.startswith("_:"):
            continue  # a blank node has no page to link to
        segments = sorted(c for c in seen.cites.get(s, ()) if c in quoted)
        cited.update(segments)
        if s in quoted and s not in subjects:
            continue  # a segment: indexed below if nothing cites it
        found.append(_document(s, seen, [own.get(s, "")] + [quoted[c] for c in segments]))
    for segment in sorted(set(quoted) - cited):
        if not segment.startswith("_:") and segment not in subjects:
            found.append(_document(segment, seen, [quoted[segment]]))
    return sorted(found, key=lambda d: d.iri)


def documents_of_nquads(data: bytes) -> list[Document]:
    """The documents of a release's N-Quads dump (every named graph: a resource's words wherever they are)."""
    return documents(_triples(ox.parse(data, format=ox.RdfFormat.N_QUADS)))


def documents_of_store(store: ox.Store) -> list[Document]:
    """The documents of everything ``store`` holds (a draft's, or the built dataset without a release)."""
    return documents(_triples(store.quads_for_pattern(None, None, None, None)))


def rdflib_triples(graph: Graph) -> Iterator[tuple[str, str, Object]]:
    """A graph's triples as ``documents`` reads them (a remote store's graphs, over its protocol)."""
    for s, p, o in graph:
        subject = str(s) if isinstance(s, URIRef) else f"_:{s}" if isinstance(s, BNode) else ""
        if not subject:
            continue
        if isinstance(o, Literal):
            yield subject, str(p), (str(o), o.language or "")
        elif isinstance(o, URIRef):
            yield subject, str(p), str(o)
        elif isinstance(o, BNode):
            yield subject, str(p), f"_:{o}"


def _triples(quads: Iterable[ox.Quad]) -> Iterator[tuple[str, str, Object]]:
    for quad in quads:
        s, o = quad.subject, quad.object
        subject = s.value if isinstance(s, ox.NamedNode) else f"_:{s.value}" if isinstance(s, ox.BlankNode) else ""
        if not subject:
            continue
        if isinstance(o, ox.Literal):
            yield subject, quad.predicate.value, (o.value, o.language or "")
        elif isinstance(o, ox.NamedNode):
            yield subject, quad.predicate.value, o.value
        elif isinstance(o, ox.BlankNode):
            yield subject, quad.predicate.value, f"_:{o.value}"


def _document(s: str, seen: _Collected, cited: list[str]) -> Document:
    names = [text for values in seen.labels.get(s, {}).values() for text, _ in values] + seen.alts.get(s, [])
    body = " \n".join([*sorted(set(seen.descriptions.get(s, []))), *(c for c in cited if c)])[:MAX_BODY_CHARS]
    return Document(
        iri=s,
        label=pick_label(seen.labels.get(s, {})) or local_name(s),
        types=tuple(sorted(seen.types.get(s, ()))),
        names=" \n".join(sorted(set(names))),
        body=body,
    )


def pick_label(values: Mapping[str, list[Text]]) -> str | None:
    """The label people see, as ``labels.label`` picks it: the first label property with a value, English
    first, then untagged, then any language, ties by the text."""
    for prop in LABELS:
        found = values.get(prop)
        if found:
            return min(found, key=lambda v: (0 if v[1] in _ENGLISH else 1 if not v[1] else 2, v[0]))[0]
    return None


def _segment_spans(seen: _Collected) -> dict[str, tuple[str, int, int]]:
    """Each segment's source and the span of its text its position selector gives (start, end)."""
    spans: dict[str, tuple[str, int, int]] = {}
    for segment, selectors in seen.selectors.items():
        source = seen.source.get(segment, "")
        text = seen.texts.get(source)
        if text is None:
            continue
        for selector in sorted(selectors):
            start, end = seen.start.get(selector), seen.end.get(selector)
            if start is not None and end is not None and 0 <= start < end <= len(text):
                spans[segment] = (source, start, end)
                break
    return spans


def _uncovered(texts: Mapping[str, str], spans: Mapping[str, tuple[str, int, int]]) -> dict[str, str]:
    """Each ``schema:text`` with the spans of its segments left out (`` … `` in their place); one sort of
    the spans, then one pass over the text."""
    by_source: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for source, start, end in spans.values():
        by_source[source].append((start, end))
    own: dict[str, str] = {}
    for source, text in texts.items():
        parts, at = [], 0
        for start, end in sorted(by_source.get(source, ())):
            if start > at:
                parts.append(text[at:start])
            at = max(at, end)
        parts.append(text[at:])
        own[source] = _clean(" … ".join(p.strip() for p in parts if _WORD.search(p)))  # no bare punctuation
    return own


def _clean(text: str) -> str:
    """Text without the snippet's private marks, so indexed words can never forge a highlight."""
    return text.replace(_OPEN, "").replace(_CLOSE, "")


# Results ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hit:
    iri: str
    label: str
    types: tuple[str, ...]
    snippet: str  # HTML: the text escaped, the matched words in <mark>
    score: float


@dataclass(frozen=True)
class Facet:
    type: str
    count: int


@dataclass(frozen=True)
class SearchPage:
    """One page of results of one release (``release``: its number, or 0 for data not released)."""

    query: SearchQuery
    hits: tuple[Hit, ...]
    total: int
    facets: tuple[Facet, ...]
    release: int = 0

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PAGE_SIZE))

    @property
    def has_next(self) -> bool:
        return self.query.page < self.pages

    @property
    def has_previous(self) -> bool:
        return self.query.page > 1


def score(exact: bool, prefix: bool, relevance: float) -> float:
    """A result's score as shown: 2 for an exact label, 1 for a label that starts with the query, plus the
    engine's relevance squashed into [0, 1) (higher is better), so the order of scores is the ranking's."""
    positive = max(relevance, 0.0)
    return round((2.0 if exact else 1.0 if prefix else 0.0) + positive / (1.0 + positive), 6)


def hit(iri: str, label: str, types: str, names: str, body: str, query: SearchQuery, value: float) -> Hit:
    """A result row made into a ``Hit``: the snippet from the body where it holds a match (the words
    around it say more than the label shown above it), else from the names; marked in Python, so both
    backends show the same."""
    key = query.key
    folded = " ".join(words(label))
    text = body if _matches(body, query) or not names else names
    return Hit(
        iri,
        label,
        tuple(t for t in types.split(" ") if t),
        snippet(text, query),
        score(folded == key, folded.startswith(key), value),
    )


def _matches(text: str, query: SearchQuery) -> bool:
    stems = _stems(query)
    return any(_is_match(w, stems) for w in words(text))


def _stems(query: SearchQuery) -> list[str]:
    stems = []
    for w in query.words:
        for suffix in _SUFFIXES:
            if w.endswith(suffix) and len(w) - len(suffix) >= 3:
                w = w[: -len(suffix)]
                break
        stems.append(w)
    return stems


def _is_match(word: str, stems: list[str]) -> bool:
    return any(word.startswith(s) for s in stems)


def snippet(text: str, query: SearchQuery, width: int = SNIPPET_CHARS) -> str:
    """About ``width`` characters of ``text`` around its first matching word, HTML-escaped, every matching
    word in ``<mark>``. A word matches when, folded, it starts with a query word's stem (so ``streaming``
    is marked for ``streams``); this is for display only, the index decides what matches. Linear."""
    stems = _stems(query)
    spans = [(m.start(), m.end()) for m in _WORD.finditer(text) if _is_match(fold(m.group()), stems)]
    start = 0
    if spans and spans[0][0] > width // 3:
        start = text.rfind(" ", 0, spans[0][0] - width // 3) + 1
    end = min(len(text), start + width)
    if end < len(text):
        cut = text.rfind(" ", start, end)
        end = cut if cut > start else end
    marked: list[str] = []
    at = start
    for a, b in spans:
        if a < start or b > end:
            continue
        marked.extend((text[at:a], _OPEN, text[a:b], _CLOSE))
        at = b
    marked.append(text[at:end])
    shown = " ".join("".join(marked).split())
    escaped = html.escape(shown).replace(_OPEN, "<mark>").replace(_CLOSE, "</mark>")
    return ("… " if start > 0 else "") + escaped + (" …" if end < len(text) else "")
