"""The words a resource rests on: the sentences of the source text it cites, is, or is a selector of.

The queries follow the rules written in ``ceopgraph.describe``: our own text, request data only as
bound values, every pattern reached from the bound resource so that a page costs what the resource
holds, not what the store holds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rdflib import URIRef
from rdflib.term import Node

from ceopgraph.describe import with_prefixes
from ceopgraph.store.protocol import Store
from ceopgraph.web.pages import capped
from ceopgraph.web.pages.builder import PageBuilder
from ceopgraph.web.pages.model import Excerpt
from ceopgraph.web.pages.rows import read, read_all

# Two steps, each reached from a bound value (see ``ceopgraph.describe`` on planning): the segments
# the resource rests on, then each segment's article and position. Joined in one query, Oxigraph
# would hash the second part over every segment of the store.
CITED_SEGMENTS_QUERY = with_prefixes(
    """
SELECT ?resource ?segment ?via ?viaLabel WHERE {
  { ?resource prov:wasDerivedFrom ?segment } UNION { ?resource prov:wasQuotedFrom ?segment }
  UNION { ?resource a oa:SpecificResource BIND(?resource AS ?segment) }
  UNION { ?segment oa:hasSelector ?resource }
  UNION {
    ?resource prov:wasDerivedFrom ?via . ?via prov:wasDerivedFrom ?segment .
    FILTER EXISTS { ?via rdf:type qb:Observation }
    OPTIONAL { ?via rdfs:label ?viaLabel }
  }
}
"""
)

# The words around a segment come from the store, never its article's whole text: an article may be a
# literal of megabytes, and a page may cite a hundred segments of it. The store cuts out the segment
# (at most ``MAX_EXACT`` characters of it) and up to ``CONTEXT`` characters either side, where the
# sentence around it is looked for; offsets count characters, in SPARQL as in Python.
CONTEXT = 1_000
MAX_EXACT = 2_000
SEGMENT_QUERY = with_prefixes(
    f"""
SELECT ?segment ?article ?start ?end ?articleLabel ?length ?before ?exact ?after WHERE {{
  ?segment oa:hasSource ?article ; oa:hasSelector ?selector .
  ?selector oa:start ?start ; oa:end ?end .
  ?article schema:text ?text .
  OPTIONAL {{ ?article rdfs:label ?articleLabel }}
  BIND(STRLEN(?text) AS ?length)
  BIND(IF(?start > {CONTEXT}, ?start - {CONTEXT}, 0) AS ?from)
  BIND(SUBSTR(?text, ?from + 1, ?start - ?from) AS ?before)
  BIND(SUBSTR(?text, ?start + 1, IF(?end - ?start > {MAX_EXACT}, {MAX_EXACT}, ?end - ?start)) AS ?exact)
  BIND(SUBSTR(?text, ?end + 1, {CONTEXT}) AS ?after)
}}
LIMIT 1
"""
)
# A resource's excerpts, all of them or, past this many cited segments, none (``capped``): each costs a
# query. The built dataset's most is 4.
MAX_EXCERPTS = 100
_CITED_SEGMENTS = capped.limited(CITED_SEGMENTS_QUERY, MAX_EXCERPTS)


# Again two steps: the segments next to the resource, then the words of each.
NEIGHBOUR_SEGMENTS_QUERY = with_prefixes(
    """
SELECT DISTINCT ?resource ?segment WHERE {
  { ?resource ?p ?segment } UNION { ?segment ?p ?resource }
  FILTER EXISTS { ?segment rdf:type oa:SpecificResource }
}
"""
)

# The first words only (a page shows at most 60 characters of them: ``shorten``), of one selector.
SEGMENT_WORDS_QUERY = with_prefixes(
    """
SELECT ?segment (SUBSTR(?words, 1, 61) AS ?exact) WHERE {
  ?segment oa:hasSelector ?selector . ?selector oa:exact ?words
}
LIMIT 1
"""
)


@dataclass(frozen=True)
class CitedSegment:
    """A solution of ``CITED_SEGMENTS_QUERY`` (and the segment of ``NEIGHBOUR_SEGMENTS_QUERY``)."""

    segment: Node
    via: Node | None = None
    via_label: Node | None = None


@dataclass(frozen=True)
class SegmentText:
    """A solution of ``SEGMENT_QUERY``: where a segment stands in which article, and the words around it.
    The words are unbound where the offsets are not integers."""

    segment: URIRef
    article: URIRef
    start: Node
    end: Node
    article_label: Node | None
    length: Node
    before: Node | None
    exact: Node | None
    after: Node | None


@dataclass(frozen=True)
class SegmentWords:
    """A solution of ``SEGMENT_WORDS_QUERY``."""

    segment: Node
    exact: Node


_SENTENCE_END = re.compile(r"[.!?][\"”’]?(?=\s|$)")


def sentence_around(text: str, start: int, end: int) -> tuple[int, int]:
    """The sentence (or sentences) holding ``text[start:end]``, within its line of the source."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line_end = len(text) if line_end < 0 else line_end
    begin = line_start
    for match in _SENTENCE_END.finditer(text, line_start, start):
        begin = match.end()
    while begin < start and text[begin].isspace():
        begin += 1
    finish = line_end
    closing = _SENTENCE_END.search(text, max(end - 1, line_start), line_end)
    if closing and closing.end() >= end:
        finish = closing.end()
    return begin, finish


def excerpts(store: Store, builder: PageBuilder, iri: URIRef) -> tuple[Excerpt, ...] | capped.Cut:
    """The sentences of the source text that ``iri`` cites, is, or is a selector of; for a derived
    figure also those of the reported figures it comes from (``via``). A ``Cut`` when it cites more
    than ``MAX_EXCERPTS`` segments."""
    cited = capped.select(store, _CITED_SEGMENTS, {"resource": iri}, MAX_EXCERPTS)
    if cited is None:
        query = capped.ordered(CITED_SEGMENTS_QUERY, "?segment ?via", {"resource": iri})
        return capped.Cut("excerpts of the source text", MAX_EXCERPTS, query)
    found: dict[tuple[str, str], Excerpt] = {}
    for one in read_all(CitedSegment, cited):
        for row in store.select(SEGMENT_QUERY, {"segment": one.segment}):
            segment = read(SegmentText, row)
            excerpt = _excerpt(builder, one, segment)
            if excerpt is not None:
                found[(str(segment.segment), str(one.via or ""))] = excerpt
    return tuple(sorted(found.values(), key=lambda e: (e.via is not None, e.start)))


def _excerpt(builder: PageBuilder, cited: CitedSegment, segment: SegmentText) -> Excerpt | None:
    """The excerpt of one cited segment; None where its offsets do not fall in its article's text.
    Where the store cut the words short (``CONTEXT``, ``MAX_EXACT``), an ellipsis says so."""
    try:
        start, end, length = int(str(segment.start)), int(str(segment.end)), int(str(segment.length))
    except ValueError:
        return None
    if not 0 <= start < end <= length or segment.before is None or segment.exact is None or segment.after is None:
        return None
    before, exact, after = str(segment.before), str(segment.exact), str(segment.after)
    words = before + exact + after
    begin, finish = sentence_around(words, len(before), len(before) + len(exact))
    clipped_before = begin == 0 and start > CONTEXT
    clipped_after = finish == len(words) and end + CONTEXT < length
    via = cited.via
    return Excerpt(
        before=("…" if clipped_before else "") + before[begin:],
        exact=exact + ("…" if end - start > MAX_EXACT else ""),
        after=after[: finish - len(before) - len(exact)] + ("…" if clipped_after else ""),
        segment=builder.link(segment.segment, f"“{shorten(exact)}”"),
        article=builder.link(segment.article, str(segment.article_label or builder.label(segment.article))),
        start=start,
        end=end,
        via=builder.link(via, str(cited.via_label or builder.label(via))) if isinstance(via, URIRef) else None,
    )


def shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# A page names at most this many neighbouring segments by their words (one query each): past it, none
# (they keep the names made from their IRIs). The built dataset's most is 21 (its news item's).
MAX_SEGMENT_LABELS = 100
_NEIGHBOUR_SEGMENTS = capped.limited(NEIGHBOUR_SEGMENTS_QUERY, MAX_SEGMENT_LABELS)


def segment_labels(store: Store, iri: URIRef) -> dict[str, str]:
    """Segments of the source text have no label of their own: name them by their words."""
    neighbours = capped.select(store, _NEIGHBOUR_SEGMENTS, {"resource": iri}, MAX_SEGMENT_LABELS) or []
    return {
        str(words.segment): f"“{shorten(str(words.exact))}”"
        for neighbour in read_all(CitedSegment, neighbours)
        for words in read_all(SegmentWords, store.select(SEGMENT_WORDS_QUERY, {"segment": neighbour.segment}))
    }
