"""The parts every page model is made of: links, literal values, nested blank nodes, property rows,
excerpts of the source text and figures. Plain frozen values; the templates lay them out."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Link:
    label: str
    iri: str
    href: str | None  # None: shown, never linked (not http(s))
    curie: str
    local: bool = False


@dataclass(frozen=True)
class Text:
    value: str
    lang: str | None = None
    datatype: str | None = None  # compact IRI, for display
    long: bool = False


@dataclass(frozen=True)
class Nested:
    """A blank node, shown in place: its own properties, or the members of an RDF list."""

    rows: tuple[PropertyRow, ...] = ()
    items: tuple[Value, ...] = ()
    is_list: bool = False


Value = Link | Text | Nested


@dataclass(frozen=True)
class PropertyRow:
    predicate: Link
    values: tuple[Value, ...]


@dataclass(frozen=True)
class Excerpt:
    """A segment of the source text, in its sentence, with the cited words marked."""

    before: str
    exact: str
    after: str
    segment: Link
    article: Link
    start: int
    end: int
    via: Link | None = None  # for a derived figure: the reported figure whose words these are


@dataclass(frozen=True)
class Figure:
    obs: Link
    statistic: Link
    period: Link
    value: Decimal
    shown: str
    unit: str
    derived: bool
    status: str
    precision: str
    value_range: str | None = None
    comparison: Link | None = None
    derivation: str | None = None
    source_start: int | None = None  # where the source text gives it: figures are listed in that order
