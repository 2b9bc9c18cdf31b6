"""The content of ``/link``, "Link your data to ours": computed from the URI scheme and the store, never
hand-written facts. Our URI spaces with an example of each (the dataset's ``void:exampleResource``), the
reconciliation service's URL and how OpenRefine adds it, example SPARQL queries over IRIs the store holds
(each a link that opens the SPARQL editor with it), and for each cube its CSV with the columns to join on
(the observation's IRI, the reference period's IRI), with a pandas and a spreadsheet example."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from rdflib import URIRef

from ceopgraph import tables
from ceopgraph.describe import with_prefixes
from ceopgraph.namespaces import SDMX_DIMENSION, SDMX_MEASURE
from ceopgraph.paths import Linker
from ceopgraph.sparqltext import sparql_iri, sparql_string
from ceopgraph.store.protocol import Store
from ceopgraph.urischeme import UriScheme

EXAMPLES_QUERY = with_prefixes("SELECT ?example WHERE { ?dataset void:exampleResource ?example }")
# One observation of a cube, with its period and value: the rows the join examples name (the UK register's
# periods sort before ours: ``http:`` before ``https:``).
OBSERVATION_QUERY = with_prefixes(
    """SELECT ?dataset ?observation ?period ?value WHERE {
  ?observation qb:dataSet ?dataset ; sdmx-dimension:refPeriod ?period ; sdmx-measure:obsValue ?value
} ORDER BY ?period ?observation LIMIT 1"""
)
# The table columns the joins use, by the titles the CSV gives them (``tables.cube_table``).
OBSERVATION_COLUMN = "observation IRI"
PERIOD_COLUMN = "reference period IRI"
# OpenRefine's steps to add a reconciliation service, as its menus name them.
OPENREFINE_STEPS = (
    "Open your project in OpenRefine and choose the column of names to match",
    "From the column's menu choose Reconcile → Start reconciling…",
    "Choose Add standard service…",
    "Paste the URL above and choose Add service",
)


@dataclass(frozen=True)
class UriSpace:
    pattern: str  # ``{base}id/…``
    what: str
    example: str | None  # an IRI of the space from the store
    href: str | None  # where the example is served here


@dataclass(frozen=True)
class ExampleQuery:
    id: str
    title: str
    text: str
    href: str  # the SPARQL editor with the query in it


@dataclass(frozen=True)
class TableJoin:
    title: str
    csv_url: str  # the canonical URL of the CSV (what a script reads)
    csv_href: str  # where it downloads here
    columns: tuple[str, ...]
    observation: str | None  # an observation's IRI, a period's IRI: values of the two join columns
    period: str | None
    pandas: str
    spreadsheet: str | None
    value_column: str | None  # the column the spreadsheet's formula reads


@dataclass(frozen=True)
class LinkPage:
    spaces: tuple[UriSpace, ...]
    reconcile_url: str
    steps: tuple[str, ...]
    queries: tuple[ExampleQuery, ...]
    tables: tuple[TableJoin, ...]


def link_page(store: Store, scheme: UriScheme, linker: Linker, endpoint: str, reconcile_url: str) -> LinkPage:
    """The page, over ``store``; ``endpoint`` is the SPARQL editor's path here, ``reconcile_url`` the
    reconciliation service's absolute URL here."""
    examples = sorted({str(r["example"]) for r in store.select(EXAMPLES_QUERY) if isinstance(r["example"], URIRef)})
    spaces = []
    for pattern, what in scheme.spaces:
        example = next((e for e in examples if e.startswith(pattern)), None)
        if example is None and pattern == scheme.base + "doc/":  # a thing's document: ``doc/`` for ``id/``
            thing = next((e for e in examples if e.startswith(str(scheme.id))), None)
            example = scheme.document_of(thing) if thing else None
        spaces.append(UriSpace(pattern + "…", what, example, linker.href(example) if example else None))
    joins = tuple(_join(store, scheme, linker, cube) for cube in _cubes(store))
    return LinkPage(tuple(spaces), reconcile_url, OPENREFINE_STEPS, _queries(scheme, examples, joins, endpoint), joins)


def _cubes(store: Store) -> list[URIRef]:
    return sorted({r["dataset"] for r in store.select(tables.CUBES_QUERY) if isinstance(r["dataset"], URIRef)})


def _join(store: Store, scheme: UriScheme, linker: Linker, cube: URIRef) -> TableJoin:
    tables.check_rows(store.select(tables.OBSERVATION_COUNT, {"dataset": cube}), cube)
    table = tables.cube_table(store.construct(tables.TABLE_QUERY, {"dataset": cube}), cube)
    columns = tuple(c.title for c in table.columns)
    url = str(scheme.table(str(cube)))
    rows = store.select(OBSERVATION_QUERY, {"dataset": cube})
    observation = str(rows[0]["observation"]) if rows else None
    period = str(rows[0]["period"]) if rows else None
    pandas = "\n".join(
        (
            "import pandas as pd",
            "",
            f'figures = pd.read_csv("{url}")',
            f'yours = pd.read_csv("your-table.csv")  # with a column "{PERIOD_COLUMN}" of period IRIs',
            f'joined = yours.merge(figures, on="{PERIOD_COLUMN}", how="left")',
            f'by_observation = figures.set_index("{OBSERVATION_COLUMN}")',
        )
    )
    spreadsheet = None
    # The value column the example observation fills (a count is an integer, a change a decimal).
    at = columns.index(OBSERVATION_COLUMN) if OBSERVATION_COLUMN in columns else None
    row = next((r for r in table.rows if at is not None and r[at] == observation), None)
    filled = [c for i, c in enumerate(columns) if c.startswith("value") and (row is None or row[i] is not None)]
    value = filled[0] if filled else None
    if OBSERVATION_COLUMN in columns:
        key = _letter(columns.index(OBSERVATION_COLUMN))
        if value is not None:
            found = _letter(columns.index(value))
            sheet = tables.file_name(cube).removesuffix("." + tables.CSV_EXTENSION)
            spreadsheet = f"=XLOOKUP(A2, '{sheet}'!{key}:{key}, '{sheet}'!{found}:{found})"
    return TableJoin(
        table.title or tables.file_name(cube),
        url,
        linker.href(url) or url,
        columns,
        observation,
        period,
        pandas,
        spreadsheet,
        value,
    )


def _letter(index: int) -> str:
    """A spreadsheet's column letter for the column at ``index`` (from 0): A…Z, AA…"""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _queries(
    scheme: UriScheme, examples: list[str], joins: tuple[TableJoin, ...], endpoint: str
) -> tuple[ExampleQuery, ...]:
    found: list[ExampleQuery] = []

    def add(ident: str, title: str, text: str) -> None:
        found.append(ExampleQuery(ident, title, text, f"{endpoint}?{urlencode({'query': text})}"))

    thing = next((e for e in examples if e.startswith(str(scheme.id))), None)
    if thing is not None:
        add(
            "about-a-thing",
            "Everything we say about one of our things",
            f"SELECT ?property ?value WHERE {{\n  {sparql_iri(thing)} ?property ?value\n}}",
        )
    add(
        "organisations",
        "Our organisations, their names and their pages elsewhere (GOV.UK)",
        "PREFIX org: <http://www.w3.org/ns/org#>\n"
        "PREFIX skos: <http://www.w3.org/2004/02/skos/core#>\n"
        "PREFIX foaf: <http://xmlns.com/foaf/0.1/>\n"
        "SELECT ?organisation ?name ?page WHERE {\n"
        "  ?organisation a org:FormalOrganization ; skos:prefLabel ?name .\n"
        "  OPTIONAL { ?organisation foaf:page ?page }\n"
        "}",
    )
    period = next((j.period for j in joins if j.period), None)
    if period is not None:
        add(
            "figures-of-a-period",
            "The figures of one reference period, by its IRI (join your data on it)",
            f"PREFIX sdmx-dimension: <{SDMX_DIMENSION}>\n"
            f"PREFIX sdmx-measure: <{SDMX_MEASURE}>\n"
            "SELECT ?observation ?value WHERE {\n"
            f"  ?observation sdmx-dimension:refPeriod {sparql_iri(period)} ;\n"
            "    sdmx-measure:obsValue ?value\n"
            "}\nORDER BY ?observation",
        )
    add(
        "links-out",
        "Every link from our data to IRIs outside it",
        "SELECT DISTINCT ?ours ?property ?theirs WHERE {\n"
        "  ?ours ?property ?theirs .\n"
        f"  FILTER(isIRI(?theirs) && STRSTARTS(STR(?ours), {sparql_string(scheme.base)})\n"
        f"         && !STRSTARTS(STR(?theirs), {sparql_string(scheme.base)}) && ?property != <http://www.w3.org/1999/02/22-rdf-syntax-ns#type>)\n"
        "}\nORDER BY ?ours ?property ?theirs\nLIMIT 100",
    )
    return tuple(found)
