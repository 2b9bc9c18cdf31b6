"""Tables out: every ``qb:DataSet`` as a tidy CSV and its CSV on the Web (W3C CSVW) metadata.

People who work in spreadsheets get one row per observation, with the figure's IRIs beside the labels they
read; machines get the metadata (``application/csvm+json``), written so that a standard CSVW processor in
standard mode turns the CSV back into the cube's observations: the same observation IRIs (``aboutUrl``),
``rdf:type`` and ``qb:dataSet`` (virtual columns), the dimension values, the measure with its datatype, the
attributes, the observation's label and the source segment it was read from.

The columns follow the data: one per component of the data structure definition, in the DSD's order
(dimensions by ``qb:order``, then the measures, then the attributes, required ones first). A component whose
values are IRIs gets a column of IRIs and, where its values have labels, a column of labels (not converted:
the labels belong to the code, not to the observation). A measure whose values have several datatypes
(counts as ``xsd:integer``, percentages as ``xsd:decimal``) gets a column per datatype, because a CSVW
column has one datatype and the round trip must give each value back with its own.

The code lists are not tables of ours, so the metadata links to them by ``valueUrl`` templates (each cell
holds the full IRI) rather than by foreign keys; the primary key is the observation.

What does not round-trip, said here and in the README: the quote (the words belong to the segment's
selector, not the observation) and the figures a derived figure was computed from (``prov:wasDerivedFrom``
to other observations, several in one cell: a CSVW ``valueUrl`` makes one IRI of a cell); both are shown for
people, with ``suppressOutput``.

Every cell goes through ``csvsafe.csv_text``, the one rule for CSV written for people. A cell the rule
neutralises would come back from a CSVW processor with its leading ``'``; none of the published data's cells
needs it (a test keeps it so), and a submitted label or quote that did would be published with the ``'``.

Pure: functions of an rdflib graph holding the dataset, its structure, its observations and the labels and
quotes they point to (``TABLE_QUERY`` fetches exactly that from a store; a release's union graph has it).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, PROV, RDF, RDFS, XSD
from rdflib.term import Node

from ceopgraph import csvsafe
from ceopgraph.describe import LABEL_PROPERTIES, with_prefixes
from ceopgraph.labels import humanise, label, local_name
from ceopgraph.namespaces import OA, OGL_V3, QB
from ceopgraph.rdfio import light_graph
from ceopgraph.urischeme import UriScheme

CSV_MEDIA_TYPE = "text/csv"
# RFC 4180's parameters: the encoding, and that the first line is the header.
CSV_CONTENT_TYPE = f"{CSV_MEDIA_TYPE}; charset=utf-8; header=present"
METADATA_MEDIA_TYPE = "application/csvm+json"
CSV_EXTENSION = "csv"
# The file beside a CSV that describes it (CSVW "Model for Tabular Data", section 5.2: ``{+url}-metadata.json``).
METADATA_SUFFIX = "-metadata.json"
CSVW_CONTEXT = "http://www.w3.org/ns/csvw"
# What the CSV conforms to, for DCAT: the W3C CSVW recommendation (its tabular data model).
CSVW_RECOMMENDATION = URIRef("http://www.w3.org/TR/tabular-data-model/")
IANA_TEXT_CSV = URIRef("http://www.iana.org/assignments/media-types/text/csv")

_SEGMENT_COLUMN = "source_segment"
# A cell from the graph and the observation of its row (None: empty).
Reader = Callable[["_Facts", URIRef], "str | None"]

# Everything a dataset's table is made of, for a store: the dataset, its structure and its components'
# labels, its observations, the labels of what they point to, and the quotes of the segments they cite.
TABLE_QUERY = with_prefixes(
    f"""CONSTRUCT {{ ?s ?p ?o }} WHERE {{
  {{ ?dataset ?p ?o BIND(?dataset AS ?s) }}
  UNION {{ ?dataset qb:structure ?s . ?s ?p ?o }}
  UNION {{ ?dataset qb:structure/qb:component ?s . ?s ?p ?o }}
  UNION {{ ?dataset qb:structure/qb:component/(qb:dimension|qb:measure|qb:attribute) ?s . ?s ?p ?o
           FILTER(?p IN ({", ".join(p.n3() for p in LABEL_PROPERTIES)})) }}
  UNION {{ ?s qb:dataSet ?dataset . ?s ?p ?o }}
  UNION {{ ?obs qb:dataSet ?dataset . ?obs ?q ?s . FILTER(isIRI(?s)) ?s ?p ?o
           FILTER(?p IN (oa:hasSelector, {", ".join(p.n3() for p in LABEL_PROPERTIES)})) }}
  UNION {{ ?obs qb:dataSet ?dataset . ?obs prov:wasDerivedFrom/oa:hasSelector ?s . ?s ?p ?o
           FILTER(?p IN (rdf:type, oa:exact)) }}
}}"""
)

IS_CUBE = with_prefixes("ASK { ?dataset a qb:DataSet }")
OBSERVATION_COUNT = with_prefixes(
    "SELECT ?dataset (COUNT(?observation) AS ?rows) { ?observation qb:dataSet ?dataset } GROUP BY ?dataset"
)
# The most rows a table is built with for one request (a draft's preview): the served release's tables are
# files, made once when it was rendered, whatever their size.
MAX_BUILT_ROWS = 10_000
CUBES_QUERY = with_prefixes(
    "SELECT ?dataset ?title WHERE { ?dataset a qb:DataSet OPTIONAL { ?dataset dct:title ?title } }"
)


class TableError(Exception):
    """The cube cannot be one tidy table (a component with two values on one observation)."""


class TooManyRowsToBuild(TableError):
    """A cube with more observations than a request builds a table of (``MAX_BUILT_ROWS``)."""


def check_rows(counted: list[dict[str, Node]], dataset: URIRef) -> None:
    """Refuse to build the table of ``dataset`` here when ``OBSERVATION_COUNT`` counted too many rows."""
    rows = int(counted[0]["rows"]) if counted else 0  # type: ignore[call-overload]
    if rows > MAX_BUILT_ROWS:
        raise TooManyRowsToBuild(
            f"the table of <{dataset}> has {rows:,} rows, more than the {MAX_BUILT_ROWS:,} built for one request; "
            "a published release's tables are in its dumps (/releases)"
        )


@dataclass(frozen=True)
class Column:
    """One column of the table and how a CSVW processor reads it."""

    name: str  # the CSVW name, a URI template variable
    title: str  # the header people read
    datatype: str  # a CSVW built-in datatype name
    property_url: str | None = None
    value_url: str | None = None
    lang: str | None = None
    suppress: bool = False
    separator: str | None = None

    def metadata(self) -> dict[str, Any]:
        found: dict[str, Any] = {"name": self.name, "titles": self.title, "datatype": self.datatype}
        if self.property_url is not None:
            found["propertyUrl"] = self.property_url
        if self.value_url is not None:
            found["valueUrl"] = self.value_url
        if self.lang is not None:
            found["lang"] = self.lang
        if self.separator is not None:
            found["separator"] = self.separator
        if self.suppress:
            found["suppressOutput"] = True
        return found


@dataclass(frozen=True)
class CubeTable:
    """A dataset's table: its columns and its rows (None: an empty cell), in a stable order."""

    dataset: URIRef
    title: str | None
    file_name: str  # the CSV's name, relative to the metadata beside it
    columns: tuple[Column, ...]
    rows: tuple[tuple[str | None, ...], ...]

    @property
    def metadata_name(self) -> str:
        return self.file_name + METADATA_SUFFIX

    def csv(self) -> bytes:
        """RFC 4180 CSV in UTF-8, the header row first, every cell through the one rule for people."""
        return csvsafe.csv_text([c.title for c in self.columns], self.rows).encode("utf-8")

    def metadata(self) -> dict[str, Any]:
        """The CSVW metadata document (a table description) for the CSV at ``file_name``."""
        virtual = [
            {"name": "type", "virtual": True, "propertyUrl": "rdf:type", "valueUrl": "qb:Observation"},
            {"name": "dataset", "virtual": True, "propertyUrl": str(QB.dataSet), "valueUrl": str(self.dataset)},
        ]
        found: dict[str, Any] = {
            "@context": CSVW_CONTEXT,
            "url": self.file_name,
            "dc:source": {"@id": str(self.dataset)},
            "tableSchema": {
                "aboutUrl": "{+observation}",
                "primaryKey": "observation",
                "columns": [c.metadata() for c in self.columns] + virtual,
            },
        }
        if self.title is not None:
            found["dc:title"] = self.title
        return found

    def metadata_json(self) -> bytes:
        return (json.dumps(self.metadata(), indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def datasets(graph: Graph) -> list[URIRef]:
    """The data cubes in ``graph``, sorted."""
    return sorted(s for s in graph.subjects(RDF.type, QB.DataSet) if isinstance(s, URIRef))


def file_name(dataset: URIRef) -> str:
    """The CSV's file name: the dataset's last path segment, ``annual-review-2012-13.csv``."""
    return f"{local_name(str(dataset))}.{CSV_EXTENSION}"


def distribution(scheme: UriScheme, dataset: URIRef, title: str | None) -> Graph:
    """The DCAT distribution of a cube's CSV, for the VoID/DCAT description: media type, the CSVW
    recommendation it conforms to, where to download it, the licence of the dataset."""
    graph = light_graph()
    url = scheme.table(str(dataset))
    if url is None:
        return graph
    node = scheme.table_distribution(str(dataset))
    graph.add((dataset, DCAT.distribution, node))
    graph.add((node, RDF.type, DCAT.Distribution))
    graph.add((node, DCTERMS.title, Literal(f"{title or local_name(str(dataset))}: the figures as CSV", lang="en")))
    graph.add((node, DCAT.downloadURL, url))
    graph.add((node, DCAT.accessURL, url))
    graph.add((node, DCAT.mediaType, IANA_TEXT_CSV))
    graph.add((node, DCTERMS.conformsTo, CSVW_RECOMMENDATION))
    graph.add((node, DCTERMS.license, OGL_V3))
    return graph


def table_files(graph: Graph) -> dict[str, bytes]:
    """Every cube's CSV and CSVW metadata, by file name, for a release's dumps (the metadata names its CSV by
    a relative URL, so the pair works wherever it is served side by side)."""
    files: dict[str, bytes] = {}
    for dataset in datasets(graph):
        table = cube_table(graph, dataset)
        if table.file_name in files:
            raise TableError(f"two cubes make the file {table.file_name}; name their last path segments apart")
        files[table.file_name] = table.csv()
        files[table.metadata_name] = table.metadata_json()
    return files


def file_media_type(name: str) -> str | None:
    """The media type of a file ``table_files`` names, None for any other."""
    if name.endswith(f".{CSV_EXTENSION}{METADATA_SUFFIX}"):
        return METADATA_MEDIA_TYPE
    if name.endswith(f".{CSV_EXTENSION}"):
        return CSV_MEDIA_TYPE
    return None


def table_href(document: str) -> str:
    """Where a cube's CSV is served: its document's path with the ``.csv`` extension."""
    return f"{document}.{CSV_EXTENSION}"


def cube_table(graph: Graph, dataset: URIRef) -> CubeTable:
    """The tidy table of ``dataset``'s observations in ``graph``."""
    observations = sorted(o for o in graph.subjects(QB.dataSet, dataset) if isinstance(o, URIRef))
    facts = _Facts(graph, observations)
    dimensions, measures, attributes = _components(graph, dataset)
    builders: list[_Part] = [_Part(Column("observation", "observation IRI", "anyURI", suppress=True), _itself)]
    builders += _literal_parts(facts, RDFS.label, "observation")
    for prop in dimensions:
        builders += _iri_parts(facts, prop)
    for prop in measures:
        builders += _literal_parts(facts, prop, "value" if len(measures) == 1 else None)
    for prop in attributes:
        values = facts.all_values(prop)
        if values and all(isinstance(v, Literal) for v in values):
            builders += _literal_parts(facts, prop, None)
        else:
            builders += _iri_parts(facts, prop)
    builders += _source_parts()
    columns = tuple(b.column for b in builders)
    rows = [tuple(b.read(facts, o) for b in builders) for o in observations]
    order = [i for i, c in enumerate(columns) if c.name in {_name(p) for p in dimensions}] + [0]
    rows.sort(key=lambda row: tuple(row[i] or "" for i in order))
    return CubeTable(dataset, label(graph, dataset), file_name(dataset), columns, tuple(rows))


def row_key(graph: Graph, observation: URIRef) -> str | None:
    """The observation's row as the table shows it to people: its dimension values' labels in the columns'
    order, ``Children safeguarded and protected · Government year 2013-2014``; None outside a cube."""
    dataset = graph.value(observation, QB.dataSet)
    if not isinstance(dataset, URIRef):
        return None
    dimensions = _components(graph, dataset)[0]
    values = [graph.value(observation, prop) for prop in dimensions]
    shown = [(label(graph, v) or str(v)) if isinstance(v, URIRef) else str(v) for v in values if v is not None]
    return " · ".join(shown) or None


def csv_cells(table: CubeTable) -> Iterable[str]:
    """Every non-empty cell of the table, as the dataset holds it (before the rule for people)."""
    return (cell for row in table.rows for cell in row if cell)


# Columns --------------------------------------------------------------------------------------------


class _Facts:
    """The graph, with each observation's statements read once: one lookup per observation rather than
    one per cell (a table of 20,000 rows took 25 s cell by cell), and the labels of the few codes once each."""

    def __init__(self, graph: Graph, observations: list[URIRef]) -> None:
        self.graph = graph
        self.observations = observations
        self._of: dict[URIRef, dict[Node, list[Node]]] = {}
        for observation in observations:
            found: dict[Node, list[Node]] = {}
            for _, prop, value in graph.triples((observation, None, None)):
                found.setdefault(prop, []).append(value)
            self._of[observation] = found
        self._labels: dict[Node, str | None] = {}
        self._segments: dict[Node, bool] = {}

    def objects(self, observation: URIRef, prop: URIRef) -> list[Node]:
        return self._of[observation].get(prop, [])

    def all_values(self, prop: URIRef) -> list[Node]:
        return [v for o in self.observations for v in self.objects(o, prop)]

    def single(self, observation: URIRef, prop: URIRef) -> Node | None:
        values = self.objects(observation, prop)
        if len(values) > 1:
            raise TableError(f"<{observation}> has {len(values)} values of <{prop}>; a table cell holds one")
        return values[0] if values else None

    def label(self, node: Node) -> str | None:
        if node not in self._labels:
            self._labels[node] = label(self.graph, node)
        return self._labels[node]

    def is_segment(self, node: Node) -> bool:
        """Whether ``node`` is a segment of a text (it has a selector)."""
        if node not in self._segments:
            self._segments[node] = (node, OA.hasSelector, None) in self.graph
        return self._segments[node]


@dataclass(frozen=True)
class _Part:
    column: Column
    read: Reader


def _itself(facts: _Facts, observation: URIRef) -> str:
    return str(observation)


def _values(prop: URIRef) -> Reader:
    def read(facts: _Facts, observation: URIRef) -> str | None:
        value = facts.single(observation, prop)
        return None if value is None else str(value)

    return read


def _name(prop: URIRef) -> str:
    """A CSVW column name (a URI template variable): the property's local name in snake case."""
    return humanise(str(prop)).replace(" ", "_")


def _title(graph: Graph, prop: URIRef) -> str:
    found = label(graph, prop)
    return found.lower() if found else humanise(str(prop))


def _iri_parts(facts: _Facts, prop: URIRef) -> list[_Part]:
    name, title = _name(prop), _title(facts.graph, prop)
    parts = [_Part(Column(name, f"{title} IRI", "anyURI", str(prop), f"{{+{name}}}"), _values(prop))]
    if any(facts.label(v) for v in facts.all_values(prop)):

        def read(facts: _Facts, observation: URIRef) -> str | None:
            value = facts.single(observation, prop)
            return None if value is None else facts.label(value)

        parts.append(_Part(Column(f"{name}_label", title, "string", suppress=True), read))
    return parts


def _literal_parts(facts: _Facts, prop: URIRef, heading: str | None) -> list[_Part]:
    """A literal component: one column per datatype its values take (language-tagged text is one)."""
    name, title = _name(prop), heading or _title(facts.graph, prop)
    kinds = sorted({_kind(v) for v in facts.all_values(prop) if isinstance(v, Literal)})
    parts = []
    for kind in kinds or [("string", None)]:
        datatype, lang = kind
        several = len(kinds) > 1

        def read(facts: _Facts, observation: URIRef, kind: tuple[str, str | None] = kind) -> str | None:
            value = facts.single(observation, prop)
            return str(value) if isinstance(value, Literal) and _kind(value) == kind else None

        column = Column(
            f"{name}_{datatype}" if several else name,
            f"{title} ({datatype})" if several else title,
            datatype,
            str(prop),
            lang=lang,
        )
        parts.append(_Part(column, read))
    return parts


def _kind(value: Literal) -> tuple[str, str | None]:
    """A literal's CSVW datatype name (XSD's local name; ``string`` for plain and tagged text) and language."""
    if value.language:
        return ("string", value.language)
    datatype = value.datatype or XSD.string
    if not str(datatype).startswith(str(XSD)):
        raise TableError(f"{value!r}: a CSVW column's datatype is one of XSD's; this one is <{datatype}>")
    return (str(datatype)[len(str(XSD)) :], None)


def _source_parts() -> list[_Part]:
    """Where a figure was read (the segment, converted; its exact words, for people) or what it was computed
    from (other figures, for people)."""

    def segments(facts: _Facts, observation: URIRef) -> list[Node]:
        return sorted((s for s in facts.objects(observation, PROV.wasDerivedFrom) if facts.is_segment(s)), key=str)

    def segment(facts: _Facts, observation: URIRef) -> str | None:
        found = segments(facts, observation)
        if len(found) > 1:
            raise TableError(f"<{observation}> cites {len(found)} segments; a table cell holds one")
        return str(found[0]) if found else None

    def quote(facts: _Facts, observation: URIRef) -> str | None:
        g = facts.graph
        exact = [
            str(e)
            for s in segments(facts, observation)
            for selector in g.objects(s, OA.hasSelector)
            if (selector, RDF.type, OA.TextQuoteSelector) in g
            for e in g.objects(selector, OA.exact)
        ]
        return " ".join(sorted(exact)) or None

    def derived(facts: _Facts, observation: URIRef) -> str | None:
        cited = set(segments(facts, observation))
        found = sorted(str(s) for s in facts.objects(observation, PROV.wasDerivedFrom) if s not in cited)
        return " ".join(found) or None

    name = _SEGMENT_COLUMN
    return [
        _Part(Column("quote", "quote", "string", suppress=True), quote),
        _Part(Column(name, "source segment IRI", "anyURI", str(PROV.wasDerivedFrom), f"{{+{name}}}"), segment),
        _Part(Column("derived_from", "derived from IRIs", "anyURI", suppress=True, separator=" "), derived),
    ]


def _components(graph: Graph, dataset: URIRef) -> tuple[list[URIRef], list[URIRef], list[URIRef]]:
    """The dataset's dimensions (by ``qb:order``), measures and attributes (required first), from its DSD."""
    dimensions: list[tuple[int, str, URIRef]] = []
    measures: list[URIRef] = []
    attributes: list[tuple[bool, str, URIRef]] = []
    for structure in graph.objects(dataset, QB.structure):
        for spec in graph.objects(structure, QB.component):
            for prop in graph.objects(spec, QB.dimension):
                order = graph.value(spec, QB.order)
                rank = int(order) if isinstance(order, Literal) else 1 << 30
                dimensions.append((rank, str(prop), URIRef(str(prop))))
            measures += [URIRef(str(p)) for p in graph.objects(spec, QB.measure)]
            for prop in graph.objects(spec, QB.attribute):
                required = graph.value(spec, QB.componentRequired)
                attributes.append(
                    (not (isinstance(required, Literal) and required.value is True), str(prop), URIRef(str(prop)))
                )
    return [d[2] for d in sorted(dimensions)], sorted(set(measures)), [a[2] for a in sorted(attributes)]


# What each column means, for the submission guide ------------------------------------------------------

# A value column's datatype in the words of someone filling in a spreadsheet.
_DATATYPE_WORDS = {
    "integer": "a whole number",
    "decimal": "a number, with a decimal point if it has a fraction",
    "double": "a number",
    "date": "a date, as 2013-03-31",
    "gYear": "a year, as 2013",
    "boolean": "true or false",
    "string": "text",
}


@dataclass(frozen=True)
class ColumnNote:
    """One column of a cube's table as the guide explains it: its header and what a submitter puts in it."""

    title: str
    meaning: str
    required: bool  # a table upload refuses a row with this cell empty


@dataclass(frozen=True)
class TableGuide:
    """A cube's table as the guide explains it: the dataset, its title, its CSV's file name and its columns."""

    dataset: URIRef
    title: str | None
    file_name: str
    columns: tuple[ColumnNote, ...]


def table_guide(graph: Graph, dataset: URIRef) -> TableGuide:
    """What each column of ``dataset``'s table holds, made from the table's own columns and the structure's
    roles (which a table upload, ``ceopgraph.tablesin``, reads by the same headers): nothing about a column
    is said that the columns and the structure do not say. An example is the first value the column holds."""
    table = cube_table(graph, dataset)
    dimensions, measures, _ = _components(graph, dataset)
    required = _required_attributes(graph, dataset)
    dimension_titles = [_title(graph, d) for d in dimensions]
    value_columns = sum(1 for c in table.columns if c.property_url in {str(m) for m in measures})
    notes = []
    for index, column in enumerate(table.columns):
        example = next((row[index] for row in table.rows if row[index]), None)
        prop = URIRef(column.property_url) if column.property_url else None
        notes.append(_note(column, prop, example, dimensions, measures, required, dimension_titles, value_columns))
    return TableGuide(dataset, table.title, table.file_name, tuple(notes))


def _note(
    column: Column,
    prop: URIRef | None,
    example: str | None,
    dimensions: list[URIRef],
    measures: list[URIRef],
    required: set[URIRef],
    dimension_titles: list[str],
    value_columns: int,
) -> ColumnNote:
    title = column.title
    like = f" (as {example})" if example else ""
    if column.name == "observation":
        made = " and ".join(dimension_titles)
        return ColumnNote(
            title,
            "The figure's address. Keep it on a row you change; leave it blank on a new row, whose address is "
            f"made from the dataset and the row's {made}.",
            False,
        )
    if prop == RDFS.label:
        return ColumnNote(title, "The figure's name, as people read it" + like + ".", False)
    if column.name == "quote":
        return ColumnNote(
            title,
            "The exact words of the source the figure is read from, copied character for character from the "
            "news item you upload with the table (else the dataset's own source).",
            False,
        )
    if column.name == _SEGMENT_COLUMN:
        return ColumnNote(
            title,
            "Where the quote is in its source. Keep it on a row you change; leave it blank on a new row: "
            "it is made from the quote.",
            False,
        )
    if column.name == "derived_from":
        return ColumnNote(
            title,
            "For a figure computed from other figures: their observation IRIs, separated by spaces. "
            "Blank for a figure read from the source.",
            False,
        )
    if prop is None:  # a code's label beside its IRI column
        return ColumnNote(
            title,
            f"The {title}'s name, for reading: it is not read back from an upload; change the IRI beside it.",
            False,
        )
    if prop in measures:
        several = " Fill in one value column on each row." if value_columns > 1 else ""
        words = _DATATYPE_WORDS.get(column.datatype, column.datatype)
        return ColumnNote(title, f"The figure, as {words}{like}.{several}", value_columns == 1)
    if prop in dimensions:
        others = [t for t in dimension_titles if t != title.removesuffix(" IRI")]
        along = f"; with the {' and '.join(others)}, it says which figure the row is" if others else ""
        return ColumnNote(title, f"Which {title.removesuffix(' IRI')}: its full IRI{like}{along}.", True)
    needed = prop in required
    if column.value_url is not None:
        return ColumnNote(title, f"The {title.removesuffix(' IRI')}: its full IRI{like}.", needed)
    words = _DATATYPE_WORDS.get(column.datatype, column.datatype)
    return ColumnNote(title, f"The {title}, as {words}.", needed)


def _required_attributes(graph: Graph, dataset: URIRef) -> set[URIRef]:
    """The attributes the dataset's structure says every observation has (``qb:componentRequired true``)."""
    return {
        URIRef(str(prop))
        for structure in graph.objects(dataset, QB.structure)
        for spec in graph.objects(structure, QB.component)
        if graph.value(spec, QB.componentRequired) == Literal(True)
        for prop in graph.objects(spec, QB.attribute)
    }
