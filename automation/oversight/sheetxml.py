"""Saving the oversight workbook: openpyxl writes every sheet, then the Inspections sheet's rows
after its first are added straight as sheet XML, in the very form openpyxl writes them. Through
openpyxl's cell objects those 100,000 cells were most of a rebuild; the file is the same."""

from __future__ import annotations

import os
import re
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from xml.sax.saxutils import escape

from openpyxl import Workbook
from openpyxl.compat import safe_string
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import to_excel
from openpyxl.worksheet.worksheet import Worksheet

from automation.safefiles import put

_DIMENSION = re.compile(rb'<dimension ref="[^"]*"/>')
ROWS_PER_WRITE = 500


@dataclass
class OversightBook:
    """The oversight workbook in memory, and the Inspections rows (from row 3) written on save."""

    book: Workbook
    detail: Worksheet  # the Inspections sheet: its header and first row are in `book`
    rows: list[list]  # the values of its rows 3, 4, ...

    def save(self, path) -> None:
        """Write the workbook to path (a new file: the caller renames it into place)."""
        self.book.save(path)
        if self.rows:
            _add_rows(Path(path), self.detail, self.rows)


def _add_rows(path: Path, ws: Worksheet, rows: list[list]) -> None:
    part = ws.path.lstrip("/")  # where openpyxl put the sheet, e.g. xl/worksheets/sheet5.xml
    date_style = ws.cell(2, next((c for c, v in enumerate(rows[0], 1) if isinstance(v, datetime)), 1)).style_id
    last = 2 + len(rows)
    tmp = path.with_name(path.name + ".part")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            data = src.read(info)
            if info.filename != part:
                out.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
                continue
            head, sep, tail = data.partition(b"</sheetData>")
            if not sep:
                raise ValueError(f"{part} in {path} has no sheetData")  # openpyxl always writes one
            ref = f"A1:{get_column_letter(len(rows[0]))}{last}".encode()
            head = _DIMENSION.sub(b'<dimension ref="' + ref + b'"/>', head, count=1)
            info.compress_type = zipfile.ZIP_DEFLATED
            seen: dict = {}
            # A block of rows at a time: the whole sheet's text (5 MB at 5,000 rows) is never held at once.
            with out.open(info, "w") as fh:  # at most DETAIL_LIMIT rows: far below zip64 sizes
                fh.write(head)
                for start in range(0, len(rows), ROWS_PER_WRITE):
                    fh.write(_rows_xml(rows[start:start + ROWS_PER_WRITE], 3 + start, date_style, seen).encode())
                fh.write(sep + tail)
    os.replace(tmp, path)


def _rows_xml(rows: list[list], first: int, date_style: int, seen: dict | None = None) -> str:
    """The rows from row `first` on, the same text as _row's. Most values repeat (terms, districts,
    SIMs, Yes/No, counts): each distinct text or number becomes XML once (_cell depends on the
    value alone). Keyed by type, and a float by its repr, so 1, 1.0 and -0.0 never share; `seen`
    carries what is known from one block of rows to the next (the same date_style only)."""
    letters = [get_column_letter(c) for c in range(1, max(map(len, rows), default=0) + 1)]
    done = {} if seen is None else seen
    skip = len('<c r=""')
    out = []
    for r, values in enumerate(rows, start=first):
        out.append(f'<row r="{r}">')
        for letter, v in zip(letters, values):
            kind = type(v)
            if kind is str or kind is int or kind is float:
                key = (kind, repr(v) if kind is float else v)
                tail = done.get(key)
                if tail is None:
                    tail = done[key] = _cell("", v, date_style)[skip:]
            else:
                tail = _cell("", v, date_style)[skip:]
            if tail:
                out.append(f'<c r="{letter}{r}"{tail}')
        out.append("</row>")
    return "".join(out)


def _row(r: int, values: list, date_style: int) -> str:
    return f'<row r="{r}">' + "".join(_cell(f"{get_column_letter(c)}{r}", v, date_style)
                                      for c, v in enumerate(values, start=1)) + "</row>"


def _cell(ref: str, value, date_style: int) -> str:
    """One cell as openpyxl's lxml writer puts it (text through safefiles.put, as on every sheet)."""
    if value is None:
        return ""  # openpyxl leaves out an empty cell without a style
    if isinstance(value, (datetime, date, time)):
        return f'<c r="{ref}" s="{date_style}" t="n"><v>{safe_string(to_excel(value))}</v></c>'
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f'<c r="{ref}" t="n"><v>{safe_string(value)}</v></c>'
    text = _Text()
    put(text, value)
    if text.value == "":
        return f'<c r="{ref}" t="inlineStr"></c>'
    space = ' xml:space="preserve"' if text.value != text.value.strip() else ""
    return f'<c r="{ref}" t="inlineStr"><is><t{space}>{escape(text.value).replace(chr(13), "&#13;")}</t></is></c>'


class _Text:
    """Stands in for a cell, so text is cleaned by the same safefiles.put as every other cell."""

    value = None
    data_type = "s"
