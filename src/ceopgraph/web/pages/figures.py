"""Figures: the observations of a data cube, as the pages and the chart show them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from rdflib import URIRef
from rdflib.term import Node

from ceopgraph.describe import with_prefixes
from ceopgraph.sparqltext import Template
from ceopgraph.store.protocol import Store
from ceopgraph.urischeme import UriScheme
from ceopgraph.web.pages import capped
from ceopgraph.web.pages.builder import PageBuilder
from ceopgraph.web.pages.model import Figure
from ceopgraph.web.pages.rows import join, read_all, text

# Type tests as FILTER EXISTS and the source position as a nested OPTIONAL: planned otherwise, the
# first scans every observation and the second every position selector of the store. A figure
# derived from other figures has sources without a position (rows without ?sourceStart).
#
# Four queries, not one: Oxigraph plans a query again at every call, and its planning time grows
# faster than the number of OPTIONALs (one query with all ten took ~2 ms to plan and ~0.05 ms to
# run; these four take ~0.6 ms in all). Each OPTIONAL group shares only ``?obs`` with the rest, and
# each attribute query answers every observation at least once (``?obs ?dataset`` alone where none
# of its groups match), so joining the answers on ``?obs ?dataset`` (``rows.join``) gives the
# solutions the single query gave.
FIGURE_QUERY = with_prefixes(
    """
SELECT * WHERE {
  ?obs qb:dataSet ?dataset . FILTER EXISTS { ?obs rdf:type qb:Observation }
  ?obs ?statisticDimension ?statistic ; sdmx-dimension:refPeriod ?period ; sdmx-measure:obsValue ?value .
  OPTIONAL { ?statistic skos:prefLabel ?statisticLabel }
  OPTIONAL { ?period rdfs:label ?periodLabel }
  OPTIONAL { ?obs rdfs:label ?obsLabel }
  OPTIONAL { ?obs sdmx-attribute:unitMeasure ?unit . ?unit skos:prefLabel ?unitLabel }
}
"""
)
FIGURE_ATTRIBUTE_QUERIES = tuple(
    with_prefixes(f"SELECT * WHERE {{\n  ?obs qb:dataSet ?dataset .\n{groups}}}\n")
    for groups in (
        """  OPTIONAL { ?obs ?statusAttribute ?status . ?status skos:notation ?statusNotation }
  OPTIONAL { ?obs ?precisionAttribute ?precision . ?precision skos:prefLabel ?precisionLabel }
  OPTIONAL { ?obs ?derivationAttribute ?derivation }
""",
        """  OPTIONAL { ?obs ?rangeAttribute ?range .
             OPTIONAL { ?range schema:minValue ?min } OPTIONAL { ?range schema:maxValue ?max } }
  OPTIONAL { ?obs ?comparisonAttribute ?comparison . OPTIONAL { ?comparison rdfs:label ?comparisonLabel } }
""",
        """  OPTIONAL { ?obs prov:wasDerivedFrom ?segment
             OPTIONAL { ?segment oa:hasSelector ?position . ?position oa:start ?sourceStart } }
""",
    )
)


# Each query stopped one solution past the cap (``capped``): a cube's figures are listed all, or none.
_LIMITED = tuple(capped.limited(query) for query in (FIGURE_QUERY, *FIGURE_ATTRIBUTE_QUERIES))
# What a cut page links: every solution of the main query, in the order of the observations' IRIs.
_ORDER = "?obs ?statistic ?period ?value"
_KEYS = ("obs", "dataset")


@dataclass(frozen=True)
class Observation:
    """A solution of ``FIGURE_QUERY`` joined with ``FIGURE_ATTRIBUTE_QUERIES``: one observation, with one of its
    source positions."""

    obs: URIRef
    statistic: URIRef
    period: URIRef
    value: Node
    obs_label: Node | None
    statistic_label: Node | None
    period_label: Node | None
    unit: Node | None
    unit_label: Node | None
    status_notation: Node | None
    precision_label: Node | None
    min: Node | None
    max: Node | None
    comparison: Node | None
    comparison_label: Node | None
    derivation: Node | None
    source_start: Node | None


def _cube_bindings(scheme: UriScheme) -> dict[str, Node]:
    local = scheme
    return {
        "statisticDimension": local.dimension["statistic"],
        "statusAttribute": local.attribute["figure-status"],
        "precisionAttribute": local.attribute["precision"],
        "rangeAttribute": local.attribute["value-range"],
        "comparisonAttribute": local.attribute["comparison-period"],
        "derivationAttribute": local.attribute["derivation"],
    }


def _used(query: Template, bindings: dict[str, Node]) -> dict[str, Node]:
    """The bindings of the variables ``query`` names (a store binds only variables a query has)."""
    named = _variables(query.text)
    return {name: value for name, value in bindings.items() if name in named}


@lru_cache(maxsize=16)
def _variables(text: str) -> frozenset[str]:
    """The variables one of our queries names (our own text, read once)."""
    return frozenset(re.findall(r"\?(\w+)", text))


def format_number(value: Decimal) -> str:
    if value == value.to_integral_value():
        return f"{int(value):,}"
    return f"{value:,f}".rstrip("0").rstrip(".")


def figures(
    store: Store, builder: PageBuilder, dataset: URIRef | None = None, obs: URIRef | None = None
) -> tuple[Figure, ...] | capped.Cut:
    """The observations of a dataset (or one observation) as figures, reported first; or, when one of
    the queries has more than ``capped.MAX_ROWS`` solutions, the ``Cut`` that says so."""
    bindings = _cube_bindings(builder.scheme)
    if dataset is not None:
        bindings["dataset"] = dataset
    if obs is not None:
        bindings["obs"] = obs
    main, *attributes = _LIMITED
    solutions = capped.select(store, main, _used(main, bindings))
    for query in attributes:
        more = None if solutions is None else capped.select(store, query, _used(query, bindings))
        solutions = None if solutions is None or more is None else join(solutions, more, _KEYS, capped.MAX_ROWS)
    if solutions is None:
        whole = capped.ordered(FIGURE_QUERY, _ORDER, _used(FIGURE_QUERY, bindings))
        return capped.Cut("figures", capped.MAX_ROWS, whole)
    found = [_figure(builder, row) for row in read_all(Observation, solutions)]
    # One figure per observation, placed where the source text first gives it.
    unique: dict[str, Figure] = {}
    for fig in found:
        if fig is None:
            continue
        kept = unique.get(fig.obs.iri)
        if kept is None or _first_given(fig) <= _first_given(kept):
            unique[fig.obs.iri] = fig
    return tuple(
        sorted(unique.values(), key=lambda f: (f.derived, f.source_start is None, f.source_start or 0, f.obs.label))
    )


def _figure(builder: PageBuilder, row: Observation) -> Figure | None:
    """One solution as a figure; None where the value is not a number."""
    try:
        value = Decimal(str(row.value))
    except InvalidOperation:
        return None
    percent = "percent" in text(row.unit)
    comparison = row.comparison
    return Figure(
        obs=builder.link(row.obs, str(row.obs_label or "")),
        statistic=builder.link(row.statistic, str(row.statistic_label or "")),
        period=builder.link(row.period, str(row.period_label or "")),
        value=value,
        shown=format_number(value) + ("%" if percent else ""),
        unit="" if percent else text(row.unit_label),
        derived=text(row.status_notation) == "derived",
        status=text(row.status_notation, "reported"),
        precision=text(row.precision_label),
        value_range=_value_range(row.min, row.max, "%" if percent else ""),
        comparison=builder.link(comparison, str(row.comparison_label or ""))
        if isinstance(comparison, URIRef)
        else None,
        derivation=None if row.derivation is None else str(row.derivation),
        source_start=None if row.source_start is None else int(str(row.source_start)),
    )


def _value_range(low: Node | None, high: Node | None, unit_mark: str) -> str | None:
    if low is None or high is None:
        return None
    return f"{format_number(Decimal(str(low)))}{unit_mark} to {format_number(Decimal(str(high)))}{unit_mark}"


def _first_given(fig: Figure) -> tuple[bool, int]:
    return (fig.source_start is None, fig.source_start or 0)
