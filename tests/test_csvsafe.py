"""CSV for people (``csvsafe``): no cell runs as a formula when a spreadsheet opens the file, whatever
whitespace, control, line break or compatibility form hides its first character; numbers and plain text
stay as they are."""

from __future__ import annotations

import csv
import io

import pytest

from ceopgraph.csvsafe import csv_text, safe_cell

NEUTRALISED = [
    '=HYPERLINK("http://evil.example")',
    "+1",
    "@SUM(A1)",
    "-cmd",
    "|cmd",
    "\tplain",  # a tab or a carriage return first, whatever follows
    "\rplain",
    " =1+1",
    "  \t @SUM(A1)",
    "\u00a0=1",  # no-break space
    "\u3000=1",  # ideographic space
    "\u200b=1",  # zero-width space (a format character)
    "\x00=1",
    "\ufeff=1",
    "＝1+1",  # fullwidth equals
    "﹦1",  # small equals
    "＋1",
    "＠SUM(A1)",
    "－cmd",
    "｜cmd",
    "\u3000＝1",
    "- 1",
    "-1+cmd|' /C calc'!A0",
    "plain\n=cmd",
    "plain\r\n  =cmd",
    "plain\r@cmd",
    "plain\u2028+cmd",
    "plain\x0b|cmd",
    "-790\n=cmd",
]
KEPT = ["plain", "", "   ", "-790", "-1.5e3", " -790", "－７９０", "a=b", "1+1", "a@example.org", "line\nnext", "é=1"]


@pytest.mark.parametrize("cell", NEUTRALISED)
def test_a_cell_that_could_run_as_a_formula_is_prefixed(cell: str) -> None:
    assert safe_cell(cell) == "'" + cell


@pytest.mark.parametrize("cell", KEPT)
def test_text_and_numbers_are_kept_as_they_are(cell: str) -> None:
    assert safe_cell(cell) == cell


def test_csv_text_is_rfc_4180_with_every_cell_through_the_rule() -> None:
    text = csv_text(("name", "=header"), [("a", None), ("plain\n=cmd", "-790")])
    assert text.endswith("\r\n") and text.count("\r\n") == 3  # three records, one with a quoted line break
    assert list(csv.reader(io.StringIO(text))) == [["name", "'=header"], ["a", ""], ["'plain\n=cmd", "-790"]]


def test_a_long_cell_is_decided_in_one_pass() -> None:
    """Linear in the cell: a megabyte of leading spaces or of line breaks is decided at once."""
    assert safe_cell(" " * 1_000_000 + "=1").startswith("' ")
    assert safe_cell("\n" * 1_000_000 + "x") == "\n" * 1_000_000 + "x"
