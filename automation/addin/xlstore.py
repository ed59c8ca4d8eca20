"""The live-workbook store: the tracker open in Excel, read and written through
xlwings with one bulk read per sheet and one bulk write per block of cells.

Same interface as automation/workbook/store.py WorkbookStore (load() -> RawWorkbook,
save(update) -> cells written), so the run pipeline works on the open workbook.
Per-cell COM calls are what make xlwings slow (each is a round trip to Excel), so
nothing here touches a single cell in a loop."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from automation.errors import WorkbookError
from automation.update import TrackerUpdate, changed_cells
from automation.workbook import schema
from automation.workbook.raw import RawSheet, RawWorkbook
from automation.workbook.store import WorkbookStore
from automation.workbook.writer import SheetEdit

HEADER_SEARCH_ROWS = 5  # as the file reader: a title may sit above the table
_ADDR = re.compile(r"^\$?([A-Z]+)\$?(\d+)(?::\$?([A-Z]+)\$?(\d+))?$")


@dataclass
class Grid:
    """A sheet's used range as read: values[r][c] is cell (top + r, left + c)."""

    name: str
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


@dataclass
class XlwingsStore:
    """Reads and writes the tracker open in Excel (an xlwings Book)."""

    book: object
    raw: RawWorkbook | None = None
    grids: dict[str, Grid] = field(default_factory=dict)  # canonical sheet name -> as read
    _cached: RawWorkbook | None = field(default=None, repr=False)
    _sheets: dict = field(default_factory=dict, repr=False)  # sheet objects from the read, reused to write
    _path: Path | None = field(default=None, repr=False)

    @property
    def path(self) -> Path:
        """The workbook's file, for the journal and lock (a never-saved book has none)."""
        if self._path is None:
            full = str(self.book.fullname)
            if not re.search(r"[\\/]", full):
                raise WorkbookError(f"'{full}' has not been saved yet — save the tracker (File > Save As) "
                                    "and click again.")
            self._path = Path(full)
        return self._path

    def sheet(self, name: str):
        """The xlwings sheet read as the contract sheet `name` (no extra round trip)."""
        return self._sheets.get(name) or self.book.sheets[self.grids[name].name]

    def serve_cached_once(self) -> None:
        """The next load() returns what was just read (and changed in memory) without
        reading Excel again: an action that reads first then runs pays for one read."""
        self._cached = self.raw

    def load(self) -> RawWorkbook:
        """Every contract sheet present: one bulk read of its used range."""
        cached, self._cached = self._cached, None
        if cached is not None:
            return cached
        by_norm = {_norm(n): n for n in self.book.sheet_names}
        self.raw, self.grids, self._sheets = RawWorkbook(), {}, {}
        for spec in schema.ALL:
            actual = by_norm.get(_norm(spec.name))
            if actual is None:
                continue
            self._sheets[spec.name] = sheet = self.book.sheets[actual]
            grid = read_grid(sheet, actual)
            self.grids[spec.name] = grid
            self.raw.sheets[spec.name] = raw_sheet(grid, spec)
        return self.raw

    def save(self, update: TrackerUpdate) -> int:
        """Write the update as bulk blocks; returns the number of cells changed."""
        raw = self.raw or self.load()
        current = {n: cells for n, cells in raw.sheets["Inspections"].rows}
        update = changed_cells(update, current)
        # The file store decides which cells the update touches; here we only move them.
        planner = WorkbookStore(Path("live-workbook"))
        edits = [e for e in (
            planner._inspections(raw.sheets["Inspections"], update),
            planner._follow_ups(raw.sheets["Follow-ups"], update),
            planner._email_log(raw.sheets["Email log"], update),
            planner._problems(raw.sheets.get("Problems"), update),
        ) if e is not None and (e.cells or e.truncate_after is not None)]
        written = 0
        for edit in edits:
            written += self._apply(edit)
        self.raw = None  # read afresh next time
        return written

    def _apply(self, edit: SheetEdit) -> int:
        grid = self.grids.get(edit.sheet)
        if grid is None:  # a sheet the tracker lacks (only Problems is optional and written)
            sheet = self.book.sheets.add(edit.sheet, after=self.book.sheets[-1])
            grid = Grid(edit.sheet, 1, 1, [])
            cells = {(1, i): h for i, h in enumerate(edit.create_headers, 1)} | dict(edit.cells)
        else:
            sheet = self.sheet(edit.sheet)
            cells = dict(edit.cells)
        for (top, left), block in blocks(cells, grid):
            sheet.range((top, left)).value = block
        if edit.truncate_after is not None and grid.values:
            last_written = max([edit.truncate_after, *[r for r, _ in cells]])
            if grid.bottom > last_written:
                sheet.range((last_written + 1, grid.left), (grid.bottom, grid.left + len(grid.values[0]) - 1)).clear_contents()
        return sum(1 for (r, c), v in edit.cells.items() if grid.get(r, c) != v)


def read_grid(sheet, name: str) -> Grid:
    """One bulk read of the sheet's used range (dates as datetime, always 2-D)."""
    used = sheet.used_range
    top, left = _origin(used.address)
    values = used.options(ndim=2, dates=datetime, empty=None).value or []
    return Grid(name, top, left, [[_clean(v) for v in row] for row in values])


def raw_sheet(grid: Grid, spec: schema.Sheet) -> RawSheet:
    """The grid as the file reader would give it: header found by name, rows by header."""
    wanted = {_norm(h): h for h in spec.headers()}
    best, header_idx = -1, 0
    for i, row in enumerate(grid.values[:HEADER_SEARCH_ROWS]):
        score = sum(1 for v in row if _norm(v) in wanted)
        if score > best:
            best, header_idx = score, i
    columns: dict[str, int] = {}
    head = grid.values[header_idx] if grid.values else []
    for j, v in enumerate(head):
        key = wanted.get(_norm(v))
        if key and key not in columns:
            columns[key] = grid.left + j
    sheet = RawSheet(grid.name, grid.top + header_idx, columns)
    for i in range(header_idx + 1, len(grid.values)):
        row = grid.values[i]
        cells = {h: row[c - grid.left] for h, c in columns.items()
                 if c - grid.left < len(row) and row[c - grid.left] is not None}
        sheet.rows.append((grid.top + i, cells))
    return sheet


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
        block = [[_to_excel(cells[(r, c)]) if (r, c) in cells else grid.get(r, c) for c in run]
                 for r in range(top, bottom + 1)]
        yield (top, run[0]), block


def _to_excel(v):
    # The core's times are London-aware; Excel cells hold local wall-clock time.
    if isinstance(v, datetime) and v.tzinfo is not None:
        return v.replace(tzinfo=None)
    return v


def _origin(address: str) -> tuple[int, int]:
    m = _ADDR.match(address.replace("$", "") if address else "A1")
    if not m:
        raise WorkbookError(f"Excel gave an unexpected used range {address!r}.")
    col = 0
    for ch in m.group(1):
        col = col * 26 + ord(ch) - 64
    return int(m.group(2)), col


def _clean(v):
    # Excel holds every number as a float; the file reader gives whole numbers as int
    # (a URN typed as a number must read as "100001", not "100001.0").
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, str) and not v.strip():
        return None
    return v


def _norm(text) -> str:
    return " ".join(str(text).split()).lower() if text is not None else ""
