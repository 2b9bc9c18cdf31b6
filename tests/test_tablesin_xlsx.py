"""Tables in from a spreadsheet (``tablesin.read_xlsx``), pure: the download saved as XLSX reads as the CSV
does, a formula is a problem and never evaluated, a text cell beginning ``=`` is a value, and the zip, its
parts, the shared-strings table and the rows are bounded before or while they are read."""

from __future__ import annotations

import csv
import io
import zipfile
from xml.etree import ElementTree

import openpyxl
import pytest
from rdflib import Dataset, Graph, Literal, URIRef
from rdflib.namespace import RDFS

from ceopgraph import tables, tablesin
from ceopgraph.config import Settings
from ceopgraph.releases.content import content_of
from ceopgraph.tablesin import TableProblems, TableTooLarge, TableUpload

from .spreadsheets import workbook

NAME = "annual-review-2012-13.xlsx"
SINCE_LAUNCH = (
    "https://w3id.org/ceopgraph/data/annual-review-2012-13/children-protected-since-launch/since-launch-to-2012-2013"
)


@pytest.fixture(scope="module")
def content(dataset: Dataset, settings: Settings) -> Dataset:
    return content_of(dataset, settings.scheme)


@pytest.fixture(scope="module")
def download(union: Graph) -> list[list[str]]:
    (cube,) = tables.datasets(union)
    return list(csv.reader(io.StringIO(tables.cube_table(union, cube).csv().decode("utf-8"), newline="")))


def _with_part(data: bytes, name: str, part: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as original, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as copy:
        for member in original.infolist():
            copy.writestr(member, part if member.filename == name else original.read(member))
        if name not in original.namelist():
            copy.writestr(name, part)
    return out.getvalue()


def test_the_download_as_a_workbook_makes_the_content_it_came_from(
    download: list[list[str]], content: Dataset, settings: Settings
) -> None:
    upload = TableUpload(workbook(download), NAME, format="xlsx")
    assert set(tablesin.draft_content(upload, content, settings.scheme).quads()) == set(content.quads())
    header, rows = tablesin.read_xlsx(upload.data)
    assert header == tuple(download[0]) and [n for n, _ in rows] == list(range(2, len(download) + 1))


def test_a_formula_is_a_problem_where_it_is_and_a_text_beginning_with_equals_is_a_value(
    download: list[list[str]], content: Dataset, settings: Settings
) -> None:
    column = download[0].index("value (integer)")
    rows = [list(r) for r in download]
    rows[1][column] = "=!=SUM(H3:H4)"  # saved as the formula =SUM(H3:H4)
    with pytest.raises(TableProblems) as refused:
        tablesin.read_xlsx(workbook(rows))
    (problem,) = refused.value.problems
    assert (problem.row, problem.column, problem.value) == (2, "value (integer)", "=SUM(H3:H4)")
    assert "formula" in problem.message
    rows = [list(r) for r in download]
    rows[1][download[0].index("observation")] = "=HYPERLINK(1)"
    made = tablesin.draft_content(TableUpload(workbook(rows), NAME, format="xlsx"), content, settings.scheme)
    labels = {o for s, p, o, _ in made.quads((URIRef(SINCE_LAUNCH), RDFS.label, None, None))}
    assert labels == {Literal("=HYPERLINK(1)", lang="en")}


def test_a_part_larger_than_the_bound_is_refused_from_the_zip_directory(download: list[list[str]]) -> None:
    bomb = _with_part(workbook(download), "xl/media/zeros.bin", bytes(tablesin.MAX_XLSX_MEMBER_BYTES + 1))
    assert len(bomb) < tablesin.MAX_XLSX_MEMBER_BYTES // 100  # small as sent, large unzipped
    with pytest.raises(TableTooLarge, match=r"xl/media/zeros\.bin"):
        tablesin.read_xlsx(bomb)


SHARED_STRINGS = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1">'
    b"<si><t>words</t></si></sst>"
)


def test_the_shared_strings_table_is_bounded(download: list[list[str]], monkeypatch: pytest.MonkeyPatch) -> None:
    data = _with_part(workbook(download), "xl/sharedStrings.xml", SHARED_STRINGS)
    size = len(SHARED_STRINGS)
    monkeypatch.setattr(tablesin, "MAX_SHARED_STRINGS_BYTES", size - 1)
    with pytest.raises(TableTooLarge, match="sharedStrings"):
        tablesin.read_xlsx(data)
    monkeypatch.setattr(tablesin, "MAX_SHARED_STRINGS_BYTES", size)
    assert tablesin.read_xlsx(data)[0] == tuple(download[0])


def test_a_part_with_a_dtd_is_refused(download: list[list[str]]) -> None:
    data = workbook(download)
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        part = book.read("xl/workbook.xml")
    declared = part.replace(b"<workbook", b'<!DOCTYPE workbook [<!ENTITY a "aaaa">]><workbook', 1)
    assert declared != part
    with pytest.raises(TableProblems, match="problem") as refused:
        tablesin.read_xlsx(_with_part(data, "xl/workbook.xml", declared))
    assert "DTD" in refused.value.problems[0].message


def test_the_xml_parser_itself_refuses_entities_below_the_readers_check(
    download: list[list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Defence in depth: with the reader's DTD check out of the way, openpyxl's parser (defusedxml, which
    openpyxl uses once installed) still refuses the entity; nothing is expanded."""
    from openpyxl.xml import DEFUSEDXML

    assert DEFUSEDXML
    data = workbook(download)
    sheet = "xl/worksheets/sheet1.xml"
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        part = book.read(sheet)
    declared = part.replace(b"<worksheet", b'<!DOCTYPE worksheet [<!ENTITY a "expanded">]><worksheet', 1)
    declared = declared.replace(b"<t>" + download[0][0].encode() + b"</t>", b"<t>&a;</t>", 1)
    assert b"&a;" in declared
    monkeypatch.setattr(tablesin, "_has_dtd", lambda archive, member: False)
    with pytest.raises(TableProblems, match="problem") as refused:
        tablesin.read_xlsx(_with_part(data, sheet, declared))
    assert "not readable as an XLSX workbook" in refused.value.problems[0].message


def test_links_to_other_workbooks_are_never_read(download: list[list[str]]) -> None:
    """A workbook that names an external link part whose XML does not even parse: opened with its links kept,
    openpyxl reads that part (and fails); the reader never opens it."""
    data = workbook(download)
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        names = book.read("xl/workbook.xml")
        rels = book.read("xl/_rels/workbook.xml.rels")
    names = names.replace(
        b"<definedNames />",
        b'<externalReferences><externalReference r:id="rId9" /></externalReferences><definedNames />',
    )
    rels = rels.replace(
        b"</Relationships>",
        b'<Relationship Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/externalLink" '
        b'Target="externalLinks/externalLink1.xml" Id="rId9" /></Relationships>',
    )
    linked = _with_part(_with_part(data, "xl/workbook.xml", names), "xl/_rels/workbook.xml.rels", rels)
    linked = _with_part(linked, "xl/externalLinks/externalLink1.xml", b"<externalLink><broken")
    with pytest.raises(ElementTree.ParseError):
        openpyxl.load_workbook(io.BytesIO(linked), read_only=True, keep_links=True)
    assert tablesin.read_xlsx(linked)[0] == tuple(download[0])


@pytest.mark.parametrize(
    ("data", "says"),
    [(b"observation IRI,quote\r\n", "not a zip"), (b"PK\x03\x04broken", "not a zip")],
    ids=["csv", "broken zip"],
)
def test_what_is_not_a_workbook_is_one_problem(data: bytes, says: str) -> None:
    with pytest.raises(TableProblems) as refused:
        tablesin.read_xlsx(data)
    (problem,) = refused.value.problems
    assert says in problem.message


def test_a_cell_past_the_bound_is_a_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    """(A workbook's cell holds at most 32,767 characters, below the bound: lowered here to see it hold.)"""
    monkeypatch.setattr(tablesin, "MAX_CELL_CHARS", 10)
    assert tablesin.read_xlsx(workbook([["quote"], ["x" * 10]]))[1] == [(2, ("x" * 10,))]
    with pytest.raises(TableProblems) as refused:
        tablesin.read_xlsx(workbook([["quote"], ["x" * 11]]))
    (problem,) = refused.value.problems
    assert (problem.row, problem.column) == (2, "quote") and "characters" in problem.message


def test_rows_are_bounded_however_far_down_the_sheet_they_are(monkeypatch: pytest.MonkeyPatch) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet["A1"] = "quote"
    sheet["A1000000"] = "far down"
    out = io.BytesIO()
    book.save(out)
    with pytest.raises(TableTooLarge, match="past row"):
        tablesin.read_xlsx(out.getvalue())
    monkeypatch.setattr(tablesin, "MAX_ROWS", 3)
    with pytest.raises(TableTooLarge, match="past row 4"):
        tablesin.read_xlsx(workbook([["quote"], ["a"], ["b"], ["c"], ["d"]]))
    assert len(tablesin.read_xlsx(workbook([["quote"], ["a"], ["b"], ["c"]]))[1]) == 3
