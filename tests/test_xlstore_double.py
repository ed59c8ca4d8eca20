"""A test double of the small xlwings surface the ribbon add-in uses, backed by a
real tracker's cell values (loaded with openpyxl), counting every call that would be
a round trip to Excel."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, datetime
from pathlib import Path

import openpyxl


def _col(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def _letters(col: int) -> str:
    out = ""
    while col:
        col, rem = divmod(col - 1, 26)
        out = chr(65 + rem) + out
    return out


def _excel_value(v):
    """What Excel holds: every number a float; dates as datetimes."""
    if isinstance(v, bool) or v is None or isinstance(v, (str, datetime)):
        return v
    if isinstance(v, date):
        return datetime(v.year, v.month, v.day)
    if isinstance(v, (int, float)):
        return float(v)
    return v


class Excel:
    """The call counter shared by every object of one fake Excel."""

    def __init__(self):
        self.calls = Counter()

    def hit(self, what: str) -> None:
        self.calls[what] += 1

    @property
    def total(self) -> int:
        return sum(self.calls.values())

    def reset(self) -> None:
        self.calls.clear()


class FakeRange:
    def __init__(self, sheet: "FakeSheet", top: int, left: int, bottom: int | None, right: int | None, options=None):
        self.sheet_, self.top, self.left, self.bottom, self.right = sheet, top, left, bottom, right
        self.opts = options or {}

    @property
    def sheet(self):
        self.sheet_.xl.hit("range.sheet")
        return self.sheet_

    @property
    def row(self) -> int:
        self.sheet_.xl.hit("range.row")
        return self.top

    @property
    def address(self) -> str:
        self.sheet_.xl.hit("range.address")
        return f"${_letters(self.left)}${self.top}:${_letters(self.right)}${self.bottom}"

    def options(self, **opts) -> "FakeRange":  # local in xlwings: no round trip
        return FakeRange(self.sheet_, self.top, self.left, self.bottom, self.right, opts)

    @property
    def value(self):
        self.sheet_.xl.hit("range.value get")
        rows = [[self.sheet_.cells.get((r, c)) for c in range(self.left, self.right + 1)]
                for r in range(self.top, self.bottom + 1)]
        if self.opts.get("ndim") == 2:
            return rows
        if len(rows) == 1 and len(rows[0]) == 1:
            return rows[0][0]
        return rows

    @value.setter
    def value(self, data):
        self.sheet_.xl.hit("range.value set")
        if not isinstance(data, list):
            data = [[data]]
        elif data and not isinstance(data[0], list):
            data = [data]
        for i, row in enumerate(data):
            for j, v in enumerate(row):
                self.sheet_.set(self.top + i, self.left + j, v)

    def clear_contents(self) -> None:
        self.sheet_.xl.hit("range.clear_contents")
        for key in [k for k in self.sheet_.cells if self.top <= k[0] <= self.bottom and self.left <= k[1] <= self.right]:
            del self.sheet_.cells[key]


class FakeSheet:
    def __init__(self, xl: Excel, name: str, cells: dict):
        self.xl, self._name, self.cells = xl, name, cells
        self.writes = 0  # cells set, to prove nothing was written

    @property
    def name(self) -> str:
        self.xl.hit("sheet.name")
        return self._name

    def set(self, r: int, c: int, v) -> None:
        self.writes += 1
        if v is None or v == "":
            self.cells.pop((r, c), None)
        else:
            if isinstance(v, datetime) and v.tzinfo is not None:
                raise TypeError("Excel cells hold no time zone")
            self.cells[(r, c)] = _excel_value(v)

    @property
    def used_range(self) -> FakeRange:
        self.xl.hit("sheet.used_range")
        if not self.cells:
            return FakeRange(self, 1, 1, 1, 1)
        rows = [r for r, _ in self.cells]
        cols = [c for _, c in self.cells]
        return FakeRange(self, min(rows), min(cols), max(rows), max(cols))

    def range(self, first, last=None) -> FakeRange:
        self.xl.hit("sheet.range")
        if isinstance(first, str):
            m = re.match(r"^([A-Z]+)(\d+)$", first.replace("$", ""))
            first = (int(m.group(2)), _col(m.group(1)))
        last = last or first
        return FakeRange(self, first[0], first[1], last[0], last[1])

    def value_at(self, row: int, header: str, header_row: int = 1):
        """For assertions (not counted): a cell by row and header."""
        for (r, c), v in self.cells.items():
            if r == header_row and v == header:
                return self.cells.get((row, c))
        raise KeyError(header)


class FakeSheets:
    def __init__(self, book: "FakeBook"):
        self.book = book

    def __getitem__(self, key) -> FakeSheet:
        self.book.xl.hit("book.sheets[]")
        if isinstance(key, int):
            return list(self.book.by_name.values())[key]
        return self.book.by_name[key]

    def add(self, name: str, after=None) -> FakeSheet:
        self.book.xl.hit("sheets.add")
        sheet = FakeSheet(self.book.xl, name, {})
        self.book.by_name[name] = sheet
        return sheet


class FakeApp:
    def __init__(self, xl: Excel):
        self.xl = xl
        self.alerts: list[dict] = []
        self._status = False

    def alert(self, prompt, title=None, buttons="ok", mode=None, callback=None):
        self.xl.hit("app.alert")
        self.alerts.append({"prompt": prompt, "title": title, "mode": mode})

    @property
    def status_bar(self):
        self.xl.hit("app.status_bar get")
        return self._status

    @status_bar.setter
    def status_bar(self, value):
        self.xl.hit("app.status_bar set")
        self._status = value


class FakeBook:
    """An open workbook: sheets of cell values, a selection, an app."""

    def __init__(self, fullname: str, by_name: dict[str, FakeSheet], xl: Excel):
        self._fullname, self.by_name, self.xl = fullname, by_name, xl
        self.app = FakeApp(xl)
        self.sheets = FakeSheets(self)
        self._selection: tuple[str, int] | None = None

    @classmethod
    def from_file(cls, path: Path, fullname: str | None = None) -> "FakeBook":
        """The workbook's values as Excel would show them (read once with openpyxl)."""
        xl = Excel()
        wb = openpyxl.load_workbook(path, data_only=True)
        sheets = {}
        for ws in wb.worksheets:
            cells = {}
            for row in ws.iter_rows():
                for cell in row:
                    if cell.value is not None:
                        cells[(cell.row, cell.column)] = _excel_value(cell.value)
            sheets[ws.title] = FakeSheet(xl, ws.title, cells)
        wb.close()
        return cls(str(fullname or path), sheets, xl)

    def copy(self, fullname: str | None = None) -> "FakeBook":
        """A fresh book with the same cells and a new counter."""
        xl = Excel()
        sheets = {n: FakeSheet(xl, n, dict(s.cells)) for n, s in self.by_name.items()}
        return FakeBook(fullname or self._fullname, sheets, xl)

    @property
    def fullname(self) -> str:
        self.xl.hit("book.fullname")
        return self._fullname

    @property
    def sheet_names(self) -> list[str]:
        self.xl.hit("book.sheet_names")
        return list(self.by_name)

    def select(self, sheet: str, row: int) -> None:
        self._selection = (sheet, row)

    @property
    def selection(self):
        self.xl.hit("book.selection")
        if self._selection is None:
            return None
        sheet, row = self._selection
        return FakeRange(self.by_name[sheet], row, 1, row, 1)

    def writes(self) -> int:
        return sum(s.writes for s in self.by_name.values())
