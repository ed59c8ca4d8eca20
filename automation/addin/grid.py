"""Sheets as Excel hands them over (a used range of values) and the rectangular writes
that put the tool's cells back: plain data shared by the two ways of talking to Excel
(xlwings per sheet, or the add-in's bulk macros)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from automation.errors import WorkbookError
from automation.workbook.package import col_letter as letters, col_number
from automation.workbook.writer import SheetEdit

_ADDR = re.compile(r"^\$?([A-Z]+)\$?(\d+)(?::\$?([A-Z]+)\$?(\d+))?$")


@dataclass
class Grid:
    """A sheet's used range as read: values[r][c] is cell (top + r, left + c)."""

    name: str  # as spelled in the workbook
    top: int
    left: int
    values: list[list]

    def get(self, row: int, col: int):
        r, c = row - self.top, col - self.left
        if 0 <= r < len(self.values) and 0 <= c < len(self.values[r]):
            return self.values[r][c]
        return None

    @property
    def bottom(self) -> int:
        return self.top + len(self.values) - 1


@dataclass(frozen=True)
class Write:
    """One rectangle of one sheet: values to write, or (values None) contents to clear."""

    sheet: str  # as spelled in the workbook (a sheet it lacks is added)
    top: int
    left: int
    values: list[list] | None = None
    bottom: int = 0  # for a clear; a block's size is its values'
    right: int = 0

    @property
    def address(self) -> str:
        """The rectangle in A1 style, e.g. "B2:D40"."""
        if self.values is not None:
            bottom, right = self.top + len(self.values) - 1, self.left + len(self.values[0]) - 1
        else:
            bottom, right = self.bottom, self.right
        return f"{letters(self.left)}{self.top}:{letters(right)}{bottom}"


def writes_for(edit: SheetEdit, grid: Grid | None, name: str | None = None) -> list[Write]:
    """The planned edit of one sheet as block writes (and a clear below a rewritten list)."""
    if grid is None:  # a sheet the tracker lacks (only Problems is optional and written)
        grid = Grid(name or edit.sheet, 1, 1, [])
        cells = {(1, i): h for i, h in enumerate(edit.create_headers, 1)} | dict(edit.cells)
    else:
        cells = dict(edit.cells)
    out = [Write(grid.name, top, left, block) for (top, left), block in blocks(cells, grid)]
    if edit.truncate_after is not None and grid.values:
        last_written = max([edit.truncate_after, *[r for r, _ in cells]])
        if grid.bottom > last_written:
            out.append(Write(grid.name, last_written + 1, grid.left, None, grid.bottom,
                             grid.left + len(grid.values[0]) - 1))
    return out


def blocks(cells: dict[tuple[int, int], object], grid: Grid):
    """Bulk writes for the cells: one rectangle per run of adjacent columns, from the
    first to the last row written there; cells in between keep the value just read.
    The number of writes depends on which columns change, never on the number of rows."""
    cols = sorted({c for _, c in cells})
    runs, run = [], []
    for c in cols:
        if run and c != run[-1] + 1:
            runs.append(run)
            run = []
        run.append(c)
    if run:
        runs.append(run)
    for run in runs:
        rows = [r for r, c in cells if c in run]
        top, bottom = min(rows), max(rows)
        block = [[to_excel(cells[(r, c)]) if (r, c) in cells else grid.get(r, c) for c in run]
                 for r in range(top, bottom + 1)]
        yield (top, run[0]), block


def to_excel(v):
    """A value as a cell takes it: the core's London-aware times as wall-clock time, dates
    as midnight (what COM carries; xlwings does the same for its own writes)."""
    if isinstance(v, datetime):
        return v.replace(tzinfo=None) if v.tzinfo is not None else v
    if isinstance(v, date):
        return datetime(v.year, v.month, v.day)
    if isinstance(v, int) and not isinstance(v, bool) and not -2**31 <= v < 2**31:
        return float(v)  # COM would carry it as a 64-bit integer, which 32-bit Office cannot hold
    if isinstance(v, str) and v[:1] in ("=", "+", "-", "@"):
        return "'" + v  # Excel parses an assigned value as if typed: the apostrophe keeps tracker text as text
    return v


def clean(v):
    """A value as Excel gave it, as the file reader would give it."""
    # Excel holds every number as a float; the file reader gives whole numbers as int
    # (a URN typed as a number must read as "100001", not "100001.0").
    if isinstance(v, Decimal):  # a currency-formatted cell through COM
        v = float(v)
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, datetime) and (v.tzinfo is not None or type(v) is not datetime):
        # pywin32 hands COM dates over as its own time-zone-stamped datetime; the cell's
        # wall-clock time is what the officer typed (xlwings keeps the same fields).
        return datetime(v.year, v.month, v.day, v.hour, v.minute, v.second, v.microsecond)
    if isinstance(v, str) and not v.strip():
        return None
    return v


def clean_rows(values) -> list[list]:
    """Every row of a used range through clean(), the common values (text, blanks, numbers)
    without a call each: a 10,000-row tracker is over half a million cells."""
    out = []
    for row in values:
        got = []
        add = got.append
        for v in row:
            t = type(v)
            if v is None:
                add(None)
            elif t is str:
                add(None if not v or v.isspace() else v)
            elif t is float:
                add(int(v) if v.is_integer() else v)
            elif t is datetime and v.tzinfo is None:
                add(v)
            else:
                add(clean(v))
        out.append(got)
    return out


def origin(address: str) -> tuple[int, int]:
    """(row, column) of the top-left cell of an A1-style address."""
    m = _ADDR.match(address.replace("$", "") if address else "A1")
    if not m:
        raise WorkbookError(f"Excel gave an unexpected used range {address!r}.")
    return int(m.group(2)), col_number(m.group(1))


def norm(text) -> str:
    """A sheet or header name as compared: case and extra spaces ignored."""
    return " ".join(str(text).split()).lower() if text is not None else ""
