"""Read the tracker into RawSheets, finding sheets and columns by header name, never by
position. Values come from python-calamine (tens of times faster than openpyxl on a big
tracker); formulas and error cells, which calamine reports as cached values or blanks,
come from a byte scan of the same sheet parts (automation/workbook/cells.py)."""

from __future__ import annotations

import difflib
import functools
import itertools
import re
import sys
import zipfile
import zlib
from pathlib import Path
from typing import Callable, Iterator, NamedTuple

import python_calamine
from defusedxml import DefusedXmlException

from automation.errors import WorkbookError, WorkbookUnreadable
from automation.workbook import package as pkg
from automation.workbook import safety
from automation.workbook import cells, headers, schema
from automation.workbook.raw import RawSheet, RawWorkbook
from automation.workbook.writer import file_digest

_MERGE = re.compile(rb'<mergeCell ref="([A-Z]+\d+:[A-Z]+\d+)"')
HEADER_SEARCH_ROWS = 20  # a title, notes and a blank row or two above the table are common
HEADER_MIN_MATCHES = 2  # a row naming fewer of the sheet's columns is not its header


_norm = headers.norm


# What a damaged or odd file makes calamine, lxml, ElementTree or zipfile raise while reading.
# Sheet name -> (the headers a row is judged by, the test of those cells): see read_workbook.
Keep = dict[str, tuple[frozenset, Callable[[dict], bool]]]

_BAD_FILE = (zipfile.BadZipFile, zlib.error, EOFError, SyntaxError, DefusedXmlException, KeyError, ValueError,
             python_calamine.CalamineError)


def read_workbook(path: Path, sheets=schema.ALL, limits: safety.PartLimits | None = None,
                  keep: Keep | None = None) -> RawWorkbook:
    """Every contract sheet present in the workbook, as raw rows keyed by header. `keep` (by sheet
    name: the headers a row is judged by, and the test of those cells) leaves out the rows a
    command about one inspection has no use for, before the rest of the row is converted."""
    path = Path(path)
    safety.sniff(path)
    # One open file for the checks, the fingerprint and calamine: all see the same bytes
    # even if someone saves over the tracker meanwhile.
    with open(path, "rb") as fh:
        digest = file_digest(fh)
        with safety.open_package(fh, path.name, limits) as z:
            try:
                return _read(fh, z, sheets, digest, keep or {})
            except WorkbookError:
                raise
            except _BAD_FILE as exc:
                raise _unreadable(z, path.name, exc)


def _unreadable(z: zipfile.ZipFile, name: str, exc: Exception) -> WorkbookError:
    found = safety.find_damaged_part(z, name)
    if found is not None:
        return found
    detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return WorkbookUnreadable(f"{name} could not be read as an .xlsx workbook ({type(exc).__name__}: {detail}) — "
                              "open it in Excel and save it as 'Excel Workbook (*.xlsx)', or restore the last good copy.")


def _read(fh, z: zipfile.ZipFile, sheets, digest: str, keep: Keep) -> RawWorkbook:
    parts = pkg.sheet_parts(z)
    fh.seek(0)
    wb = _load(fh)
    try:
        by_norm = {_norm(n): n for n in wb.sheet_names}
        found = [(spec, by_norm[_norm(spec.name)]) for spec in sheets if _norm(spec.name) in by_norm]
        # Every part is scanned (in chunks) before calamine loads any sheet, so a part's unpacked XML
        # (10 MB for 10,000 rows) and calamine's copy of the cells are never in memory together.
        scans = {actual: scan_part(z, parts[actual]) if parts.get(actual) else Scan({}, [], 0) for _, actual in found}
        read: dict[str, RawSheet] = {}
        seen: dict = {}  # ids, URNs, school names and dates recur from sheet to sheet
        # The sheet with the most cells first, while little else is held: a sheet being read costs
        # calamine's copy of all its cells (~32 bytes each) on top of the rows kept so far.
        for spec, actual in sorted(found, key=lambda f: -scans[f[1]].cells):
            part = parts.get(actual)
            special, merges = scans.pop(actual)[:2]
            sheet = _read_sheet(wb.get_sheet_by_name(actual), actual, spec, special, seen, keep.get(spec.name))
            sheet.table_end, sheet.table_totals = _table_end(z, part, sheet.header_row)
            if sheet.table_totals:  # a table's totals row is not data
                last = sheet.table_end + sheet.table_totals
                sheet.rows = [(n, c) for n, c in sheet.rows if not sheet.table_end < n <= last]
            sheet.merged = [m for m in merges if pkg.split_ref(m.split(":")[1])[0] > sheet.header_row]
            read[spec.name] = sheet
        out = RawWorkbook({spec.name: read[spec.name] for spec, _ in found}, digest=digest)  # in the contract's order
        _require_sheets(sheets, out, wb.sheet_names)
        return out
    finally:
        wb.close()
        give_back_freed_memory()


def give_back_freed_memory() -> None:
    """Return the C heap's free pages to the system (glibc; elsewhere nothing is done).
    calamine's copy of a sheet is thousands of small allocations; freed, glibc keeps their pages
    (15 MB at 10,000 rows), and Python's own objects, allocated apart, never reuse them."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim():
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            return ctypes.CDLL("libc.so.6").malloc_trim
        except (OSError, AttributeError):  # not glibc (musl, say): nothing to trim
            pass
    return None


_CHUNK = 1 << 18  # 256 KB: the scan holds little more than one chunk
_OVERLAP = 256  # longer than any mark or <mergeCell ref="..."> looked for, so none is cut in two
_PREFIXED_ROOT = re.compile(rb"<[A-Za-z_][\w.-]*:worksheet\b")
_PLAIN_MARKS = (b"<f>", b"<f ", b"<f/", b't="e"')  # a formula or error cell in unprefixed XML
_DIMENSION = re.compile(rb'<dimension ref="\$?([A-Z]+)\$?(\d+)(?::\$?([A-Z]+)\$?(\d+))?"')


class Scan(NamedTuple):
    """What a sheet part holds besides values: formula and error cells, merged ranges, and how many
    cells its <dimension> says it spans (0 when it does not say; used only to order the reads)."""

    special: dict
    merges: list
    cells: int


def scan_part(z: zipfile.ZipFile, part: str) -> Scan:
    """The part's Scan, read in chunks: the whole part is held only when it has formula or error
    cells (the tool's own sheets never have any)."""
    merges: list[str] = []
    size = 0
    taken_to = 0  # absolute end of the last merge taken (a merge in the overlap is seen twice)
    with z.open(part) as fh:
        tail, offset = b"", 0  # offset: where tail begins in the part
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            window = tail + chunk
            if offset == 0:
                if _PREFIXED_ROOT.search(window, 0, 4096):
                    return _whole_part(z, part)  # elements written as <x:c>: the sure way
                size = size or _dimension_cells(window)
            # "<f" first: one search of the chunk finds nothing in a sheet without formulas.
            if (b"<f" in window and any(m in window for m in _PLAIN_MARKS[:3])) or _PLAIN_MARKS[3] in window:
                return _whole_part(z, part)
            for m in _MERGE.finditer(window):
                if offset + m.start() >= taken_to:
                    merges.append(m.group(1).decode())
                    taken_to = offset + m.end()
            keep = min(len(window), _OVERLAP)
            offset += len(window) - keep
            tail = window[-keep:]
    return Scan({}, merges, size)


def _dimension_cells(head: bytes) -> int:
    m = _DIMENSION.search(head, 0, 8192)
    if m is None:
        return 0
    c1, r1, c2, r2 = m.groups()
    if c2 is None:
        return 1
    return (abs(int(r2) - int(r1)) + 1) * (abs(pkg.col_number(c2.decode()) - pkg.col_number(c1.decode())) + 1)


def _whole_part(z: zipfile.ZipFile, part: str) -> Scan:
    data = z.read(part)
    return Scan(cells.special_cells(data, part), [m.decode() for m in _MERGE.findall(data)], _dimension_cells(data))


def _table_end(z: zipfile.ZipFile, part: str | None, header_row: int) -> tuple[int | None, int]:
    """(last data row, totals rows) of the Excel table whose header is the sheet's header row; (None, 0) without one."""
    for tpart in pkg.table_parts(z, part) if part else ():
        table = pkg.parse(z.read(tpart), tpart)
        start, end = table.get("ref", "A1:A1").split(":")
        if pkg.split_ref(start)[0] == header_row:
            totals = int(table.get("totalsRowCount") or 0)
            return pkg.split_ref(end)[0] - totals, totals
    return None, 0


def _require_sheets(sheets, out: RawWorkbook, names: list[str]) -> None:
    """A required sheet that is missing, said in one line with the nearest sheet the workbook has."""
    missing = [s.name for s in sheets if s in schema.REQUIRED and s.name not in out.sheets]
    if not missing:
        return
    spare = {_norm(n): n for n in names if _norm(n) not in {_norm(s.name) for s in schema.ALL}}
    hints = []
    for name in missing:
        near = difflib.get_close_matches(_norm(name), list(spare), n=1, cutoff=0.5)
        if near:
            hints.append(f"is '{spare.pop(near[0])}' the '{name}' sheet renamed? Rename it back to exactly '{name}'")
    raise WorkbookError(f"The tracker has no sheet named {', '.join(repr(m) for m in missing)} — "
                        + ("; ".join(hints) + " (the tool finds sheets by name)." if hints else
                           "add it (copy it from workbook_templates/tracker_template.xlsx) and run again."))


def _load(fh):
    try:
        return python_calamine.CalamineWorkbook.from_filelike(fh)
    except _BAD_FILE:
        raise
    except Exception as exc:  # calamine parsing untrusted input: anything it raises means a bad file
        raise ValueError(f"{type(exc).__name__}: {exc}") from exc


def _read_sheet(ws, title: str, spec: schema.Sheet, special: dict, seen: dict | None = None,
                keep: tuple | None = None) -> RawSheet:
    """One sheet's header and rows; `seen` (shared by a read's sheets) keeps one copy of each text
    and date; `keep` ((headers, test)): only the rows whose cells under those headers pass."""
    wanted = {_norm(h) for h in spec.headers()}
    top = 1
    rows, left = _rows_of(ws)
    # The header is the row, among the first few, naming most contract columns:
    # users may put a title or notes above the table.
    best, header_row, head, buffered = -1, 1, [], []
    for i, row in enumerate(rows, start=top):
        buffered.append(row)
        score = sum(1 for v in row if _norm(v) in wanted)
        if score > best:
            best, header_row, head = score, i, row
        if i >= HEADER_SEARCH_ROWS:
            break
    named = [(i, cells.value(v, special.get((header_row, i)))) for i, v in enumerate(head, start=left)]
    columns, notes = headers.match_headers(named, spec, spec.name, header_row)
    notes += headers.missing_optional(spec, columns, spec.name, header_row)
    width = max((i for i, v in named if _norm(v)), default=0)
    sheet = RawSheet(title, header_row, columns, problems=notes, width=width,
                     header_found=best >= min(HEADER_MIN_MATCHES, len(wanted)), searched_rows=len(buffered))
    wanted_idx = [(idx - left, h) for h, idx in columns.items() if 0 <= idx - left < len(head)]
    seen = {} if seen is None else seen
    take = sheet.rows.append
    by, test = ([(i, h) for i, h in wanted_idx if h in keep[0]], keep[1]) if keep else ([], None)
    numbered = itertools.chain(enumerate(buffered[header_row - top + 1:], start=header_row + 1),
                               enumerate(rows, start=len(buffered) + top))
    for number, row in numbered:
        if test is None or test(cells.row_values(row, by, special, number, left, seen)):
            take((number, cells.row_values(row, wanted_idx, special, number, left, seen)))
    return sheet


def _rows_of(ws) -> tuple[Iterator[list], int]:
    """(the sheet's rows from row 1, the column of each row's first item). A calamine sheet is
    streamed a row at a time (iter_rows pads rows from row 1 and starts at the first used column):
    a whole-sheet list of 10,000 rows would hold every cell twice. Anything else (automation/graph)
    gives rows padded from A1."""
    if isinstance(ws, python_calamine.CalamineSheet):
        start = ws.start
        return iter(ws.iter_rows()), (start[1] + 1 if start else 1)
    return iter(ws.to_python(skip_empty_area=False)), 1
