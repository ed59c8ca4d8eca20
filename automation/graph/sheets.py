"""A worksheet's used range as Graph gives it (values, number formats, formulas), and the rows the
file reader's header finding takes (automation/workbook/reader.py _read_sheet), typed as calamine
types them: serials in a date format become datetimes, formulas become Formula."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from datetime import datetime, timedelta
from urllib.parse import quote

from openpyxl.styles.numbers import is_date_format
from openpyxl.utils.datetime import from_excel

from automation.workbook.raw import Formula


@dataclass
class Used:
    """One sheet's used range as Graph gave it: raw values (for the co-author check) and formats."""

    name: str  # as spelled in the workbook
    top: int
    left: int
    values: list[list]
    formats: list[list]
    table: dict | None = None  # {"id", "top", "left", "bottom", "right", "totals"} of the table at the header row

    def get(self, row: int, col: int):
        r, c = row - self.top, col - self.left
        if 0 <= r < len(self.values) and 0 <= c < len(self.values[r]):
            return self.values[r][c]
        return ""

    @property
    def bottom(self) -> int:
        return self.top + len(self.values) - 1

    @property
    def right(self) -> int:
        return self.left + max((len(r) for r in self.values), default=1) - 1


class Grid:
    """What reader._read_sheet needs of a calamine sheet: rows padded from A1, typed values."""

    def __init__(self, rows: list[list]):
        self.rows = rows

    def to_python(self, skip_empty_area: bool = False) -> list[list]:
        return self.rows


def sheet_url(book: str, name: str) -> str:
    return f"{book}/worksheets('{quote(name.replace(chr(39), chr(39) * 2), safe='')}')"


def used_url(book: str, name: str) -> str:
    return f"{sheet_url(book, name)}/usedRange?$select=address,values,numberFormat,formulas"


def cells_of(address: str) -> str:
    """"'Email log'!A1:H30" -> "A1:H30"."""
    return address.rsplit("!", 1)[-1].replace("$", "")


def padded(u: Used, body: dict) -> list[list]:
    """The used range as rows from A1, values typed as calamine gives them (serials in date formats as datetimes)."""
    pad = [""] * (u.left - 1)
    rows: list[list] = [[] for _ in range(u.top - 1)]
    formats = body.get("numberFormat") or []
    for i, row in enumerate(u.values):
        fmt = formats[i] if i < len(formats) else []
        rows.append(pad + [_typed(v, fmt[j] if j < len(fmt) else None) for j, v in enumerate(row)])
    return rows


def _typed(v, fmt):
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        if fmt and isinstance(fmt, str) and _is_date(fmt):
            got = from_excel(v)  # 1900 date system: Graph does not say, and Excel for the web uses it
            return _round(got) if isinstance(got, datetime) else got
        return float(v)
    return v


_is_date = lru_cache(maxsize=512)(is_date_format)  # a sheet has a handful of formats, many cells each


def _round(d: datetime) -> datetime:
    """A serial's float noise (13:04:59.999) back to the second typed."""
    up = d + timedelta(milliseconds=1)
    return up.replace(microsecond=0) if up.microsecond < 2000 else d


def formulas(u: Used, body: dict) -> dict[tuple[int, int], object]:
    out = {}
    for i, row in enumerate(body.get("formulas") or []):
        for j, f in enumerate(row):
            if isinstance(f, str) and f.startswith("="):
                out[(u.top + i, u.left + j)] = Formula(f)
    return out


