"""Cell values as the rest of the tool expects them, from calamine's typed values plus
the few cells calamine cannot describe: formulas (it gives their cached result) and
error cells such as #N/A (it gives a blank). Those are found by a byte scan of the sheet
part, so a sheet without any costs one substring search, not an XML parse."""

from __future__ import annotations

import re
from datetime import date, datetime, time

from lxml import etree

from automation.workbook import package as pkg
from automation.workbook.raw import Formula

# A formula element (<f>, <f t="shared" .../>) or an error cell (t="e"), default namespace.
_MARK = re.compile(rb'<f[\s>/]|\bt="e"')
_PREFIXED = re.compile(rb'<\w+:f[\s>/]')
_QUICK = (b"<f>", b"<f ", b"<f/", b't="e"', b":f>", b":f ", b":f/")
_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def value(v, special=None):
    """One cell as openpyxl would give it: None for blank, int for whole numbers, datetime for dates."""
    if special is not None:
        return special
    if v == "":
        return None
    if isinstance(v, float) and v.is_integer() and abs(v) < 2 ** 53:
        return int(v)  # Excel stores 5 as "5": openpyxl reads it as an int
    if isinstance(v, date) and not isinstance(v, datetime):
        return datetime.combine(v, time(0, 0))  # a date cell is a midnight datetime, as openpyxl reads it
    return v


def row_values(row: list, wanted: list[tuple[int, str]], special: dict, number: int, left: int = 1,
               seen: dict | None = None) -> dict:
    """header -> value for one calamine row (its first item in column left): blanks and blank
    text left out. The hot loop of a read. `seen` (one dict for a read) keeps one copy of each
    text and date: two thirds of a tracker's text cells repeat another (types, grades, names,
    states), and so do most dates. A datetime is never equal to a text, so they share it."""
    out = {}
    for i, h in wanted:
        v = row[i]
        t = type(v)
        if special and (number, i + left) in special:
            out[h] = special[(number, i + left)]
        elif t is str:
            if v and not v.isspace():
                out[h] = v if seen is None else seen.setdefault(v, v)
        elif t is float:
            out[h] = int(v) if v.is_integer() and abs(v) < 2 ** 53 else v
        elif t is date:
            v = datetime.combine(v, time(0, 0))
            out[h] = v if seen is None else seen.setdefault(v, v)
        elif t is datetime:
            out[h] = v if seen is None else seen.setdefault(v, v)  # due dates and the like repeat too
        else:
            out[h] = v
    return out


def special_cells(data: bytes, part: str) -> dict[tuple[int, int], object]:
    """{(row, column): Formula or error text} for every formula or error cell in a sheet part."""
    if not any(mark in data for mark in _QUICK):
        return {}  # the usual case, found with a few substring searches of the part
    if _PREFIXED.search(data):
        return _by_parse(data, part)
    found: dict[tuple[int, int], object] = {}
    shared: dict = {}  # si -> openpyxl Translator
    last_end = -1
    for m in _MARK.finditer(data):
        if m.start() < last_end:
            continue  # a second mark inside a cell already taken
        start = _cell_start(data, m.start())
        if start is None:
            continue  # not inside a cell (a <filterColumn>, say)
        end = _cell_end(data, start)
        try:
            el = etree.fromstring(data[start:end])
        except etree.XMLSyntaxError:
            return _by_parse(data, part)  # anything unusual: the sure way
        if el.get("r") is None:
            return _by_parse(data, part)  # positions implied by order: the sure way
        _take(el, "", found, shared)
        last_end = end
    return found


def _cell_start(data: bytes, pos: int) -> int | None:
    """Where the <c> element holding pos begins, or None when pos is outside any cell."""
    start = max(data.rfind(b"<c ", 0, pos + 1), data.rfind(b"<c>", 0, pos + 1))
    if start < 0 or data.rfind(b"</c>", start, pos) >= 0:
        return None
    head_end = data.find(b">", start)
    if data[head_end - 1:head_end] == b"/" and head_end < pos:
        return None  # a self-closed cell before pos
    return start


def _cell_end(data: bytes, start: int) -> int:
    head_end = data.find(b">", start)
    if data[head_end - 1:head_end] == b"/":
        return head_end + 1
    return data.find(b"</c>", head_end) + 4


def _by_parse(data: bytes, part: str) -> dict[tuple[int, int], object]:
    found: dict[tuple[int, int], object] = {}
    shared: dict = {}  # si -> openpyxl Translator
    root = pkg.parse(data, part)
    row_no, col_no = 0, 0
    for row in root.iter(f"{_NS}row"):
        row_no = int(row.get("r") or row_no + 1)
        col_no = 0
        for c in row.iter(f"{_NS}c"):
            ref = c.get("r")
            col_no = pkg.split_ref(ref)[1] if ref else col_no + 1
            _take(c, _NS, found, shared, (row_no, col_no))
    return found


def _take(el, ns: str, found: dict, shared: dict, at: tuple[int, int] | None = None) -> None:
    ref = el.get("r")
    at = at or pkg.split_ref(ref)
    f = el.find(f"{ns}f")
    if f is not None:
        text = "=" + (f.text or "")
        if f.get("t") == "shared":  # the first cell of a shared formula holds its text; the rest repeat it
            si = f.get("si")
            if si in shared and ref:
                text = shared[si].translate_formula(ref)
            elif text != "=" and ref:
                # Imported here: only shared formulas need it, and openpyxl costs ~17 MB to import.
                from openpyxl.formula.translate import Translator

                shared[si] = Translator(text, ref)
        found[at] = Formula(text)
    elif el.get("t") == "e":
        v = el.find(f"{ns}v")
        if v is not None and v.text:
            found[at] = v.text
