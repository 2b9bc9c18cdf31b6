"""Workbooks for the tests of tables in, written as a spreadsheet saves them (with openpyxl)."""

from __future__ import annotations

import io

import openpyxl


def workbook(rows: list[list[str]]) -> bytes:
    """A workbook as a spreadsheet saves it: digits as numbers, the rest as text (never as formulas), but a
    cell written ``=!FORMULA``, which is saved as the formula ``=FORMULA``."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row, start=1):
            if value == "":
                continue
            cell = sheet.cell(row=r, column=c)
            if value.isdigit():
                cell.value = int(value)
            elif value.startswith("=!"):
                cell.value = value[2:]  # openpyxl saves a text beginning "=" as a formula
            else:
                cell.value = value
                cell.data_type = "s"  # text, even if it begins with "="
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
