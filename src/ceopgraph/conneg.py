"""Media types and formats as data, and the one negotiation function every view uses.

Formats are rows of a table rather than branches of code, so adding one (or asking which exist, for
the service description, the dumps and the VoID) touches a single place.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class RdfFormat:
    """An RDF serialisation we read and write."""

    name: str  # short token for ?format= and the CLI
    media_type: str
    extension: str
    rdflib_name: str
    oxigraph_name: str  # pyoxigraph.RdfFormat attribute
    quads: bool  # carries named graphs
    aliases: tuple[str, ...] = ()

    @property
    def iana_iri(self) -> str:
        return "https://www.iana.org/assignments/media-types/" + self.media_type


RDF_FORMATS: tuple[RdfFormat, ...] = (
    RdfFormat("turtle", "text/turtle", "ttl", "turtle", "TURTLE", False, ("application/x-turtle",)),
    RdfFormat("trig", "application/trig", "trig", "trig", "TRIG", True, ("application/x-trig",)),
    RdfFormat("ntriples", "application/n-triples", "nt", "nt", "N_TRIPLES", False, ("text/plain",)),
    RdfFormat("nquads", "application/n-quads", "nq", "nquads", "N_QUADS", True, ("text/x-nquads",)),
    RdfFormat("jsonld", "application/ld+json", "jsonld", "json-ld", "JSON_LD", True, ("application/json",)),
    RdfFormat("rdfxml", "application/rdf+xml", "rdf", "xml", "RDF_XML", False, ("application/xml", "text/xml")),
)

FORMATS_BY_NAME = {f.name: f for f in RDF_FORMATS}
FORMATS_BY_EXTENSION = {f.extension: f for f in RDF_FORMATS}


def rdf_format_for_media_type(media_type: str) -> RdfFormat | None:
    """The format a ``Content-Type`` names (parameters such as charset ignored), or None."""
    essence = media_type.split(";", 1)[0].strip().lower()
    for fmt in RDF_FORMATS:
        if essence == fmt.media_type or essence in fmt.aliases:
            return fmt
    return None


@dataclass(frozen=True)
class MediaRange:
    type: str
    subtype: str
    q: float
    specificity: int

    def matches(self, media_type: str) -> bool:
        main, _, sub = media_type.partition("/")
        return (self.type in ("*", main)) and (self.subtype in ("*", sub))


def parse_accept(header: str | None) -> list[MediaRange]:
    """RFC 9110 section 12.5.1 Accept: media ranges with q-values; malformed members are ignored."""
    ranges: list[MediaRange] = []
    for member in (header or "").split(","):
        parts = [p.strip() for p in member.split(";")]
        media, params = parts[0].lower(), parts[1:]
        if "/" not in media:
            continue
        main, _, sub = media.partition("/")
        if not main or not sub or (main == "*" and sub != "*"):
            continue
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = max(0.0, min(1.0, float(value)))
                except ValueError:
                    q = 0.0
        specificity = (main != "*") + (sub != "*")
        ranges.append(MediaRange(main, sub, q, specificity))
    return ranges


def negotiate(accept: str | None, offered: Sequence[str], default: str | None = None) -> str | None:
    """Pick the offered media type the client prefers.

    Each offer takes the quality of the most specific range that matches it (RFC 9110 12.5.1). At equal
    quality an offer the client named outright beats one reached through a wildcard, then ``default``
    wins, then the server's order in ``offered``. No usable Accept header gives ``default`` (or the
    first offer); None means nothing offered is acceptable (a 406).
    """
    return _negotiate(accept, tuple(offered), default)


# Clients send a few Accept headers over and over, and every query and page negotiates: each answer is
# kept (a pure function of its arguments), for as many headers as this bounds (each at most a header's size).
@lru_cache(maxsize=1024)
def _negotiate(accept: str | None, offered: tuple[str, ...], default: str | None) -> str | None:
    if not offered:
        return None
    ranges = parse_accept(accept)
    if not ranges:
        return default if default in offered else offered[0]
    scored: list[tuple[float, int, int, int, str]] = []
    for index, media_type in enumerate(offered):
        matching = [r for r in ranges if r.matches(media_type)]
        if not matching:
            continue
        most_specific = max(matching, key=lambda r: r.specificity)
        if most_specific.q <= 0:
            continue
        named = 1 if most_specific.specificity == 2 else 0
        scored.append((most_specific.q, named, 1 if media_type == default else 0, -index, media_type))
    return max(scored)[-1] if scored else None
