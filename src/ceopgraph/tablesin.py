"""Tables in: a submitter's table (a CSV or an XLSX workbook with the columns of the download,
``ceopgraph.tables``) made into a draft's content.

Download, edit, upload is the round trip, so a submitter never sees RDF. Each dataset the table names is
replaced by its rows: a row that matches an observation (by its IRI, or by its dataset and dimension key
when the IRI cell is blank) replaces it, a new row adds one, a missing row removes one. A dataset that
does not exist yet is made in the structure of the existing cube, with the uploaded source document as its
source. Everything else in the release stays as it is: the result is the release's content with those
datasets' observations replaced, and the write path then treats it as any other draft (shapes, diff).

A row's quote is located in the source text (the uploaded one, else the text of the dataset's
``dct:source``): an exact match gives the ``oa:TextQuoteSelector`` (with 32 characters of prefix and suffix)
and the ``oa:TextPositionSelector`` (Unicode code points from 0, end exclusive) that the published figures
carry. A quote left as the release has it keeps its segment unchanged.

The input is untrusted: it is parsed first (Python's ``csv``, one pass; a workbook as ``read_xlsx`` says),
bounded (bytes by the caller, ``MAX_ROWS`` rows, ``MAX_COLUMNS`` columns, ``MAX_CELL_CHARS`` a cell), and
decided on in that parsed form.
Cells are values, never formulas: ``=1+1`` is a string, and a number column refuses it as a wrong type. A
cell the download neutralised for spreadsheets (``csvsafe``: a leading ``'``) is read back without it.
Every problem is collected and the whole table refused at once (``TableProblems``), so nothing is partial.
Pure: functions of the bytes and of the current release's content; it runs in a validation worker.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import PurePosixPath
from typing import Any
from xml.etree import ElementTree

from rdflib import Dataset, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, PROV, RDF, RDFS, SKOS, XSD
from rdflib.term import Node

from ceopgraph import csvsafe, paths, tables
from ceopgraph.build import PROVENANCE_GRAPH
from ceopgraph.labels import local_name
from ceopgraph.namespaces import OA, QB, SCHEMA, bind_prefixes
from ceopgraph.urischeme import UriScheme

# Bounds on a table (its bytes are bounded by the submission limit before it gets here).
MAX_ROWS = 10_000
MAX_COLUMNS = 64
MAX_CELL_CHARS = 100_000
MAX_IRI_CHARS = 2048  # an IRI cell's longest (a cell of text may be longer)
# Problems listed at most; past them the table is refused with what was found so far.
MAX_PROBLEMS = 200
# Characters of source text scanned in all to locate a table's quotes (each quote is one linear scan of the
# text): past it the table is too large, whatever the worker's time limit would say.
MAX_LOCATE_CHARS = 200_000_000
# Characters of context a quote selector keeps on each side (as the published selectors do).
CONTEXT_CHARS = 32
# The optional column naming a row's dataset (the download names it in its metadata, not in a column).
DATASET_COLUMN = "dataset IRI"
SEGMENT_COLUMN = "source segment IRI"
QUOTE_COLUMN = "quote"
DERIVED_COLUMN = "derived from IRIs"
OBSERVATION_COLUMN = "observation IRI"
LABEL_COLUMN = "observation"
_INTEGER = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)")
_NOT_AN_IRI = f"not an IRI: write the full http:// or https:// address (at most {MAX_IRI_CHARS:,} characters)"
_IRI = re.compile(r"https?://[^\s<>\"{}|\\^`]+")
_DATATYPED = re.compile(r"(.*) \(([A-Za-z]+)\)")
_PERIODS = ("period",)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a table: where (row as a spreadsheet numbers it, the header row 1; column by
    its header), the cell's value, and what to do."""

    row: int
    column: str
    value: str
    message: str

    def as_json(self) -> dict[str, object]:
        return {"row": self.row, "column": self.column, "value": self.value, "message": self.message}


class TableProblems(Exception):
    """A table refused, with every problem found; ``header`` and ``rows`` (the rows that have problems, by
    number) let a page show them in place."""

    def __init__(
        self,
        problems: tuple[Problem, ...],
        header: tuple[str, ...] = (),
        rows: tuple[tuple[int, tuple[str, ...]], ...] = (),
    ) -> None:
        super().__init__(f"the table has {len(problems)} problem{'s' if len(problems) != 1 else ''}")
        self.problems = problems
        self.header = header
        self.rows = rows


class TableTooLarge(Exception):
    """A table past a bound of size rather than of form: rows, a workbook's parts unzipped, its blank rows,
    the scans its quotes need (413, as a draft too large)."""


@dataclass(frozen=True)
class TableUpload:
    """A submitted table: its bytes and name (a file's, ``annual-review-2012-13.csv``, which names the
    dataset its rows belong to when no cell does), an optional source document (UTF-8 text) and a title for
    a dataset the table makes."""

    data: bytes
    name: str
    source: bytes | None = None
    source_name: str | None = None
    title: str | None = None
    format: str = tables.CSV_EXTENSION  # or ``XLSX_EXTENSION``


@dataclass
class _Found:
    """Problems and the rows they are on, gathered over one pass."""

    problems: list[Problem] = field(default_factory=list)

    def add(self, row: int, column: str, value: str, message: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(Problem(row, column, value[:200], message))  # a cell shown, not echoed whole

    @property
    def full(self) -> bool:
        return len(self.problems) >= MAX_PROBLEMS


def read_csv(data: bytes) -> tuple[tuple[str, ...], list[tuple[int, tuple[str, ...]]]]:
    """The header and the rows (numbered as a spreadsheet shows them) of RFC 4180 CSV in UTF-8; a BOM is
    dropped. TableProblems for what cannot be read, TableTooLarge past ``MAX_ROWS``."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TableProblems(
            (Problem(1, "", "", f"the file is not UTF-8 text (byte {exc.start}); save it as CSV UTF-8"),)
        ) from None
    if "\x00" in text:
        raise TableProblems((Problem(1, "", "", "the file holds a NUL character; save it as CSV UTF-8"),))
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[tuple[int, tuple[str, ...]]] = []
    header: tuple[str, ...] = ()
    number = 0
    try:
        for number, cells in enumerate(reader, start=1):
            if number == 1:
                header = tuple(cell.strip() for cell in cells)
                if len(header) > MAX_COLUMNS:
                    raise TableProblems(
                        (Problem(1, "", "", f"the table has {len(header)} columns; at most {MAX_COLUMNS} are read"),)
                    )
                continue
            if number - 1 > MAX_ROWS:
                raise TableTooLarge(f"the table has more than {MAX_ROWS:,} rows; split it into several drafts")
            if len(cells) > MAX_COLUMNS:
                raise TableProblems(
                    (Problem(number, "", "", f"the row has {len(cells)} cells; at most {MAX_COLUMNS} are read"),)
                )
            for index, cell in enumerate(cells):
                if len(cell) > MAX_CELL_CHARS:
                    shown = header[index] if index < len(header) else ""
                    problem = Problem(
                        number,
                        shown,
                        cell[:200],
                        f"the cell holds {len(cell):,} characters; at most {MAX_CELL_CHARS:,}",
                    )
                    raise TableProblems((problem,))
            rows.append((number, tuple(_value(cell) for cell in cells)))
    except csv.Error as exc:
        raise TableProblems((Problem(number + 1, "", "", f"not readable as CSV: {exc}"),)) from None
    if not header:
        raise TableProblems((Problem(1, "", "", "the table is empty: the first row names the columns"),))
    return header, rows


# An XLSX file is a zip of XML parts: bounded from its central directory before anything is opened.
XLSX_EXTENSION = "xlsx"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_XLSX_MEMBERS = 1000
MAX_XLSX_MEMBER_BYTES = 32 * 1024 * 1024  # one part, uncompressed
MAX_XLSX_BYTES = 64 * 1024 * 1024  # every part, uncompressed
MAX_SHARED_STRINGS_BYTES = 8 * 1024 * 1024  # the shared-strings table, read whole by the reader
# Excel's last row: a sheet's rows are never read past it, whatever its dimension says.
_LAST_ROW = 1 << 20
_SHARED_STRINGS = "xl/sharedStrings.xml"


def read_xlsx(data: bytes) -> tuple[tuple[str, ...], list[tuple[int, tuple[str, ...]]]]:
    """The header and rows of an XLSX workbook's first sheet, as ``read_csv`` gives a CSV's.

    The zip is checked from its directory first (members, each one's and all their uncompressed sizes, the
    shared-strings table's), and its XML parts for a DTD; then openpyxl reads it in read-only mode, without
    evaluating anything (``data_only=False``: a formula is a problem, never a value) and without its links to
    other workbooks (``keep_links=False``). Row numbers are the sheet's own."""
    _check_zip(data)
    import openpyxl  # only here: the one reader of spreadsheets, in a validation worker
    from openpyxl.utils.exceptions import InvalidFileException

    unreadable = (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, TypeError, IndexError)
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False, keep_links=False)
    except (*unreadable, ElementTree.ParseError, OSError) as exc:
        raise TableProblems((Problem(1, "", "", f"not readable as an XLSX workbook: {exc}"[:300]),)) from None
    try:
        if not book.worksheets:
            raise TableProblems((Problem(1, "", "", "the workbook has no sheet"),))
        return _sheet_rows(book.worksheets[0])
    except (*unreadable, ElementTree.ParseError) as exc:
        raise TableProblems((Problem(1, "", "", f"not readable as an XLSX workbook: {exc}"[:300]),)) from None
    finally:
        book.close()


def _check_zip(data: bytes) -> None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise TableProblems(
            (Problem(1, "", "", "not an XLSX workbook (not a zip file); save it as .xlsx or CSV"),)
        ) from None
    with archive:
        members = archive.infolist()
        if len(members) > MAX_XLSX_MEMBERS:
            raise TableTooLarge(f"the workbook has {len(members):,} parts; at most {MAX_XLSX_MEMBERS:,} are read")
        total = 0
        for member in members:
            total += member.file_size
            limit = MAX_SHARED_STRINGS_BYTES if member.filename == _SHARED_STRINGS else MAX_XLSX_MEMBER_BYTES
            if member.file_size > limit:
                raise TableTooLarge(
                    f"the workbook's part {member.filename[:100]} takes {member.file_size:,} bytes unzipped; at "
                    f"most {limit:,}"
                )
            if member.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise TableProblems(
                    (Problem(1, "", "", f"{member.filename[:100]}: an unusual compression; save it again"),)
                )
        if total > MAX_XLSX_BYTES:
            raise TableTooLarge(f"the workbook takes {total:,} bytes unzipped; at most {MAX_XLSX_BYTES:,}")
        for member in members:
            if member.filename.endswith((".xml", ".rels")) and _has_dtd(archive, member):
                raise TableProblems((Problem(1, "", "", f"{member.filename[:100]}: a DTD, which no workbook needs"),))


def _has_dtd(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> bool:
    """Whether an XML part declares a DTD (or is not in UTF-8, where the scan could not see one): one pass,
    read in chunks up to its declared size."""
    tail = b""
    with archive.open(member) as stream:
        first = True
        while chunk := stream.read(1 << 16):
            if first and (chunk[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in chunk[:4]):
                return True
            first = False
            if b"<!DOCTYPE" in tail + chunk or b"<!ENTITY" in tail + chunk:
                return True
            tail = chunk[-16:]
    return False


# Blank rows a sheet's XML may hold (formatting, say) before it is too large, whatever their number says.
MAX_BLANK_ROWS = 10 * MAX_ROWS


def _sheet_rows(sheet: Any) -> tuple[tuple[str, ...], list[tuple[int, tuple[str, ...]]]]:
    """The header (row 1) and the rows below it, each row read to one column past the header's (a cell
    there is a problem). The reader fills rows the sheet skips with one shared empty row: passed over by
    identity, so a sheet with a cell a million rows down costs a million cheap steps, never a million rows."""
    values = _texts(next(iter(sheet.iter_rows(min_row=1, max_row=1, max_col=MAX_COLUMNS + 1)), ()))
    if len(values) > MAX_COLUMNS:
        raise TableProblems((Problem(1, "", "", f"the table has more than {MAX_COLUMNS} columns"),))
    header = tuple(v.strip() for v in values)
    if not header:
        raise TableProblems((Problem(1, "", "", "the sheet's first row must name the columns"),))
    rows: list[tuple[int, tuple[str, ...]]] = []
    formulas: list[Problem] = []
    filler: object = None
    blank = 0
    width = len(header) + 1
    for number, cells in enumerate(sheet.iter_rows(min_row=2, max_row=_LAST_ROW, max_col=width), start=2):
        if cells is filler:
            continue
        values = _texts(cells)
        if not values:
            filler = cells  # the reader's shared empty row, or a blank row of the sheet's own
            blank += 1
            if blank > MAX_BLANK_ROWS:
                raise TableTooLarge(f"the sheet has more than {MAX_BLANK_ROWS:,} blank rows; save only the table")
            continue
        if number - 1 > MAX_ROWS:
            raise TableTooLarge(f"the sheet has rows past row {MAX_ROWS + 1:,}; split it into several drafts")
        for index, cell in enumerate(cells[: len(values)]):
            if len(values[index]) > MAX_CELL_CHARS:
                column = header[index] if index < len(header) else ""
                problem = Problem(
                    number, column, values[index][:200], f"the cell holds more than {MAX_CELL_CHARS:,} characters"
                )
                raise TableProblems((problem,))
            if getattr(cell, "data_type", None) in ("f", "e"):
                column = header[index] if index < len(header) else ""
                what = "a formula" if cell.data_type == "f" else "an error value"
                formulas.append(Problem(number, column, values[index][:200], f"{what}: type the value itself"))
        rows.append((number, tuple(values)))
    if formulas:
        marked = {p.row for p in formulas}
        raise TableProblems(tuple(formulas[:MAX_PROBLEMS]), header, tuple(r for r in rows if r[0] in marked))
    return header, rows


def _texts(cells: Iterable[Any]) -> list[str]:
    """A row's cells as text, without its trailing empty ones."""
    values = [_xlsx_text(cell) for cell in cells]
    while values and values[-1] == "":
        values.pop()
    return values


def _xlsx_text(cell: Any) -> str:
    """A cell's value as the table's text: numbers as their shortest form (1 for 1.0), the rest as written."""
    value = getattr(cell, "value", None)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)[: MAX_CELL_CHARS + 1]  # one past the bound, which ``_sheet_rows`` refuses


def _value(cell: str) -> str:
    """A cell as the submitter meant it: one the download neutralised with a leading ``'`` loses it."""
    if cell.startswith("'") and csvsafe.safe_cell(cell[1:]) == cell:
        return cell[1:]
    return cell


# Columns ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Component:
    """A component of the structure as the table's columns carry it."""

    prop: URIRef
    title: str  # the download's header, without " IRI" or " (datatype)"
    is_iri: bool
    lang: str | None
    required: bool
    dimension: bool
    measure: bool
    code_list: URIRef | None  # the ``qb:codeList`` its values are in, if it names one


@dataclass(frozen=True)
class _Layout:
    """What each header means: a component (and the datatype its header names), or one of ours."""

    by_header: dict[str, tuple[_Component | None, str | None]]
    components: tuple[_Component, ...]
    structure: URIRef

    @property
    def dimensions(self) -> tuple[_Component, ...]:
        return tuple(c for c in self.components if c.dimension)


def _layout(union: Graph, template: URIRef) -> _Layout:
    """The headers a table of ``template``'s structure may have: the download's, a measure's or literal
    attribute's column with or without its datatype, and ``dataset IRI``."""
    table = tables.cube_table(union, template)
    structure = union.value(template, QB.structure)
    assert isinstance(structure, URIRef)
    required = {
        URIRef(str(prop))
        for spec in union.objects(structure, QB.component)
        for prop in union.objects(spec, QB.attribute)
        if union.value(spec, QB.componentRequired) == Literal(True)
    }
    dimensions = {
        URIRef(str(p)) for spec in union.objects(structure, QB.component) for p in union.objects(spec, QB.dimension)
    }
    measures = {
        URIRef(str(p)) for spec in union.objects(structure, QB.component) for p in union.objects(spec, QB.measure)
    }
    by_header: dict[str, tuple[_Component | None, str | None]] = {
        OBSERVATION_COLUMN: (None, None),
        LABEL_COLUMN: (None, None),
        QUOTE_COLUMN: (None, None),
        SEGMENT_COLUMN: (None, None),
        DERIVED_COLUMN: (None, None),
        DATASET_COLUMN: (None, None),
    }
    components: dict[URIRef, _Component] = {}
    for column in table.columns:
        if column.property_url is None or column.property_url == str(PROV.wasDerivedFrom):
            continue
        prop = URIRef(column.property_url)
        is_iri = column.value_url is not None
        title = column.title.removesuffix(" IRI") if is_iri else column.title
        typed = _DATATYPED.fullmatch(title)
        if typed and not is_iri:
            title = typed.group(1)
        component = components.setdefault(
            prop,
            _Component(
                prop,
                title,
                is_iri,
                column.lang,
                prop in required or prop in dimensions,
                prop in dimensions,
                prop in measures,
                code if isinstance(code := union.value(prop, QB.codeList), URIRef) else None,
            ),
        )
        if is_iri:
            by_header[f"{title} IRI"] = (component, None)
            by_header[title] = (None, None)  # the code's label: the code's own, not read
        else:
            by_header[title] = (component, None)
            for datatype in ("integer", "decimal", "string", "date", "gYear", "boolean", "double"):
                by_header[f"{title} ({datatype})"] = (component, datatype)
    return _Layout(by_header, tuple(components.values()), structure)


# The table as content -------------------------------------------------------------------------------


@dataclass
class _Row:
    number: int
    dataset: URIRef
    observation: URIRef
    values: dict[URIRef, Node]
    label: str | None
    quote: str | None
    segment: URIRef | None
    derived: list[URIRef]
    named: bool  # its observation IRI was given (not found by its key, nor made)


def draft_content(upload: TableUpload, content: Dataset, scheme: UriScheme) -> Dataset:
    """The release's ``content`` with the datasets the table names replaced by its rows; TableProblems
    with every problem found (nothing is made of a table with one), TableTooLarge past the bounds."""
    header, rows = read_xlsx(upload.data) if upload.format == XLSX_EXTENSION else read_csv(upload.data)
    union = Graph()
    for s, p, o, _ in content.quads():
        union.add((s, p, o))
    existing = tables.datasets(union)
    found = _Found()
    if not existing:
        raise TableProblems((Problem(1, "", "", "there is no data cube in the current release to make a table of"),))
    default = _default_dataset(upload.name, scheme, existing)
    layout = _layout(union, existing[0])
    for index, name in enumerate(header):
        if not name:
            continue  # a column without a name (a spreadsheet's trailing one): its cells must be empty
        if name not in layout.by_header:
            known = ", ".join(sorted(h for h in layout.by_header if not _DATATYPED.fullmatch(h)))
            found.add(1, name, name, f"unknown column {name!r}; the columns are the download's: {known}")
        elif name in header[:index]:
            found.add(1, name, name, "this column appears twice; keep one")
    if not rows:
        found.add(
            2, "", "", "the table has no rows: a dataset is replaced by its rows, so an empty one would remove it"
        )
    if found.problems:
        raise TableProblems(tuple(found.problems), header)
    source_text = _source_text(upload, found)
    document = _document(upload, source_text, union, scheme)
    budget = [MAX_LOCATE_CHARS]  # what is left of it, spent by every quote located

    def check_quote(number: int, quote: str | None, segment: URIRef | None, dataset: URIRef | None) -> None:
        """A row with other problems has its quote looked for too, so one upload lists them all."""
        if quote is not None and not _unchanged(union, quote, segment):
            text = _quote_source(dataset, union, document, source_text)[1]
            if text is not None:
                _find(number, quote, text, found, budget)

    by_key = _key_index(union, layout)
    parsed: list[_Row] = []
    keys: dict[tuple[URIRef, tuple[Node, ...]], int] = {}
    seen: dict[URIRef, int] = {}
    bad_rows: set[int] = set()
    for number, cells in rows:
        if found.full:
            break
        before = len(found.problems)
        row = _read_row(number, header, cells, layout, union, existing, default, by_key, scheme, found, check_quote)
        if row is not None:
            key = (row.dataset, tuple(row.values.get(d.prop, Literal("")) for d in layout.dimensions))
            if row.named and row.observation in seen:
                found.add(
                    number,
                    OBSERVATION_COLUMN,
                    str(row.observation),
                    f"the same observation as row {seen[row.observation]}; keep one row",
                )
            elif key in keys or row.observation in seen:
                found.add(
                    number,
                    f"{layout.dimensions[0].title} IRI",
                    str(key[1][0]),
                    f"the same dataset and dimension key as row {keys.get(key) or seen[row.observation]}; keep one row",
                )
            else:
                seen[row.observation] = keys[key] = number
                parsed.append(row)
        if len(found.problems) > before:
            bad_rows.add(number)
    titles: dict[URIRef, int] = {}
    for row in parsed:
        if row.dataset not in existing and row.dataset not in titles:
            titles[row.dataset] = row.number
            if not (upload.title or "").strip():
                found.add(
                    row.number,
                    DATASET_COLUMN,
                    str(row.dataset),
                    "this dataset does not exist yet: give it a title (the title field, or --title)",
                )
                bad_rows.add(row.number)
    made = _made(
        content, union, parsed, layout, upload, source_text, scheme, existing, found, bad_rows, document, budget
    )
    if found.problems:
        shown = tuple((n, c) for n, c in rows if n in bad_rows)
        raise TableProblems(tuple(found.problems), header, shown)
    return made


def _default_dataset(name: str, scheme: UriScheme, existing: list[URIRef]) -> URIRef | None:
    """The dataset a file's name names (``annual-review-2012-13.csv``, as the download is named)."""
    path = PurePosixPath(name)
    if path.suffix.lower() not in (f".{tables.CSV_EXTENSION}", f".{XLSX_EXTENSION}"):
        return existing[0] if len(existing) == 1 else None
    stem = path.stem
    for dataset in existing:
        if local_name(str(dataset)) == stem:
            return dataset
    return URIRef(scheme.base + "data/" + stem) if paths.valid_segment(stem) else None


def _source_text(upload: TableUpload, found: _Found) -> str | None:
    if upload.source is None:
        return None
    try:
        return upload.source.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        found.add(
            1, "source", upload.source_name or "source", f"the source document is not UTF-8 text (byte {exc.start})"
        )
        return None


def _read_row(
    number: int,
    header: tuple[str, ...],
    cells: tuple[str, ...],
    layout: _Layout,
    union: Graph,
    existing: list[URIRef],
    default: URIRef | None,
    by_key: dict[_Key, URIRef],
    scheme: UriScheme,
    found: _Found,
    check_quote: Callable[[int, str | None, URIRef | None, URIRef | None], None],
) -> _Row | None:
    """One row read and checked; None if it is blank or has problems (they are added to ``found``)."""
    if len(cells) > len(header):
        found.add(
            number, "", cells[len(header)], f"the row has {len(cells)} cells and the header {len(header)} columns"
        )
        return None
    cell = dict(zip(header, cells, strict=False))
    for name, text in zip(header, cells, strict=False):
        if not name and text.strip():
            found.add(number, "", text, "a value in a column without a name: name the column, or clear the cell")
    if not any(v.strip() for v in cell.values()):
        return None
    before = len(found.problems)

    def iri(column: str) -> URIRef | None:
        value = cell.get(column, "").strip()
        if not value:
            return None
        if not _is_iri(value):
            found.add(number, column, value, _NOT_AN_IRI)
            return None
        return URIRef(value)

    observation = iri(OBSERVATION_COLUMN)
    dataset = iri(DATASET_COLUMN)
    if dataset is None and observation is not None:
        dataset = next((d for d in existing if str(observation).startswith(str(d) + "/")), None)
    if dataset is None:
        dataset = default
    if dataset is None and len(found.problems) == before:
        found.add(
            number,
            DATASET_COLUMN,
            "",
            "which dataset is this row's? name it in a 'dataset IRI' column, or name the file after it",
        )
    if dataset is not None and dataset not in existing and not _ours(scheme, str(dataset)):
        found.add(
            number, DATASET_COLUMN, str(dataset), f"a new dataset's IRI is {scheme.base}data/NAME, NAME one segment"
        )
    if observation is not None and dataset is not None:
        owner = union.value(observation, QB.dataSet)
        if owner is not None and owner != dataset:
            found.add(
                number,
                OBSERVATION_COLUMN,
                str(observation),
                f"this observation is of the dataset <{owner}>, not of <{dataset}>",
            )
        elif owner is None and not str(observation).startswith(f"{dataset}/"):
            found.add(
                number,
                OBSERVATION_COLUMN,
                str(observation),
                f"a new observation's IRI begins with its dataset's, <{dataset}/…>; or leave it blank",
            )
    values: dict[URIRef, Node] = {}
    filled: set[URIRef] = set()  # the components with a cell filled in, one pass over the row
    for name in header:
        component, datatype = layout.by_header.get(name, (None, None))
        text = cell.get(name, "")
        if component is None or not text.strip():
            continue
        if component.prop in filled:
            found.add(number, name, text, f"{component.title} has a value in another column too; keep one")
            continue
        filled.add(component.prop)
        value = _component_value(number, name, text, component, datatype, union, found)
        if value is not None:
            values[component.prop] = value
    for component in layout.components:
        if component.prop in filled:
            continue
        if component.measure:
            found.add(number, component.title, "", "the figure's value is required: fill in this cell")
        elif component.required:
            column = f"{component.title} IRI" if component.is_iri else component.title
            found.add(number, column, "", f"{component.title} is required: fill in this cell")
    derived = []
    for part in cell.get(DERIVED_COLUMN, "").split():
        if _is_iri(part):
            derived.append(URIRef(part))
        else:
            found.add(
                number, DERIVED_COLUMN, part, "not an IRI: list the observations' full addresses, separated by spaces"
            )
    segment = iri(SEGMENT_COLUMN)
    if segment is not None and (segment, None, None) not in union and not scheme.is_local(str(segment)):
        found.add(
            number,
            SEGMENT_COLUMN,
            str(segment),
            f"a new segment's IRI is one of ours, under {scheme.base}; or leave it blank",
        )
    quote = cell.get(QUOTE_COLUMN, "") or None
    label = cell.get(LABEL_COLUMN, "").strip() or None
    if len(found.problems) > before or dataset is None:
        check_quote(number, quote, segment, dataset)
        return None
    named = observation is not None
    if observation is None:
        key = tuple(values[d.prop] for d in layout.dimensions)
        observation = by_key.get((dataset, key)) or URIRef(
            str(dataset) + "".join("/" + local_name(str(v)) for v in key)
        )
    return _Row(number, dataset, observation, values, label, quote, segment, derived, named)


def _is_iri(value: str) -> bool:
    """An absolute http(s) IRI of at most ``MAX_IRI_CHARS`` (so every prefix test on it is short)."""
    return len(value) <= MAX_IRI_CHARS and _IRI.fullmatch(value) is not None


def _ours(scheme: UriScheme, iri: str) -> bool:
    """Whether ``iri`` is a dataset IRI of our scheme: ``{base}data/NAME``, NAME one segment."""
    name = iri.removeprefix(scheme.base + "data/")
    return name != iri and paths.valid_segment(name)


def _component_value(
    number: int, column: str, text: str, component: _Component, datatype: str | None, union: Graph, found: _Found
) -> Node | None:
    value = text.strip()
    if component.is_iri:
        if not _is_iri(value):
            found.add(number, column, text, _NOT_AN_IRI)
            return None
        node = URIRef(value)
        listed = component.code_list is None or (node, SKOS.inScheme, component.code_list) in union
        if not listed or (node, None, None) not in union:
            kind = "period" if any(p in component.title for p in _PERIODS) else "code"
            found.add(
                number, column, text, f"unknown {kind}: not one of the {component.title} values this dataset knows"
            )
            return None
        return node
    if component.measure and datatype is None:
        datatype = "integer" if _INTEGER.fullmatch(value) else "decimal"
    if datatype in (None, "string"):
        return Literal(text, lang=component.lang) if component.lang else Literal(text)
    if datatype == "integer" and not _INTEGER.fullmatch(value):
        found.add(number, column, text, "not a whole number: write digits only (no separators, no formula)")
        return None
    if datatype == "decimal" and not _DECIMAL.fullmatch(value):
        found.add(
            number,
            column,
            text,
            "not a number: write digits with an optional decimal point (no separators, no formula)",
        )
        return None
    literal = Literal(value, datatype=XSD[datatype])
    if literal.ill_typed:
        found.add(number, column, text, f"not a valid {datatype}")
        return None
    return literal


_Key = tuple[URIRef, tuple[Node, ...]]


def _key_index(union: Graph, layout: _Layout) -> dict[_Key, URIRef]:
    """Every observation by its dataset and dimension key, made in one pass (a row's lookup is then one)."""
    index: dict[_Key, URIRef] = {}
    for observation, dataset in union.subject_objects(QB.dataSet):
        if isinstance(observation, URIRef) and isinstance(dataset, URIRef):
            key = tuple(union.value(observation, d.prop) or Literal("") for d in layout.dimensions)
            index.setdefault((dataset, key), observation)
    return index


def _graph_of(content: Dataset, subject: Node, fallback: URIRef) -> URIRef:
    for _, _, _, g in content.quads((subject, None, None, None)):
        if isinstance(g, URIRef):
            return g
    return fallback


def _made(
    content: Dataset,
    union: Graph,
    rows: list[_Row],
    layout: _Layout,
    upload: TableUpload,
    source_text: str | None,
    scheme: UriScheme,
    existing: list[URIRef],
    found: _Found,
    bad_rows: set[int],
    document: URIRef | None,
    budget: list[int],
) -> Dataset:
    """The new content: the old, less the named datasets' observations, plus the rows' (and their segments)."""
    named = {row.dataset for row in rows}
    managed = {RDF.type, QB.dataSet, RDFS.label, PROV.wasDerivedFrom, *(c.prop for c in layout.components)}
    figures_graph = _graph_of(content, existing[0], scheme.graph_iri("figures"))
    provenance_graph = scheme.graph_iri(PROVENANCE_GRAPH)
    removed: set[Node] = set()
    kept_of: dict[URIRef, list[tuple[Node, Node, URIRef]]] = {}
    for dataset in named:
        for observation in union.subjects(QB.dataSet, dataset):
            removed.add(observation)
    rewritten: set[Node] = set()
    added: list[tuple[Node, Node, Node, URIRef]] = []
    cited = False  # whether anything made here cites the uploaded document (else it is not added)
    for dataset in sorted(named - set(existing)):
        title = (upload.title or "").strip()
        added += [
            (dataset, RDF.type, QB.DataSet, figures_graph),
            (dataset, RDFS.label, Literal(title, lang="en"), figures_graph),
            (dataset, DCTERMS.title, Literal(title, lang="en"), figures_graph),
            (dataset, QB.structure, layout.structure, figures_graph),
        ]
        if document is not None:
            added.append((dataset, DCTERMS.source, document, figures_graph))
            cited = True
    for row in rows:
        graph = _graph_of(content, row.observation, figures_graph) if row.observation in removed else figures_graph
        for _, p, o, _g in content.quads((row.observation, None, None, None)):
            if p not in managed:
                kept_of.setdefault(row.observation, []).append((p, o, graph))
        o = row.observation
        added += [(o, RDF.type, QB.Observation, graph), (o, QB.dataSet, row.dataset, graph)]
        if row.label is not None:
            added.append((o, RDFS.label, Literal(row.label, lang="en"), graph))
        added += [(o, prop, value, graph) for prop, value in row.values.items()]
        added += [(o, PROV.wasDerivedFrom, d, graph) for d in row.derived]
        segment = _segment(row, union, document, source_text, found, bad_rows, budget)
        if segment is None:
            continue
        added.append((o, PROV.wasDerivedFrom, segment[0], graph))
        if segment[1]:
            cited = cited or (segment[0], OA.hasSource, document) in segment[1]
            seg_graph = _graph_of(content, segment[0], provenance_graph)
            rewritten.update(_segment_nodes(union, segment[0]))
            added += [(s, p, v, seg_graph) for s, p, v in segment[1]]
    if document is not None and cited and (document, None, None) not in union:
        title = (upload.title or "").strip()
        name = f"Source of {title}" if title else f"Source document {upload.source_name or ''}".strip()
        added += [
            (document, RDF.type, SCHEMA.NewsArticle, provenance_graph),
            (document, RDFS.label, Literal(name, lang="en"), provenance_graph),
            (document, SCHEMA.encodingFormat, Literal("text/plain"), provenance_graph),
            (document, SCHEMA.text, Literal(source_text), provenance_graph),
        ]
    made = Dataset()
    bind_prefixes(made, scheme)
    for s, p, v, g in content.quads():
        if s in removed or s in rewritten:
            continue
        assert isinstance(g, URIRef)
        made.graph(g).add((s, p, v))
    for observation, kept in kept_of.items():
        for p, v, g in kept:
            made.graph(g).add((observation, p, v))
    for s, p, v, g in added:
        made.graph(g).add((s, p, v))
    return made


def _document(upload: TableUpload, text: str | None, union: Graph, scheme: UriScheme) -> URIRef | None:
    """The uploaded source document's IRI: ``id/news-item/{file stem}``, or with its text's hash when that
    IRI names another text already."""
    if text is None:
        return None
    stem = PurePosixPath(upload.source_name or "source.txt").stem.lower()
    stem = re.sub(r"[^a-z0-9-]+", "-", stem).strip("-")[:80] or "source"
    document = scheme.id["news-item/" + stem]
    held = union.value(document, SCHEMA.text)
    if held is None or str(held) == text:
        return document
    return scheme.id[f"news-item/{stem}-{hashlib.sha256(text.encode()).hexdigest()[:12]}"]


def _segment_nodes(union: Graph, segment: URIRef) -> Iterable[Node]:
    yield segment
    yield from union.objects(segment, OA.hasSelector)


def _existing_quote(union: Graph, segment: URIRef | None) -> str | None:
    if segment is None:
        return None
    for selector in union.objects(segment, OA.hasSelector):
        if (selector, RDF.type, OA.TextQuoteSelector) in union:
            exact = union.value(selector, OA.exact)
            return None if exact is None else str(exact)
    return None


def _quote_source(
    dataset: URIRef | None, union: Graph, document: URIRef | None, uploaded: str | None
) -> tuple[URIRef | None, str | None]:
    """Where a row's quote is looked for: the uploaded document, else the text of its dataset's source."""
    if document is not None:
        return document, uploaded
    held = union.value(dataset, DCTERMS.source) if dataset is not None else None
    if not isinstance(held, URIRef):
        return None, None
    text = union.value(held, SCHEMA.text)
    return held, None if text is None else str(text)


def _find(number: int, quote: str, text: str, found: _Found, budget: list[int]) -> int | None:
    """Where ``quote`` begins in ``text`` (a problem if nowhere): one linear scan, spent from ``budget``."""
    budget[0] -= len(text)
    if budget[0] < 0:
        raise TableTooLarge(
            f"locating this table's quotes would scan more than {MAX_LOCATE_CHARS:,} characters of source text; "
            "split the table, or shorten the source"
        )
    start = text.find(quote)  # CPython's two-way search: linear
    if start < 0:
        found.add(number, QUOTE_COLUMN, quote, "the quote is not in the source text; copy its words exactly")
        return None
    return start


def _unchanged(union: Graph, quote: str | None, segment: URIRef | None) -> bool:
    """Whether a row's quote is its segment's as the release has it (nothing to locate)."""
    return quote is None or (segment is not None and _existing_quote(union, segment) == quote)


def _segment(
    row: _Row,
    union: Graph,
    document: URIRef | None,
    uploaded: str | None,
    found: _Found,
    bad_rows: set[int],
    budget: list[int],
) -> tuple[URIRef, list[tuple[Node, Node, Node]]] | None:
    """The row's segment and, when its quote is new or changed, the segment's triples located afresh."""
    if row.quote is None:
        return None if row.segment is None else (row.segment, [])
    if _unchanged(union, row.quote, row.segment):
        assert row.segment is not None
        return (row.segment, [])  # as the release has it
    source, text = _quote_source(row.dataset, union, document, uploaded)
    if source is None or text is None:
        found.add(
            row.number, QUOTE_COLUMN, row.quote, "no source text to find the quote in: upload the source document"
        )
        bad_rows.add(row.number)
        return None
    start = _find(row.number, row.quote, text, found, budget)
    if start is None:
        bad_rows.add(row.number)
        return None
    end = start + len(row.quote)
    # Named by the dataset and the observation's key: two datasets citing one document with the same key (two
    # bodies' figures for one year, say) get a segment each.
    within = str(row.observation).removeprefix(str(row.dataset).rpartition("/")[0] + "/").replace("/", "-")
    segment = row.segment or URIRef(f"{source}/segment/{within}")
    quote, position = URIRef(f"{segment}/quote"), URIRef(f"{segment}/position")
    triples: list[tuple[Node, Node, Node]] = [
        (segment, RDF.type, OA.SpecificResource),
        (segment, OA.hasSource, source),
        (segment, OA.hasSelector, quote),
        (segment, OA.hasSelector, position),
        (quote, RDF.type, OA.TextQuoteSelector),
        (quote, OA.exact, Literal(row.quote)),
        (position, RDF.type, OA.TextPositionSelector),
        (position, OA.start, Literal(start)),
        (position, OA.end, Literal(end)),
    ]
    if start:
        triples.append((quote, OA.prefix, Literal(text[max(0, start - CONTEXT_CHARS) : start])))
    if end < len(text):
        triples.append((quote, OA.suffix, Literal(text[end : end + CONTEXT_CHARS])))
    return segment, triples
