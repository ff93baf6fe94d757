"""A report table as CSV, safe to open in a spreadsheet.

Text cells come from visitors and campaigns (UTM values, answers), so a cell that a spreadsheet
would run as a formula (starting with =, +, -, @, a tab or a carriage return) gets a leading
apostrophe, the OWASP advice: `=HYPERLINK(…)` arrives as the text `'=HYPERLINK(…)`. Numbers are
written by us and left as they are.
"""

from __future__ import annotations

import csv
import io
from typing import Final

from bot.analytics.tables import Cell, Table

FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")


def guard(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _cell(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)  # exact: a spreadsheet rounds for display, not us
    if isinstance(value, int):
        return str(value)
    return guard(value)


def table_csv(table: Table) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([column.name for column in table.columns])
    writer.writerows([_cell(cell) for cell in row] for row in table.rows)
    return out.getvalue()
