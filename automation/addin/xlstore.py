"""The live-workbook store: the tracker open in Excel, read and written without ever
touching a single cell in a loop (each call to Excel is a round trip: per-cell calls are
what make xlwings slow).

A TrackerStore (automation/workbook/protocol.py), like the file store, so the run
pipeline works on the open workbook. Two ways
to Excel, chosen once per button click:
- the add-in's bulk macros (automation/addin/bulk.py): one call reads every tracker sheet,
  one call writes every block, whatever the tracker's size;
- the fallback, when the macros are not there (an older add-in): xlwings, one bulk read
  per sheet and one write per block."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from automation.addin.bulk import MacroUnavailable, read_sheets, write_blocks
from automation.addin.grid import Grid, Write, blocks, clean_rows, norm, origin, writes_for
from automation.errors import WorkbookError
from automation.update import TrackerUpdate
from automation.workbook import schema
from automation.workbook.raw import RawSheet, RawWorkbook
from automation.workbook.store import plan_edits
from automation.workbook.writer import SheetEdit

__all__ = ["Grid", "XlwingsStore", "blocks", "raw_sheet", "read_grid", "read_selection"]

HEADER_SEARCH_ROWS = 5  # as the file reader: a title may sit above the table
OLDER_ADDIN = ("The Ofsted add-in in Excel is older than ofsted-tracker, so this took the slower way "
               "to read and write the tracker{why} — ask IT to rebuild and reinstall the add-in.")


@dataclass
class XlwingsStore:
    """Reads and writes the tracker open in Excel (an xlwings Book)."""

    book: object
    addin: str | None = None  # the add-in workbook's name, passed by its dispatcher: its macros do bulk I/O
    raw: RawWorkbook | None = None
    grids: dict[str, Grid] = field(default_factory=dict)  # canonical sheet name -> as read
    note: str = ""  # for the officer, when the slower way was taken
    _bulk: bool | None = field(default=None, repr=False)  # None: not decided yet (decided once)
    _app: object = field(default=None, repr=False)
    _cached: RawWorkbook | None = field(default=None, repr=False)
    _sheets: dict = field(default_factory=dict, repr=False)  # fallback: sheet objects by name, reused to write
    _path: Path | None = field(default=None, repr=False)
    _selection: tuple[str, int] | None = field(default=None, repr=False)
    _read_once: bool = field(default=False, repr=False)

    @property
    def path(self) -> Path:
        """The workbook's file, for the journal and lock (a never-saved book has none)."""
        if self._path is None:
            if self._use_bulk():
                self._prefetch()
            if self._path is None:
                self._set_path(str(self.book.fullname))
        return self._path

    @property
    def identity(self) -> Path:
        """The tracker's file (names the state folder, journal and lock)."""
        return self.path

    def selection(self) -> tuple[str, int] | None:
        """(sheet name, first row) of the officer's selection."""
        if self._use_bulk():
            self._prefetch()
            if self._bulk:
                return self._selection
        return read_selection(self.book)

    def serve_cached_once(self) -> None:
        """The next load() returns what was just read (and changed in memory) without
        reading Excel again: an action that reads first then runs pays for one read."""
        self._cached = self.raw

    def load(self) -> RawWorkbook:
        """Every contract sheet present, as the file reader gives it."""
        cached, self._cached = self._cached, None
        if cached is not None:
            return cached
        grids = self._read_bulk() if self._use_bulk() else None
        if grids is None:
            grids = self._read_each()
        self._read_once = True
        self.grids = grids
        self.raw = RawWorkbook()
        for spec in schema.ALL:
            if spec.name in grids:
                self.raw.sheets[spec.name] = raw_sheet(grids[spec.name], spec)
        return self.raw

    def save(self, update: TrackerUpdate, sheets: tuple[str, ...] | None = None) -> int:
        """Write the update as block writes; returns the number of cells changed. `sheets`:
        only those sheets' edits (a click about one row leaves the whole-tracker lists alone)."""
        raw = self.raw or self.load()
        writes, changed = [], 0
        for edit in plan_edits(raw, update):
            if sheets is not None and edit.sheet not in sheets:
                continue
            grid = self.grids.get(edit.sheet)
            writes += writes_for(edit, grid)
            changed += _changed(edit, grid)
        self._write(writes)
        self.raw = None  # read afresh next time
        return changed

    def pending(self, update: TrackerUpdate) -> int:
        """How many cells save() would change (for a dry run); writes nothing."""
        raw = self.raw or self.load()
        return sum(_changed(e, self.grids.get(e.sheet)) for e in plan_edits(raw, update))

    def write_cells(self, sheet: str, cells: dict[tuple[int, int], object]) -> None:
        """Write a few cells of a contract sheet that was read (as blocks, like save)."""
        self._write(writes_for(SheetEdit(sheet, dict(cells)), self.grids[sheet]))

    # --- the two ways to Excel ---

    def _use_bulk(self) -> bool:
        if self._bulk is None:
            self._bulk = bool(self.addin)
            if not self.addin:
                self.note = OLDER_ADDIN.format(why="")
        return self._bulk

    @property
    def app(self):
        if self._app is None:
            self._app = self.book.app  # a round trip in xlwings: once per click
        return self._app

    def _prefetch(self) -> None:
        # The bulk read also says where the workbook is and what is selected: read once
        # and serve it to the action's first load().
        if not self._read_once:
            self.load()
            self._cached = self.raw

    def _read_bulk(self) -> dict[str, Grid] | None:
        try:
            got = read_sheets(self.app, self.book, self.addin, [s.name for s in schema.ALL])
        except MacroUnavailable as exc:
            self._bulk = False
            self.note = OLDER_ADDIN.format(why=f" (Excel said: {exc})")
            return None
        self._set_path(got.fullname)
        self._selection = got.selection
        return got.grids

    def _read_each(self) -> dict[str, Grid]:
        by_norm = {norm(n): n for n in self.book.sheet_names}
        grids, self._sheets = {}, {}
        for spec in schema.ALL:
            actual = by_norm.get(norm(spec.name))
            if actual is not None:
                self._sheets[actual] = sheet = self.book.sheets[actual]
                grids[spec.name] = read_grid(sheet, actual)
        return grids

    def _write(self, writes: list[Write]) -> None:
        if self._bulk:
            write_blocks(self.app, self.book, self.addin, writes)
            return
        for w in writes:
            sheet = self._sheets.get(w.sheet)
            if sheet is None:
                sheet = self._sheets[w.sheet] = self.book.sheets.add(w.sheet, after=self.book.sheets[-1])
            if w.values is None:
                sheet.range((w.top, w.left), (w.bottom, w.right)).clear_contents()
            else:
                sheet.range((w.top, w.left)).value = w.values

    def _set_path(self, full: str) -> None:
        if not re.search(r"[\\/]", full):
            raise WorkbookError(f"'{full}' has not been saved yet — save the tracker (File > Save As) "
                                "and click again.")
        self._path = Path(full)


def read_selection(book) -> tuple[str, int] | None:
    """(sheet name, first row) of the officer's selection, through xlwings."""
    sel = book.selection
    if sel is None:
        return None
    return sel.sheet.name, sel.row


def read_grid(sheet, name: str) -> Grid:
    """One bulk read of the sheet's used range (dates as datetime, always 2-D)."""
    used = sheet.used_range
    top, left = origin(used.address)
    values = used.options(ndim=2, dates=datetime, empty=None).value or []
    return Grid(name, top, left, clean_rows(values))


def raw_sheet(grid: Grid, spec: schema.Sheet) -> RawSheet:
    """The grid as the file reader would give it: header found by name, rows by header."""
    wanted = {norm(h): h for h in spec.headers()}
    best, header_idx = -1, 0
    for i, row in enumerate(grid.values[:HEADER_SEARCH_ROWS]):
        score = sum(1 for v in row if norm(v) in wanted)
        if score > best:
            best, header_idx = score, i
    columns: dict[str, int] = {}
    head = grid.values[header_idx] if grid.values else []
    for j, v in enumerate(head):
        key = wanted.get(norm(v))
        if key and key not in columns:
            columns[key] = grid.left + j
    sheet = RawSheet(grid.name, grid.top + header_idx, columns)
    at = [(h, c - grid.left) for h, c in columns.items()]
    width = max((j for _, j in at), default=-1) + 1
    take = sheet.rows.append
    for i in range(header_idx + 1, len(grid.values)):
        row = grid.values[i]
        if len(row) >= width:  # a used range is rectangular: no bounds to check
            cells = {h: row[j] for h, j in at if row[j] is not None}
        else:
            cells = {h: row[j] for h, j in at if j < len(row) and row[j] is not None}
        take((grid.top + i, cells))
    return sheet


def _changed(edit: SheetEdit, grid: Grid | None) -> int:
    if grid is None:  # a new sheet: every value is new
        return sum(1 for v in edit.cells.values() if v is not None)
    return sum(1 for (r, c), v in edit.cells.items() if grid.get(r, c) != v)
