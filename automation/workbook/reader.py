"""Read the tracker into RawSheets, finding sheets and columns by header name, never by
position. Values come from python-calamine (tens of times faster than openpyxl on a big
tracker); formulas and error cells, which calamine reports as cached values or blanks,
come from a byte scan of the same sheet parts (automation/workbook/cells.py)."""

from __future__ import annotations

import difflib
import re
import zipfile
import zlib
from pathlib import Path

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
_BAD_FILE = (zipfile.BadZipFile, zlib.error, EOFError, SyntaxError, DefusedXmlException, KeyError, ValueError,
             python_calamine.CalamineError)


def read_workbook(path: Path, sheets=schema.ALL, limits: safety.PartLimits | None = None) -> RawWorkbook:
    """Every contract sheet present in the workbook, as raw rows keyed by header."""
    path = Path(path)
    safety.sniff(path)
    # One open file for the checks, the fingerprint and calamine: all see the same bytes
    # even if someone saves over the tracker meanwhile.
    with open(path, "rb") as fh:
        digest = file_digest(fh)
        with safety.open_package(fh, path.name, limits) as z:
            try:
                return _read(fh, z, sheets, digest)
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


def _read(fh, z: zipfile.ZipFile, sheets, digest: str) -> RawWorkbook:
    parts = pkg.sheet_parts(z)
    fh.seek(0)
    wb = _load(fh)
    try:
        by_norm = {_norm(n): n for n in wb.sheet_names}
        out = RawWorkbook(digest=digest)
        for spec in sheets:
            actual = by_norm.get(_norm(spec.name))
            if actual is None:
                continue
            part = parts.get(actual)
            data = z.read(part) if part else b""
            sheet = _read_sheet(wb.get_sheet_by_name(actual), actual, spec, cells.special_cells(data, part or actual))
            sheet.table_end, sheet.table_totals = _table_end(z, part, sheet.header_row)
            if sheet.table_totals:  # a table's totals row is not data
                last = sheet.table_end + sheet.table_totals
                sheet.rows = [(n, c) for n, c in sheet.rows if not sheet.table_end < n <= last]
            sheet.merged = [m.decode() for m in _MERGE.findall(data)
                            if pkg.split_ref(m.decode().split(":")[1])[0] > sheet.header_row]
            out.sheets[spec.name] = sheet
        _require_sheets(sheets, out, wb.sheet_names)
        return out
    finally:
        wb.close()


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


def _read_sheet(ws, title: str, spec: schema.Sheet, special: dict) -> RawSheet:
    wanted = {_norm(h) for h in spec.headers()}
    # Padded from A1 (skip_empty_area=False): list index + 1 is the row and column number,
    # even with a blank column A or rows left empty above a title.
    top, left = 1, 1
    rows = iter(ws.to_python(skip_empty_area=False))
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
    take, seen = sheet.rows.append, {}
    for number, row in enumerate(buffered[header_row - top + 1:], start=header_row + 1):
        take((number, cells.row_values(row, wanted_idx, special, number, left, seen)))
    for number, row in enumerate(rows, start=len(buffered) + top):
        take((number, cells.row_values(row, wanted_idx, special, number, left, seen)))
    return sheet
