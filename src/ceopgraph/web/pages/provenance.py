"""The words a resource rests on: the sentences of the source text it cites, is, or is a selector of.

The queries follow the rules written in ``ceopgraph.describe``: our own text, request data only as
bound values, every pattern reached from the bound resource so that a page costs what the resource
holds, not what the store holds.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from rdflib import URIRef
from rdflib.term import Node

from ceopgraph.describe import with_prefixes
from ceopgraph.store.protocol import Store
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

SEGMENT_QUERY = with_prefixes(
    """
SELECT * WHERE {
  ?segment oa:hasSource ?article ; oa:hasSelector ?selector .
  ?selector oa:start ?start ; oa:end ?end .
  ?article schema:text ?text .
  OPTIONAL { ?article rdfs:label ?articleLabel }
}
"""
)

# Again two steps: the segments next to the resource, then the words of each.
NEIGHBOUR_SEGMENTS_QUERY = with_prefixes(
    """
SELECT DISTINCT ?resource ?segment WHERE {
  { ?resource ?p ?segment } UNION { ?segment ?p ?resource }
  FILTER EXISTS { ?segment rdf:type oa:SpecificResource }
}
"""
)

SEGMENT_WORDS_QUERY = with_prefixes(
    """
SELECT * WHERE { ?segment oa:hasSelector ?selector . ?selector oa:exact ?exact }
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
    """A solution of ``SEGMENT_QUERY``: where a segment stands in which article."""

    segment: URIRef
    article: URIRef
    start: Node
    end: Node
    text: Node
    article_label: Node | None


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


def excerpts(store: Store, builder: PageBuilder, iri: URIRef) -> tuple[Excerpt, ...]:
    """The sentences of the source text that ``iri`` cites, is, or is a selector of; for a derived
    figure also those of the reported figures it comes from (``via``)."""
    found: dict[tuple[str, str], Excerpt] = {}
    for cited, segment in _cited(store, iri):
        excerpt = _excerpt(builder, cited, segment)
        if excerpt is not None:
            found[(str(segment.segment), str(cited.via or ""))] = excerpt
    return tuple(sorted(found.values(), key=lambda e: (e.via is not None, e.start)))


def _excerpt(builder: PageBuilder, cited: CitedSegment, segment: SegmentText) -> Excerpt | None:
    """The excerpt of one cited segment; None where its offsets do not fall in its article's text."""
    try:
        start, end = int(str(segment.start)), int(str(segment.end))
    except ValueError:
        return None
    text = str(segment.text)
    if not 0 <= start < end <= len(text):
        return None
    begin, finish = sentence_around(text, start, end)
    exact = text[start:end]
    via = cited.via
    return Excerpt(
        before=text[begin:start],
        exact=exact,
        after=text[end:finish],
        segment=builder.link(segment.segment, f"“{shorten(exact)}”"),
        article=builder.link(segment.article, str(segment.article_label or builder.label(segment.article))),
        start=start,
        end=end,
        via=builder.link(via, str(cited.via_label or builder.label(via))) if isinstance(via, URIRef) else None,
    )


def _cited(store: Store, iri: URIRef) -> Iterator[tuple[CitedSegment, SegmentText]]:
    for cited in read_all(CitedSegment, store.select(CITED_SEGMENTS_QUERY, {"resource": iri})):
        for row in store.select(SEGMENT_QUERY, {"segment": cited.segment}):
            yield cited, read(SegmentText, row)


def shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def segment_labels(store: Store, iri: URIRef) -> dict[str, str]:
    """Segments of the source text have no label of their own: name them by their words."""
    return {
        str(words.segment): f"“{shorten(str(words.exact))}”"
        for neighbour in read_all(CitedSegment, store.select(NEIGHBOUR_SEGMENTS_QUERY, {"resource": iri}))
        for words in read_all(SegmentWords, store.select(SEGMENT_WORDS_QUERY, {"segment": neighbour.segment}))
    }
