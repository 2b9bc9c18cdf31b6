"""The tidy table of a cube and its CSVW metadata, from the built dataset (``ceopgraph.tables``)."""

from __future__ import annotations

import csv
import io
import json

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, XSD

from ceopgraph import csvsafe, tables
from ceopgraph.namespaces import QB, SDMX_MEASURE


@pytest.fixture(scope="module")
def table(union: Graph) -> tables.CubeTable:
    (dataset,) = tables.datasets(union)
    return tables.cube_table(union, dataset)


def _rows(table: tables.CubeTable) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(table.csv().decode("utf-8"))))


def test_one_row_per_observation_with_its_iri(union: Graph, table: tables.CubeTable) -> None:
    observations = {str(o) for o in union.subjects(QB.dataSet, table.dataset)}
    rows = _rows(table)
    assert len(rows) == len(observations) == 8
    assert {row["observation IRI"] for row in rows} == observations


def test_rows_are_ordered_by_the_dimensions_then_the_observation(table: tables.CubeTable) -> None:
    rows = _rows(table)
    keys = [(r["statistic IRI"], r["reference period IRI"], r["observation IRI"]) for r in rows]
    assert keys == sorted(keys)


@pytest.mark.parametrize(
    ("observation", "column", "cell"),
    [
        ("children-safeguarded/2012-2013", "value (integer)", "790"),
        ("children-safeguarded/2012-2013", "value (decimal)", ""),
        ("children-safeguarded-change/2012-2013", "value (decimal)", "85"),
        ("children-safeguarded-change/2012-2013", "value (integer)", ""),
        ("children-safeguarded/2012-2013", "statistic", "Children safeguarded and protected"),
        ("children-safeguarded/2012-2013", "reference period", "Government year 2012-2013"),
        ("children-safeguarded/2012-2013", "unit of measure", "children"),
        ("children-safeguarded/2012-2013", "figure status", "reported"),
        ("children-safeguarded/2012-2013", "precision", "exact"),
        ("children-safeguarded/2012-2013", "quote", "The Centre safeguarded and protected 790 children in 2012/2013"),
        ("children-safeguarded-change/2012-2013", "comparison period IRI", "gy:2011-2012"),
        ("children-safeguarded/2011-2012", "quote", ""),
        ("children-safeguarded/2011-2012", "source segment IRI", ""),
        ("children-safeguarded/2011-2012", "figure status", "derived"),
    ],
)
def test_cells_hold_what_the_cube_states(table: tables.CubeTable, observation: str, column: str, cell: str) -> None:
    rows = {r["observation IRI"].rsplit("annual-review-2012-13/", 1)[1]: r for r in _rows(table)}
    expected = cell.replace("gy:", "http://reference.data.gov.uk/id/government-year/")
    assert rows[observation][column] == expected


def test_a_derived_figure_lists_what_it_was_computed_from(table: tables.CubeTable) -> None:
    rows = {r["observation IRI"]: r for r in _rows(table)}
    derived = rows[str(table.dataset) + "/reports-received/2011-2012"]["derived from IRIs"].split(" ")
    assert derived == [
        str(table.dataset) + "/reports-received-change/2012-2013",
        str(table.dataset) + "/reports-received/2012-2013",
    ]


def test_no_cell_of_the_published_data_needs_neutralising(table: tables.CubeTable) -> None:
    """The round trip gives the exact values only while the rule for people changes no cell."""
    cells = list(tables.csv_cells(table)) + [c.title for c in table.columns]
    assert cells
    assert [c for c in cells if csvsafe.safe_cell(c) != c] == []


def test_a_cell_that_would_run_as_a_formula_is_neutralised(union: Graph, table: tables.CubeTable) -> None:
    graph = Graph()
    graph += union
    observation = URIRef(str(table.dataset) + "/children-safeguarded/2012-2013")
    graph.set((observation, URIRef("http://www.w3.org/2000/01/rdf-schema#label"), Literal("=1+1", lang="en")))
    rows = {r["observation IRI"]: r for r in _rows(tables.cube_table(graph, table.dataset))}
    assert rows[str(observation)]["observation"] == "'=1+1"


def test_the_metadata_describes_the_csv_beside_it(table: tables.CubeTable) -> None:
    metadata = json.loads(table.metadata_json())
    header = next(csv.reader(io.StringIO(table.csv().decode("utf-8"))))
    columns = metadata["tableSchema"]["columns"]
    assert metadata["@context"] == "http://www.w3.org/ns/csvw"
    assert metadata["url"] == table.file_name == "annual-review-2012-13.csv"
    assert table.metadata_name == "annual-review-2012-13.csv-metadata.json"
    assert [c["titles"] for c in columns if not c.get("virtual")] == header
    assert metadata["tableSchema"]["primaryKey"] == "observation"
    assert metadata["tableSchema"]["aboutUrl"] == "{+observation}"
    virtual = {(c["propertyUrl"], c["valueUrl"]) for c in columns if c.get("virtual")}
    assert virtual == {("rdf:type", "qb:Observation"), (str(QB.dataSet), str(table.dataset))}


def test_each_measure_datatype_has_its_column(union: Graph, table: tables.CubeTable) -> None:
    """A CSVW column has one datatype: the measure's values keep theirs by going to the column of it."""
    columns = [c for c in table.columns if c.property_url == str(SDMX_MEASURE.obsValue)]
    values = {v for v in union.objects(None, SDMX_MEASURE.obsValue) if isinstance(v, Literal)}
    assert (
        {c.datatype for c in columns}
        == {str(v.datatype).removeprefix(str(XSD)) for v in values}
        == {
            "integer",
            "decimal",
        }
    )


def test_two_values_of_a_component_on_one_observation_are_refused(union: Graph, table: tables.CubeTable) -> None:
    graph = Graph()
    graph += union
    observation = URIRef(str(table.dataset) + "/children-safeguarded/2012-2013")
    graph.add((observation, SDMX_MEASURE.obsValue, Literal(791)))
    with pytest.raises(tables.TableError, match="2 values"):
        tables.cube_table(graph, table.dataset)


def test_every_cube_has_a_table(union: Graph) -> None:
    assert tables.datasets(union) == sorted(union.subjects(RDF.type, QB.DataSet))  # type: ignore[type-var]


def test_the_guide_explains_every_column_of_the_table_in_its_order(union: Graph, table: tables.CubeTable) -> None:
    """Made from the table's own columns: a column the table gains is explained, none is made up."""
    guide = tables.table_guide(union, table.dataset)
    assert [c.title for c in guide.columns] == [c.title for c in table.columns]
    assert (guide.file_name, guide.title) == (table.file_name, table.title)
    assert all(c.meaning.endswith(".") for c in guide.columns)
    meaning = {c.title: c.meaning for c in guide.columns}
    assert "exact words" in meaning["quote"]
    assert (
        "blank on a new row" in meaning["observation IRI"]
        and "statistic and reference period" in meaning["observation IRI"]
    )
    assert "not read back" in meaning["statistic"]  # a code's label beside its IRI
    assert meaning["value (integer)"].startswith("The figure, as a whole number (as ")


def test_the_guide_marks_required_what_an_upload_refuses_to_miss(union: Graph, table: tables.CubeTable) -> None:
    """The dimensions and the required attributes (by the structure); two value columns, so neither alone."""
    guide = tables.table_guide(union, table.dataset)
    required = [c.title for c in guide.columns if c.required]
    assert required == [
        "statistic IRI",
        "reference period IRI",
        "unit of measure IRI",
        "figure status IRI",
        "precision IRI",
    ]
    values = [c for c in guide.columns if c.title.startswith("value (")]
    assert len(values) == 2 and all("one value column on each row" in c.meaning for c in values)
