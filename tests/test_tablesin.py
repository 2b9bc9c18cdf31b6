"""The table reader (``tablesin``), pure: each kind of problem is found where a spreadsheet shows it (row,
column, value, message), a table with one is refused whole, the bounds hold, cells are values and never
formulas, and a good table replaces its datasets' observations and nothing else."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rdflib import Dataset, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, PROV, RDFS

from ceopgraph import tables, tablesin
from ceopgraph.config import Settings
from ceopgraph.namespaces import OA, QB, SCHEMA
from ceopgraph.releases.content import content_of
from ceopgraph.tablesin import Problem, TableProblems, TableTooLarge, TableUpload

NAME = "annual-review-2012-13.csv"
DATA = "https://w3id.org/ceopgraph/data/annual-review-2012-13"
SINCE_LAUNCH = f"{DATA}/children-protected-since-launch/since-launch-to-2012-2013"
SAFEGUARDED = f"{DATA}/children-safeguarded/2012-2013"
STATISTIC = "https://w3id.org/ceopgraph/def/statistic/"
UNIT = "https://w3id.org/ceopgraph/def/unit/"
GY = "http://reference.data.gov.uk/id/government-year/"


@pytest.fixture(scope="module")
def content(dataset: Dataset, settings: Settings) -> Dataset:
    return content_of(dataset, settings.scheme)


@pytest.fixture(scope="module")
def download(union: Graph) -> list[dict[str, str]]:
    """The current table's rows, by header (the download's order of columns kept by ``_csv``)."""
    (cube,) = tables.datasets(union)
    text = tables.cube_table(union, cube).csv().decode("utf-8")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def _csv(rows: list[dict[str, str]], header: list[str] | None = None) -> bytes:
    names = header or list(rows[0])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(names)
    writer.writerows([[row.get(n, "") for n in names] for row in rows])
    return out.getvalue().encode("utf-8")


def _with(rows: list[dict[str, str]], iri: str, **cells: str) -> list[dict[str, str]]:
    """``rows`` with the named cells of observation ``iri``'s row changed."""
    return [{**r, **cells} if r["observation IRI"] == iri else dict(r) for r in rows]


def _union(made: Dataset) -> Graph:
    union = Graph()
    for s, p, o, _ in made.quads():
        union.add((s, p, o))
    return union


def _problems(data: bytes, content: Dataset, settings: Settings, **given: object) -> tuple[Problem, ...]:
    with pytest.raises(TableProblems) as refused:
        tablesin.draft_content(TableUpload(data, NAME, **given), content, settings.scheme)  # type: ignore[arg-type]
    return refused.value.problems


@dataclass(frozen=True)
class Case:
    name: str
    cells: dict[str, str]  # the since-launch row's changed cells
    column: str
    value: str
    says: str
    upload: dict[str, object] | None = None


NEW_DATASET = "https://w3id.org/ceopgraph/data/annual-review-2013-14"

CASES = [
    Case("wrong type", {"value (integer)": "2,255"}, "value (integer)", "2,255", "not a whole number"),
    Case("a formula is a value", {"value (integer)": "=1+1"}, "value (integer)", "=1+1", "not a whole number"),
    Case("not an IRI", {"unit of measure IRI": "child"}, "unit of measure IRI", "child", "not an IRI"),
    Case(
        "an IRI too long",
        {"unit of measure IRI": UNIT + "c" * 3000},
        "unit of measure IRI",
        (UNIT + "c" * 3000)[:200],
        "at most 2,048 characters",
    ),
    Case(
        "unknown code",
        {"statistic IRI": STATISTIC + "no-such-statistic"},
        "statistic IRI",
        STATISTIC + "no-such-statistic",
        "unknown code",
    ),
    Case(
        "a code of another list",
        {"precision IRI": STATISTIC + "children-safeguarded"},
        "precision IRI",
        STATISTIC + "children-safeguarded",
        "unknown code",
    ),
    Case(
        "unknown period",
        {"reference period IRI": GY + "1999-2000"},
        "reference period IRI",
        GY + "1999-2000",
        "unknown period",
    ),
    Case("missing required cell", {"unit of measure IRI": ""}, "unit of measure IRI", "", "is required"),
    Case("missing value", {"value (integer)": ""}, "value", "", "value is required"),
    Case("a value twice", {"value (decimal)": "2255"}, "value (integer)", "2255", "in another column"),
    Case("quote not found", {"quote": "2,255 children, or so"}, "quote", "2,255 children, or so", "not in the source"),
    Case(
        "a new dataset not ours",
        {"observation IRI": "", "dataset IRI": "http://example.org/data/x"},
        "dataset IRI",
        "http://example.org/data/x",
        "a new dataset's IRI is",
    ),
    Case(
        "a new observation outside its dataset",
        {"observation IRI": "https://w3id.org/ceopgraph/data/elsewhere/x"},
        "observation IRI",
        "https://w3id.org/ceopgraph/data/elsewhere/x",
        "begins with its dataset's",
    ),
    Case(
        "a new segment not ours",
        {"source segment IRI": "http://example.org/segment", "quote": "2,255"},
        "source segment IRI",
        "http://example.org/segment",
        "one of ours",
    ),
    Case(
        "dataset without a title",
        {"observation IRI": "", "dataset IRI": NEW_DATASET},
        "dataset IRI",
        NEW_DATASET,
        "give it a title",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_each_problem_is_found_where_a_spreadsheet_shows_it(
    case: Case, download: list[dict[str, str]], content: Dataset, settings: Settings
) -> None:
    rows = _with(download, SINCE_LAUNCH, **case.cells)
    header = [*download[0], "dataset IRI"]
    (problem,) = _problems(_csv(rows, header), content, settings, **(case.upload or {}))
    assert (problem.row, problem.column, problem.value) == (2, case.column, case.value)  # the header is row 1
    assert case.says in problem.message


def test_an_unknown_column_is_named_in_the_header_row(
    download: list[dict[str, str]], content: Dataset, settings: Settings
) -> None:
    rows = [{**r, "colour": "blue"} for r in download]
    (problem,) = _problems(_csv(rows), content, settings)
    assert (problem.row, problem.column, problem.value) == (1, "colour", "colour")
    assert "unknown column" in problem.message


def test_a_column_without_a_name_is_passed_over_while_its_cells_are_empty(
    download: list[dict[str, str]], content: Dataset, settings: Settings
) -> None:
    header = [*download[0], ""]
    made = tablesin.draft_content(TableUpload(_csv(download, header), NAME), content, settings.scheme)
    assert set(made.quads()) == set(content.quads())
    rows = [{**r, "": "stray"} if r["observation IRI"] == SINCE_LAUNCH else r for r in download]
    (problem,) = _problems(_csv(rows, header), content, settings)
    assert (problem.row, problem.column, problem.value) == (2, "", "stray")


def test_a_duplicate_key_is_found_on_the_second_row(
    download: list[dict[str, str]], content: Dataset, settings: Settings
) -> None:
    again = {**download[0], "observation IRI": ""}  # the same dataset and dimension key, its IRI left blank
    (problem,) = _problems(_csv([*download, again]), content, settings)
    assert (problem.row, problem.column) == (len(download) + 2, "statistic IRI")
    assert "row 2" in problem.message and "dimension key" in problem.message
    (same,) = _problems(_csv([*download, download[0]]), content, settings)
    assert (same.row, same.column, same.value) == (len(download) + 2, "observation IRI", SINCE_LAUNCH)


def test_every_problem_is_listed_and_nothing_is_made(
    download: list[dict[str, str]], content: Dataset, settings: Settings
) -> None:
    rows = _with(download, SINCE_LAUNCH, **{"value (integer)": "x"})
    rows = _with(rows, SAFEGUARDED, **{"precision IRI": ""})
    with pytest.raises(TableProblems) as refused:
        tablesin.draft_content(TableUpload(_csv(rows), NAME), content, settings.scheme)
    assert [(p.row, p.column) for p in refused.value.problems] == [(2, "value (integer)"), (4, "precision IRI")]
    assert [n for n, _ in refused.value.rows] == [2, 4]  # the rows a page shows, with their cells
    assert refused.value.header == tuple(download[0])


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"\xff\xfeo\x00b\x00s\x00", "not UTF-8"),
        (b"a,b\r\n\x00,1\r\n", "NUL"),
        (b'a,"b\r\n', "not readable as CSV"),
        (b"", "empty"),
        (",".join(f"c{i}" for i in range(tablesin.MAX_COLUMNS + 1)).encode(), "columns"),
        (b"quote\r\n" + b"x" * (tablesin.MAX_CELL_CHARS + 1) + b"\r\n", "characters"),
    ],
    ids=["not utf-8", "nul", "unclosed quote", "empty", "too many columns", "too long a cell"],
)
def test_what_cannot_be_read_is_one_problem(data: bytes, says: str) -> None:
    with pytest.raises(TableProblems) as refused:
        tablesin.read_csv(data)
    (problem,) = refused.value.problems
    assert says in problem.message


def test_too_many_rows_is_too_large() -> None:
    with pytest.raises(TableTooLarge, match="more than"):
        tablesin.read_csv(b"quote\r\n" + b"x\r\n" * (tablesin.MAX_ROWS + 1))
    assert len(tablesin.read_csv(b"quote\r\n" + b"x\r\n" * tablesin.MAX_ROWS)[1]) == tablesin.MAX_ROWS


def test_locating_quotes_is_bounded(
    download: list[dict[str, str]],
    content: Dataset,
    settings: Settings,
    source_text: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each quote to locate is one scan of the source text; the scans of one table are bounded together."""
    rows = _with(download, SINCE_LAUNCH, quote="2,255")
    rows = _with(rows, SAFEGUARDED, quote="790 children")
    monkeypatch.setattr(tablesin, "MAX_LOCATE_CHARS", len(source_text))
    with pytest.raises(TableTooLarge, match="quotes"):
        tablesin.draft_content(TableUpload(_csv(rows), NAME), content, settings.scheme)
    monkeypatch.setattr(tablesin, "MAX_LOCATE_CHARS", 2 * len(source_text))
    tablesin.draft_content(TableUpload(_csv(rows), NAME), content, settings.scheme)


def test_cells_are_values_and_a_neutralised_cell_is_read_back(
    download: list[dict[str, str]], content: Dataset, settings: Settings
) -> None:
    """A label beginning ``=`` is text; the download's ``'`` before such a cell is taken off again."""
    rows = _with(download, SINCE_LAUNCH, observation="'=HYPERLINK(1)")
    made = _union(tablesin.draft_content(TableUpload(_csv(rows), NAME), content, settings.scheme))
    assert set(made.objects(URIRef(SINCE_LAUNCH), RDFS.label)) == {Literal("=HYPERLINK(1)", lang="en")}
    rows = _with(download, SINCE_LAUNCH, observation="@SUM(1)")
    made = _union(tablesin.draft_content(TableUpload(_csv(rows), NAME), content, settings.scheme))
    assert set(made.objects(URIRef(SINCE_LAUNCH), RDFS.label)) == {Literal("@SUM(1)", lang="en")}


def test_the_download_makes_the_content_it_came_from(
    download: list[dict[str, str]], content: Dataset, settings: Settings
) -> None:
    made = tablesin.draft_content(TableUpload(_csv(download), NAME), content, settings.scheme)
    assert set(made.quads()) == set(content.quads())


def test_an_uploaded_source_no_row_needs_is_not_added(
    download: list[dict[str, str]], content: Dataset, settings: Settings, source_text: str
) -> None:
    upload = TableUpload(_csv(download), NAME, ("Other words. " + source_text).encode(), "news.txt")
    assert set(tablesin.draft_content(upload, content, settings.scheme).quads()) == set(content.quads())


def test_missing_rows_remove_observations_and_nothing_else(
    download: list[dict[str, str]], content: Dataset, settings: Settings
) -> None:
    kept = [r for r in download if r["observation IRI"] != SINCE_LAUNCH]
    made = tablesin.draft_content(TableUpload(_csv(kept), NAME), content, settings.scheme)
    assert set(content.quads()) - set(made.quads()) == {q for q in content.quads() if q[0] == URIRef(SINCE_LAUNCH)}
    assert set(made.quads()) <= set(content.quads())


def test_a_new_dataset_is_made_in_the_same_structure_with_its_source(
    download: list[dict[str, str]], content: Dataset, settings: Settings, union: Graph
) -> None:
    text = "In 2013/2014 the Centre safeguarded and protected 1,000 children, it said today."
    row = {
        "dataset IRI": NEW_DATASET,
        "observation": "Children safeguarded and protected, 2013-2014",
        "statistic IRI": STATISTIC + "children-safeguarded",
        "reference period IRI": GY + "2012-2013",
        "value": "1000",
        "unit of measure IRI": UNIT + "child",
        "figure status IRI": "https://w3id.org/ceopgraph/def/figure-status/reported",
        "precision IRI": "https://w3id.org/ceopgraph/def/precision/exact",
        "quote": "the Centre safeguarded and protected 1,000 children",
    }
    upload = TableUpload(_csv([row]), "new.csv", text.encode("utf-8"), "review-2013-14.txt", "Review 2013/14: figures")
    made = _union(tablesin.draft_content(upload, content, settings.scheme))
    dataset = URIRef(NEW_DATASET)
    (old,) = tables.datasets(union)
    assert made.value(dataset, QB.structure) == union.value(old, QB.structure)
    assert made.value(dataset, DCTERMS.title) == Literal("Review 2013/14: figures", lang="en")
    source = made.value(dataset, DCTERMS.source)
    assert source == URIRef("https://w3id.org/ceopgraph/id/news-item/review-2013-14")
    assert made.value(source, SCHEMA.text) == Literal(text)
    observation = URIRef(f"{NEW_DATASET}/children-safeguarded/2012-2013")
    assert (observation, QB.dataSet, dataset) in made
    segment = URIRef(f"{source}/segment/annual-review-2013-14-children-safeguarded-2012-2013")
    start = text.index("the Centre")
    assert set(made.objects(URIRef(f"{segment}/position"), OA.start)) == {Literal(start)}
    assert set(made.objects(URIRef(f"{segment}/position"), OA.end)) == {Literal(start + len(row["quote"]))}
    assert made.value(URIRef(f"{segment}/quote"), OA.prefix) == Literal("In 2013/2014 ")
    assert made.value(URIRef(f"{segment}/quote"), OA.suffix) == Literal(", it said today.")
    assert set(_union(content)) <= set(made)  # every observation of the old dataset stays as it was


def test_two_new_datasets_citing_one_source_get_a_segment_each(content: Dataset, settings: Settings) -> None:
    """Two new datasets with the same key (statistic, period) quoting one uploaded source: each figure gets its
    own segment (they shared one, with both figures' selectors, which the shapes then found wrong)."""
    text = "The Centre safeguarded 1,000 children. Its partners safeguarded 2,000 children."
    rows = [
        {
            "dataset IRI": dataset,
            "observation": "Children safeguarded and protected, 2013-2014",
            "statistic IRI": STATISTIC + "children-safeguarded",
            "reference period IRI": GY + "2013-2014",
            "value": value,
            "unit of measure IRI": UNIT + "child",
            "figure status IRI": "https://w3id.org/ceopgraph/def/figure-status/reported",
            "precision IRI": "https://w3id.org/ceopgraph/def/precision/exact",
            "quote": quote,
        }
        for dataset, value, quote in [
            (NEW_DATASET, "1000", "The Centre safeguarded 1,000 children"),
            (NEW_DATASET + "-partners", "2000", "Its partners safeguarded 2,000 children"),
        ]
    ]
    upload = TableUpload(_csv(rows), "new.csv", text.encode("utf-8"), "review-2013-14.txt", "Review 2013/14: figures")
    made = _union(tablesin.draft_content(upload, content, settings.scheme))
    cited = {
        obs: made.value(obs, PROV.wasDerivedFrom)
        for dataset in (NEW_DATASET, NEW_DATASET + "-partners")
        for obs in made.subjects(QB.dataSet, URIRef(dataset))
    }
    assert len(cited) == 2 and len(set(cited.values())) == 2, cited
    for segment in cited.values():
        assert len(set(made.objects(segment, OA.hasSelector))) == 2  # one quote and one position each


# Cells a submitter's table might hold, good and bad: the download's own, formulas, IRIs, numbers, quotes.
_CELLS = st.one_of(
    st.sampled_from(["", "=1+1", "@x", "-1", "2,255", "85", "x" * 40, '"', "\r\n", "'=1"]),
    st.text(max_size=20),
    st.from_regex(r"https://w3id\.org/ceopgraph/(data|def)/[a-z/-]{0,30}", fullmatch=True),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_table_is_content_or_its_problems_never_another_error(
    data: st.DataObject, download: list[dict[str, str]], content: Dataset, settings: Settings
) -> None:
    """Rows of the download with cells replaced at random: a draft's content, or the table's problems, each at
    a row and column that exist; nothing else is raised."""
    header = list(download[0])
    rows = [dict(r) for r in download]
    for _ in range(data.draw(st.integers(0, 6))):
        row = data.draw(st.integers(0, len(rows) - 1))
        rows[row][data.draw(st.sampled_from(header))] = data.draw(_CELLS)
    try:
        tablesin.draft_content(TableUpload(_csv(rows, header), NAME), content, settings.scheme)
    except TableProblems as refused:
        assert refused.problems
        for problem in refused.problems:
            assert 1 <= problem.row <= len(rows) + 1 and problem.column in {*header, "", "dataset IRI", "value"}


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=400))
def test_any_bytes_are_rows_or_problems(data: bytes) -> None:
    try:
        header, rows = tablesin.read_csv(data)
    except (TableProblems, TableTooLarge):
        return
    assert header and all(n >= 2 for n, _ in rows)
    with pytest.raises((TableProblems, TableTooLarge)):
        tablesin.read_xlsx(data)  # a zip is never made at random
