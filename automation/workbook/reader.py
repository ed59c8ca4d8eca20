"""Read the tracker with openpyxl (read-only, streaming) into RawSheets, finding
sheets and columns by header name, never by position."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import openpyxl

from automation.errors import WorkbookError
from automation.workbook import package as pkg
from automation.workbook import schema
from automation.workbook.raw import Formula, RawSheet, RawWorkbook
from automation.workbook.writer import file_digest

_MERGE = re.compile(rb'<mergeCell ref="([A-Z]+\d+:[A-Z]+\d+)"')
HEADER_SEARCH_ROWS = 5


def _norm(text) -> str:
    return " ".join(str(text).split()).lower() if text is not None else ""


def read_workbook(path: Path, sheets=schema.ALL) -> RawWorkbook:
    """Every contract sheet present in the workbook, as raw rows keyed by header."""
    path = Path(path)
    if not path.exists():
        raise WorkbookError(f"There is no workbook at {path} — check the path (or create one with `ofsted-tracker init`).")
    digest = file_digest(path)
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=False)
        with zipfile.ZipFile(path) as z:
            parts = pkg.sheet_parts(z)
            merged = {name: _MERGE.findall(z.read(part)) for name, part in parts.items()}
    except (zipfile.BadZipFile, OSError, KeyError, ValueError) as exc:
        raise WorkbookError(f"{path.name} could not be opened as an .xlsx workbook ({exc}) — "
                            "save it from Excel as 'Excel Workbook (*.xlsx)'.")
    try:
        by_norm = {_norm(n): n for n in wb.sheetnames}
        out = RawWorkbook(digest=digest)
        for spec in sheets:
            actual = by_norm.get(_norm(spec.name))
            if actual is None:
                continue
            sheet = _read_sheet(wb[actual], spec)
            sheet.merged = [m.decode() for m in merged.get(actual, [])
                            if pkg.split_ref(m.decode().split(":")[1])[0] > sheet.header_row]
            out.sheets[spec.name] = sheet
        return out
    finally:
        wb.close()


def _read_sheet(ws, spec: schema.Sheet) -> RawSheet:
    wanted = {_norm(h): h for h in spec.headers()}
    rows = ws.iter_rows()
    head: list = []
    header_row = 1
    # The header is the row, among the first few, naming most contract columns:
    # users may put a title or notes above the table.
    best = -1
    buffered = []
    for i, row in enumerate(rows, start=1):
        buffered.append(row)
        score = sum(1 for c in row if _norm(c.value) in wanted)
        if score > best:
            best, header_row, head = score, i, row
        if i >= HEADER_SEARCH_ROWS:
            break
    columns: dict[str, int] = {}
    for idx, cell in enumerate(head, start=1):
        key = wanted.get(_norm(cell.value))
        if key and key not in columns:
            columns[key] = idx
    sheet = RawSheet(ws.title, header_row, columns)
    wanted_idx = {idx - 1: h for h, idx in columns.items()}

    def take(number, row):
        values = {}
        for i, h in wanted_idx.items():
            if i >= len(row):
                continue
            cell = row[i]
            v = cell.value
            if getattr(cell, "data_type", None) == "f" or (isinstance(v, str) and v.startswith("=") and cell.data_type == "f"):
                v = Formula(str(v))
            if v is not None and not (isinstance(v, str) and not v.strip()):
                values[h] = v
        sheet.rows.append((number, values))

    for number, row in enumerate(buffered, start=1):
        if number > header_row:
            take(number, row)
    for number, row in enumerate(rows, start=len(buffered) + 1):
        take(number, row)
    return sheet
