"""A test double of the small xlwings surface the ribbon add-in uses, backed by a
real tracker's cell values (loaded with openpyxl), counting every call that would be
a round trip to Excel.

It also emulates the add-in's bulk macros (VBA module OfstedStore, automation/addin/
vba_store.py) step by step as the VBA does them, with values shaped as pywin32 hands
them over COM (tuples, floats, time-zone-stamped dates); each macro call is one round
trip. Which macros exist is read from the add-in's own VBA source."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, datetime, timezone
from pathlib import Path

import openpyxl

from automation.addin.build import ADDIN_NAME
from automation.addin.vba import modules


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
        self.book._selection = (name, 1)  # Excel activates the sheet it adds
        return sheet


def addin_macros() -> set[str]:
    """'Module.Function' for every public function of the add-in's VBA, from its source."""
    return {f"{m.name}.{f}" for m in modules() for f in re.findall(r"^Public Function (\w+)", m.source, re.M)}


class ComError(Exception):
    """As pywin32's com_error: (hresult, text, (code, source, description, ...))."""


class FakeApp:
    def __init__(self, xl: Excel, book: "FakeBook | None" = None):
        self.xl, self.book = xl, book
        self.alerts: list[dict] = []
        self._status = False
        self.addins: dict[str, set[str]] = {}  # loaded add-in (lower-case name) -> its public functions

    def macro(self, name: str) -> "FakeMacro":  # local in xlwings: no round trip
        return FakeMacro(self, name)

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


class FakeMacro:
    """Application.Run of an add-in's function: one round trip, emulating the VBA."""

    def __init__(self, app: FakeApp, name: str):
        self.app, self.name = app, name

    def __call__(self, *args):
        self.app.xl.hit("macro()")
        m = re.match(r"^'((?:[^']|'')+)'!(\w+\.\w+)$", self.name)
        book = m.group(1).replace("''", "'").lower() if m else None
        if not m or m.group(2) not in self.app.addins.get(book, set()):
            raise ComError(-2147352567, "Exception occurred.", (0, "Microsoft Excel",
                           f"Cannot run the macro '{self.name}'. The macro may not be available in this "
                           "workbook or all macros may be disabled.", None, 0, -2146827284), None)
        for a in args[1:]:
            _check_com(a)
        return {"OfstedStore.OfstedReadSheets": _read_sheets,
                "OfstedStore.OfstedWriteBlocks": _write_blocks}[m.group(2)](*args)


def _check_com(arg) -> None:
    """What the store may pass: flat lists of plain values (nested lists of different sizes
    and time-zone-aware or date-only values do not cross pywin32 as the VBA expects)."""
    assert isinstance(arg, list), arg
    for v in arg:
        assert v is None or isinstance(v, (bool, int, float, str)) or (
            type(v) is datetime and v.tzinfo is None), f"not a plain COM value: {v!r}"


def _com(v):
    """A cell value as pywin32 returns it inside a Variant array."""
    if isinstance(v, datetime):
        return v.replace(tzinfo=timezone.utc)  # pywin32 stamps COM dates with a time zone
    return v


def _norm_vba(s: str) -> str:
    # as the VBA's Norm: tabs and no-break spaces as spaces, runs of spaces as one, trimmed
    s = s.replace("\t", " ").replace("\xa0", " ").lower()
    while "  " in s:
        s = s.replace("  ", " ")
    return s.strip(" ")


def _find_sheet(book: "FakeBook", name: str) -> "FakeSheet | None":
    return next((sh for n, sh in book.by_name.items() if _norm_vba(n) == _norm_vba(name)), None)


def _read_sheets(book: "FakeBook", wanted: list):
    """OfstedReadSheets: Array(FullName, selection), then each sheet's used range or Empty."""
    selected = book._selection
    out = [(book._fullname, (selected[0], selected[1]) if selected else None)]
    for name in wanted:
        ws = _find_sheet(book, name)
        if ws is None:
            out.append(None)
            continue
        if ws.cells:
            rows, cols = [r for r, _ in ws.cells], [c for _, c in ws.cells]
            top, left, bottom, right = min(rows), min(cols), max(rows), max(cols)
        else:
            top = left = bottom = right = 1
        values = tuple(tuple(_com(ws.cells.get((r, c))) for c in range(left, right + 1))
                       for r in range(top, bottom + 1))
        out.append((ws._name, top, left, values))
    return tuple(out)


def _write_blocks(book: "FakeBook", names: list, addresses: list, clears: list, values: list) -> str:
    """OfstedWriteBlocks: block by block, in order; a failure stops there and is returned."""
    k = 0
    for name, address, clear in zip(names, addresses, clears):
        ws = _find_sheet(book, name)
        if ws is None:  # Worksheets.Add, which (in Excel and LibreOffice) also activates the new sheet
            ws = book.by_name[name] = FakeSheet(book.xl, name, {})
            book._selection = (name, 1)
        if name in book.protected:
            return (f"sheet '{name}', cells {address}: "
                    "The cell or chart you're trying to change is on a protected sheet.")
        m = re.match(r"^([A-Z]+)(\d+):([A-Z]+)(\d+)$", address)
        top, left, bottom, right = int(m.group(2)), _col(m.group(1)), int(m.group(4)), _col(m.group(3))
        for r in range(top, bottom + 1):
            for c in range(left, right + 1):
                if clear:
                    ws.cells.pop((r, c), None)
                else:
                    ws.set(r, c, values[k])
                    k += 1
    assert k == len(values), "the flat values do not fit the blocks' addresses"  # the store's side of the contract
    return ""


class FakeBook:
    """An open workbook: sheets of cell values, a selection, an app (with the add-in loaded
    unless addin=False)."""

    def __init__(self, fullname: str, by_name: dict[str, FakeSheet], xl: Excel, addin: bool = True):
        self._fullname, self.by_name, self.xl = fullname, by_name, xl
        self._app = FakeApp(xl, self)
        if addin:
            self._app.addins[ADDIN_NAME.lower()] = addin_macros()
        self.sheets = FakeSheets(self)
        self._selection: tuple[str, int] | None = None
        self.protected: set[str] = set()  # sheets the bulk write finds protected

    @property
    def app(self) -> FakeApp:
        self.xl.hit("book.app")  # xlwings: Workbook.Application through COM
        return self._app

    @classmethod
    def from_file(cls, path: Path, fullname: str | None = None, addin: bool = True) -> "FakeBook":
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
        return cls(str(fullname or path), sheets, xl, addin)

    def copy(self, fullname: str | None = None, addin: bool | None = None) -> "FakeBook":
        """A fresh book with the same cells and a new counter."""
        xl = Excel()
        sheets = {n: FakeSheet(xl, n, dict(s.cells)) for n, s in self.by_name.items()}
        return FakeBook(fullname or self._fullname, sheets, xl, bool(self._app.addins) if addin is None else addin)

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
