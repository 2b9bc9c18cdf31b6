"""CSV written for people: files a spreadsheet opens without running any cell as a formula.

Every CSV we write for people to open (validation reports, table downloads) goes through ``csv_text``,
so one rule decides, on untrusted text (submitted values, labels, messages), which cells are neutralised
with a leading ``'`` (OWASP "CSV injection"). The SPARQL endpoint's CSV and TSV are not among them: they
are the W3C result formats, whose values must come back as they are.

A cell runs as a formula, for this rule, when its first significant character is ``=``, ``+``, ``-``,
``@`` or ``|`` (a DDE call in older spreadsheets), ``-`` beginning a plain number aside ("-790" stays a
number). Significant means after leading whitespace, controls and anything else not printable (a
spreadsheet trims some of them, so " =1" or "\\u3000=1" run), and NFKC-normalised, so fullwidth and small
forms ("＝", "﹦", "＋") count as the ASCII they stand for. The same holds for every line of a cell: a
cell holding a line break followed by a formula character is neutralised too (a program that reads a
cell's lines apart would otherwise meet the formula first). A cell starting with a tab or a carriage
return is neutralised whatever follows (OWASP's list). Each decision is one pass over the cell.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Sequence

FORMULA_STARTS = frozenset("=+-@|")
_NUMBER = re.compile(r"-\d+(\.\d*)?([eE][-+]?\d+)?")


def safe_cell(cell: str) -> str:
    """``cell`` as a spreadsheet may open it: prefixed with ``'`` if it could run as a formula."""
    if cell[:1] in ("\t", "\r") or any(_runs_as_formula(line) for line in cell.splitlines()):
        return "'" + cell
    return cell


def csv_text(header: Sequence[str], rows: Iterable[Sequence[str | None]]) -> str:
    """RFC 4180 CSV (CRLF line ends): the header, then the rows, every cell through ``safe_cell`` (None
    written as an empty cell)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([safe_cell(name) for name in header])
    for row in rows:
        writer.writerow(["" if cell is None else safe_cell(cell) for cell in row])
    return out.getvalue()


def _runs_as_formula(line: str) -> bool:
    start = 0
    while start < len(line) and (line[start].isspace() or not line[start].isprintable()):
        start += 1
    if start == len(line):
        return False
    first = unicodedata.normalize("NFKC", line[start])[:1]
    if first == "-":
        return not _NUMBER.fullmatch(unicodedata.normalize("NFKC", line[start:]).rstrip())
    return first in FORMULA_STARTS
