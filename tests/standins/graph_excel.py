"""Excel-on-the-web semantics over an openpyxl workbook, for the Graph drive stand-in: range
addresses, reads shaped like Graph's workbookRange (values, numberFormat, formulas), writes that
convert text the way Excel does (formula, number, date, TRUE/FALSE, "'" = literal), and tables
that grow when rows are added."""

from __future__ import annotations

import datetime as dt
import re

from openpyxl.utils import get_column_letter, column_index_from_string
from openpyxl.utils.datetime import CALENDAR_WINDOWS_1900, to_excel
from openpyxl.worksheet.filters import AutoFilter
from openpyxl.worksheet.table import Table, TableColumn, TableStyleInfo

MAX_ROW, MAX_COL = 1048576, 16384


class RangeError(ValueError):
    """A request the real service refuses with 400 InvalidArgument."""


_CELL = re.compile(r"^\$?([A-Za-z]{1,3})?\$?(\d+)?$")


def _ref(part: str) -> tuple[int | None, int | None]:
    m = _CELL.match(part.strip())
    if not m or not (m.group(1) or m.group(2)):
        raise RangeError(f"not a cell reference: {part!r}")
    col = column_index_from_string(m.group(1).upper()) if m.group(1) else None
    return col, (int(m.group(2)) if m.group(2) else None)


def split_sheet(address: str) -> tuple[str | None, str]:
    """'Email log'!A1:B2 -> ("Email log", "A1:B2"); A1 -> (None, "A1")."""
    if "!" not in address:
        return None, address
    sheet, cells = address.rsplit("!", 1)
    if sheet.startswith("'") and sheet.endswith("'"):
        sheet = sheet[1:-1].replace("''", "'")
    return sheet, cells


def parse_cells(cells: str) -> tuple[int, int, int, int]:
    """'A5:H9' / 'B3' / 'A:C' / '2:4' -> (col1, row1, col2, row2), 1-based and inclusive."""
    first, _, last = cells.partition(":")
    c1, r1 = _ref(first)
    c2, r2 = _ref(last) if last else (c1, r1)
    if (c1 is None) != (c2 is None) or (r1 is None) != (r2 is None):
        raise RangeError(f"not a range: {cells!r}")
    c1, c2 = (c1, c2) if c1 is not None else (1, MAX_COL)
    r1, r2 = (r1, r2) if r1 is not None else (1, MAX_ROW)
    return min(c1, c2), min(r1, r2), max(c1, c2), max(r1, r2)


def quote_sheet(title: str) -> str:
    """Sheet name as Excel writes it in an address: quoted when it is not a plain word."""
    return title if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", title) else "'" + title.replace("'", "''") + "'"


def address(title: str, c1: int, r1: int, c2: int, r2: int) -> str:
    """The Graph-style address of a block: Sheet1!A1:C4 (one cell: Sheet1!A1)."""
    a = f"{get_column_letter(c1)}{r1}"
    b = f"{get_column_letter(c2)}{r2}"
    return f"{quote_sheet(title)}!{a if a == b else a + ':' + b}"


def _has_content(cell, values_only: bool) -> bool:
    return cell.value is not None or (not values_only and cell.has_style)


def used_block(ws, values_only: bool = False) -> tuple[int, int, int, int]:
    """Bounding box of cells with a value (or, like Excel, formatting); A1 alone when empty."""
    cells = [k for k, c in ws._cells.items() if _has_content(c, values_only)]
    if not cells:
        return 1, 1, 1, 1
    rows = [r for r, _ in cells]
    cols = [c for _, c in cells]
    return min(cols), min(rows), max(cols), max(rows)


def _clip(ws, block):
    """Whole rows/columns are read only as far as the used range, as Graph's payload would be."""
    c1, r1, c2, r2 = block
    uc1, ur1, uc2, ur2 = used_block(ws)
    if c2 == MAX_COL:
        c2 = max(c1, uc2)
    if r2 == MAX_ROW:
        r2 = max(r1, ur2)
    return c1, r1, c2, r2


def _epoch(cell):
    wb = getattr(getattr(cell, "parent", None), "parent", None)
    return getattr(wb, "epoch", None) or CALENDAR_WINDOWS_1900


def read_value(cell):
    """What Graph puts in `values` for a cell: number, string, boolean, or "" for blank."""
    v = None if cell is None else cell.value
    if v is None:
        return ""
    if cell.data_type == "f":
        return ""  # no calculation engine here: a formula's result reads as blank
    if isinstance(v, bool) or isinstance(v, (int, float)):
        return v
    if isinstance(v, (dt.datetime, dt.date, dt.time)):
        return to_excel(v, _epoch(cell))  # a 1904-dated workbook counts from 1904
    if isinstance(v, dt.timedelta):
        return v.total_seconds() / 86400
    return str(v)


def read_formula(cell):
    """What Graph puts in `formulas`: the formula text, else the constant value."""
    if cell is not None and cell.data_type == "f":
        v = cell.value
        return v if isinstance(v, str) else str(getattr(v, "text", v))
    return read_value(cell)


_GRIDS = {
    "values": read_value,
    "formulas": read_formula,
    "numberFormat": lambda x: x.number_format if x is not None else "General",
    "text": lambda x: _text(x),
    "valueTypes": lambda x: _value_type(x),
}


def read_block(ws, block, select: set[str] | None = None) -> dict:
    """A workbookRange body for `block` on `ws`; `select` narrows the properties like $select."""
    c1, r1, c2, r2 = _clip(ws, block) if MAX_ROW in block or MAX_COL in block else block
    body = {
        "address": address(ws.title, c1, r1, c2, r2),
        "addressLocal": address(ws.title, c1, r1, c2, r2),
        "rowIndex": r1 - 1, "columnIndex": c1 - 1,
        "rowCount": r2 - r1 + 1, "columnCount": c2 - c1 + 1,
        "cellCount": (r2 - r1 + 1) * (c2 - c1 + 1),
    }
    if select:
        body = {k: v for k, v in body.items() if k in select}
    wanted = [k for k in _GRIDS if not select or k in select]
    if not wanted:
        return body
    cells = ws._cells
    if set(wanted) <= {"values", "formulas", "numberFormat"}:  # one pass: a 10,000-row sheet is large
        grids = {k: [] for k in wanted}
        for r in range(r1, r2 + 1):
            rv, rf, rn = [], [], []
            for c in range(c1, c2 + 1):
                x = cells.get((r, c))
                if x is None or x._value is None:
                    rv.append("")
                    rf.append("")
                    rn.append("General" if x is None else x.number_format)
                    continue
                v = x._value
                t = type(v)
                value = v if t in (int, float, bool) or (t is str and x.data_type != "f") else read_value(x)
                rv.append(value)
                rf.append(read_formula(x) if x.data_type == "f" else value)
                rn.append(x.number_format)
            for k, row in (("values", rv), ("formulas", rf), ("numberFormat", rn)):
                if k in grids:
                    grids[k].append(row)
        return body | grids
    grid = [[cells.get((r, c)) for c in range(c1, c2 + 1)] for r in range(r1, r2 + 1)]
    for k in wanted:
        f = _GRIDS[k]
        body[k] = [[f(x) for x in row] for row in grid]
    return body


def _text(cell) -> str:
    v = read_value(cell)
    return "" if v == "" else ("TRUE" if v is True else "FALSE" if v is False else str(v))


def _value_type(cell) -> str:
    v = read_value(cell)
    return ("Empty" if v == "" else "Boolean" if isinstance(v, bool) else
            "Double" if isinstance(v, (int, float)) else "String")


# --- writing --------------------------------------------------------------------------------

_NUMBER = re.compile(r"^[+-]?(\d{1,3}(,\d{3})+|\d+|(?=\.\d))(\.\d*)?([eE][+-]?\d+)?$")
_DATE_FORMS = [  # en-GB Excel: what typing these into a cell turns them into
    (re.compile(r"^\d{4}-\d{1,2}-\d{1,2}$"), "%Y-%m-%d", "yyyy-mm-dd"),
    (re.compile(r"^\d{4}-\d{1,2}-\d{1,2}[ T]\d{1,2}:\d{2}(:\d{2})?$"), None, "yyyy-mm-dd hh:mm"),
    (re.compile(r"^\d{1,2}/\d{1,2}/\d{4}$"), "%d/%m/%Y", "dd/mm/yyyy"),
    (re.compile(r"^\d{1,2}/\d{1,2}/\d{2}$"), "%d/%m/%y", "dd/mm/yyyy"),
    (re.compile(r"^\d{1,2}/\d{1,2}$"), "this year %d/%m", "dd-mmm"),
    (re.compile(r"^\d{1,2}[ -][A-Za-z]{3,9}[ -]\d{4}$"), "%d %b %Y", "dd-mmm-yyyy"),
    (re.compile(r"^\d{1,2}[ -][A-Za-z]{3,9}$"), "this year %d %b", "dd-mmm"),
    (re.compile(r"^\d{1,2}:\d{2}(:\d{2})?$"), None, "h:mm"),
]
_CURRENCY = {"£": '"£"#,##0.00', "$": '"$"#,##0.00', "€": '"€"#,##0.00'}


def excel_input(text: str, cell_format: str, epoch=None):
    """(value, number format or None, literal?) for text typed into a cell, as Excel reads it."""
    if text.startswith("'"):
        return text[1:], None, True
    if cell_format == "@":  # a Text-formatted cell keeps what it is given
        return text, None, False
    s = text.strip()
    if len(s) > 1 and text.startswith("="):
        return text, None, False
    if s.upper() in ("TRUE", "FALSE"):
        return s.upper() == "TRUE", None, False
    plain = s.replace(",", "")
    if _NUMBER.match(s):
        n = float(plain)
        return (int(n) if n.is_integer() and abs(n) < 2**53 and "." not in plain and "e" not in plain.lower() else n), None, False
    if s.endswith("%") and _NUMBER.match(s[:-1].strip()):
        return float(s[:-1].replace(",", "")) / 100, "0%", False
    if s[:1] in _CURRENCY and _NUMBER.match(s[1:]):
        return float(s[1:].replace(",", "")), _CURRENCY[s[0]], False
    if s.startswith("(") and s.endswith(")") and _NUMBER.match(s[1:-1]):  # accountants' negative
        return -float(s[1:-1].replace(",", "")), None, False
    for pattern, fmt, number_format in _DATE_FORMS:
        if pattern.match(s):
            try:
                when = _parse_when(s, fmt)
            except ValueError:
                return text, None, False
            return (to_excel(when, epoch) if epoch else to_excel(when)), number_format, False
    return text, None, False


def _parse_when(s: str, fmt: str | None):
    if fmt and fmt.startswith("this year "):  # a day and month alone: Excel takes the current year
        fmt = fmt[len("this year "):] + " %Y"
        s = f"{s.replace('-', ' ') if '%b' in fmt else s} {dt.date.today().year}"
    if fmt:
        s = s.replace("-", " ") if "%b" in fmt else s
        try:
            return dt.datetime.strptime(s, fmt)
        except ValueError:
            return dt.datetime.strptime(s, fmt.replace("%b", "%B"))
    if ":" in s and ("-" in s):
        return dt.datetime.fromisoformat(s.replace("T", " "))
    parts = [int(p) for p in s.split(":")]
    return dt.time(*parts)


def set_value(cell, value) -> None:
    """Write one `values` entry the way Excel does; None leaves the cell alone."""
    if value is None:
        return
    if isinstance(value, (list, dict)):
        raise RangeError(f"a cell value cannot be {type(value).__name__}")
    cell.quotePrefix = False
    if isinstance(value, str):
        if value == "":
            cell.value = None
            return
        v, number_format, literal = excel_input(value, cell.number_format, _epoch(cell))
        cell.value = v
        if isinstance(v, str):
            cell.data_type = "f" if (not literal and v.startswith("=") and len(v) > 1 and cell.number_format != "@") else "s"
        if literal:
            cell.quotePrefix = True
        if number_format and cell.number_format == "General":
            cell.number_format = number_format
        return
    cell.value = value


def _grid(name: str, data, rows: int, cols: int) -> list[list]:
    """Graph accepts an exact-size grid, or a single value for the whole range."""
    if not isinstance(data, list) or not all(isinstance(r, list) for r in data):
        raise RangeError(f"{name} must be a two-dimensional array")
    if len(data) == 1 and len(data[0]) == 1 and (rows, cols) != (1, 1):
        return [[data[0][0]] * cols for _ in range(rows)]
    if len(data) != rows or any(len(r) != cols for r in data):
        got = f"{len(data)}x{max((len(r) for r in data), default=0)}"
        raise RangeError(f"The number of rows or columns in the input array doesn't match the size or "
                         f"dimensions of the range ({name} is {got}, range is {rows}x{cols})")
    return data


def write_block(ws, block, body: dict) -> None:
    """PATCH a range: numberFormat first (so a date format holds the serial), then values/formulas."""
    c1, r1, c2, r2 = block
    if r2 == MAX_ROW or c2 == MAX_COL:
        raise RangeError("the stand-in does not PATCH whole rows or columns")
    rows, cols = r2 - r1 + 1, c2 - c1 + 1
    grids = {k: _grid(k, body[k], rows, cols) for k in ("numberFormat", "values", "formulas") if k in body}
    for k in ("numberFormat", "values", "formulas"):
        for i, row in enumerate(grids.get(k, [])):
            for j, v in enumerate(row):
                cell = ws.cell(row=r1 + i, column=c1 + j)
                if k == "numberFormat":
                    if v is not None:
                        cell.number_format = str(v)
                else:
                    set_value(cell, v)


def clear_block(ws, block, apply_to: str = "All") -> None:
    """Range clear: Contents (values and formulas), Formats, or All."""
    c1, r1, c2, r2 = _clip(ws, block)
    for (r, c), cell in list(ws._cells.items()):
        if r1 <= r <= r2 and c1 <= c <= c2:
            if apply_to in ("All", "Contents"):
                cell.value = None
                cell.quotePrefix = False
            if apply_to in ("All", "Formats"):
                cell.style = "Normal"


# --- tables ---------------------------------------------------------------------------------

def table_block(table) -> tuple[int, int, int, int]:
    """The cells a table covers, header and totals included."""
    return parse_cells(table.ref)


def table_info(table, ws) -> dict:
    """A workbookTable body."""
    return {"id": str(table.id), "name": table.displayName or table.name,
            "showHeaders": table.headerRowCount != 0, "showTotals": bool(table.totalsRowCount),
            "style": table.tableStyleInfo.name if table.tableStyleInfo else None,
            "worksheet": {"name": ws.title}}


def table_parts(table) -> dict:
    """Blocks of the header row, the data body and the totals row (None if absent)."""
    c1, r1, c2, r2 = table_block(table)
    head = 0 if table.headerRowCount == 0 else 1
    tot = table.totalsRowCount or 0
    return {"header": (c1, r1, c2, r1) if head else None,
            "body": (c1, r1 + head, c2, r2 - tot) if r2 - tot >= r1 + head else None,
            "totals": (c1, r2 - tot + 1, c2, r2) if tot else None}


def _set_ref(table, c1, r1, c2, r2) -> None:
    table.ref = f"{get_column_letter(c1)}{r1}:{get_column_letter(c2)}{r2}"
    if table.autoFilter is not None:
        tot = table.totalsRowCount or 0
        table.autoFilter.ref = f"{get_column_letter(c1)}{r1}:{get_column_letter(c2)}{r2 - tot}"


def add_rows(ws, table, values: list, index: int | None = None) -> int:
    """Insert rows into a table (at its end, above a totals row, by default); returns the row index."""
    c1, r1, c2, r2 = table_block(table)
    width = c2 - c1 + 1
    if not values or not all(isinstance(r, list) and len(r) == width for r in values):
        raise RangeError(f"each row must have the table's {width} columns")
    head = 0 if table.headerRowCount == 0 else 1
    tot = table.totalsRowCount or 0
    data_rows = r2 - tot - (r1 + head) + 1
    index = data_rows if index is None else int(index)
    if not 0 <= index <= data_rows:
        raise RangeError(f"index {index} is outside the table's {data_rows} rows")
    first = r1 + head
    if data_rows == 1 and index in (0, 1) and all(ws._cells.get((first, c)) is None or ws._cells[(first, c)].value
                                                   is None for c in range(c1, c2 + 1)):
        # a table with no data yet has one empty placeholder row: Excel fills it before growing
        for j, v in enumerate(values[0]):
            set_value(ws.cell(row=first, column=c1 + j), v)
        if len(values) > 1:
            add_rows(ws, table, values[1:])
        return 0
    at = r1 + head + index
    n = len(values)
    below = max((r for (r, c) in ws._cells if c1 <= c <= c2), default=0)
    if below >= at:  # Excel shifts the cells under the insertion point down, within the table's columns
        ws.move_range(f"{get_column_letter(c1)}{at}:{get_column_letter(c2)}{below}", rows=n)
        _adjust_formulas(ws, at, n, c1, c2)
    model = at - 1 if at - 1 >= r1 + head else None  # the data row above, if there is one
    for i, row in enumerate(values):
        for j, v in enumerate(row):
            cell = ws.cell(row=at + i, column=c1 + j)
            if model:
                src = ws._cells.get((model, c1 + j))
                if src is not None and src.has_style:
                    cell._style = src._style.__copy__()  # a new table row takes the row above's format
            set_value(cell, v)
    _set_ref(table, c1, r1, c2, r2 + n)
    return index


_REF = re.compile(r"(?<![A-Za-z0-9_!'\].$])(\$?)([A-Z]{1,3})(\$?)(\d+)(?::(\$?)([A-Z]{1,3})(\$?)(\d+))?(?![\w(])")


def _adjust_formulas(ws, at: int, n: int, c1: int, c2: int) -> None:
    """Rows inserted at `at` (columns c1..c2): same-sheet references below move down, and a range
    spanning the insertion point grows, as Excel adjusts formulas when cells are inserted."""
    def shift(m):
        col = column_index_from_string(m.group(2))
        if not c1 <= col <= c2:
            return m.group(0)
        r1 = int(m.group(4))
        out = f"{m.group(1)}{m.group(2)}{m.group(3)}{r1 + n if r1 >= at else r1}"
        if m.group(6):
            r2 = int(m.group(8))
            out += f":{m.group(5)}{m.group(6)}{m.group(7)}{r2 + n if r2 >= at else r2}"
        return out

    for cell in list(ws._cells.values()):
        if cell.data_type == "f" and isinstance(cell.value, str):
            cell.value = _REF.sub(shift, cell.value)


def add_table(ws, block, has_headers: bool) -> Table:
    """tables/add: a new table over `block`, naming header cells or Column1.. as Excel does."""
    c1, r1, c2, r2 = block
    taken = {t.id for s in ws.parent.worksheets for t in s.tables.values()}
    tid = max(taken, default=0) + 1
    names = []
    if not has_headers:
        ws.insert_rows(r1)  # Excel inserts a header row of its own above headerless data
        r2 += 1
    for j, c in enumerate(range(c1, c2 + 1)):
        cell = ws.cell(row=r1, column=c)
        if not has_headers or cell.value in (None, ""):
            cell.value = f"Column{j + 1}"
        names.append(str(cell.value))
    table = Table(id=tid, displayName=f"Table{tid}", name=f"Table{tid}",
                  ref=f"{get_column_letter(c1)}{r1}:{get_column_letter(c2)}{max(r2, r1 + 1)}")
    table.tableColumns = [TableColumn(id=i + 1, name=n) for i, n in enumerate(names)]
    table.tableStyleInfo = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)
    table.autoFilter = AutoFilter(ref=table.ref)
    ws.add_table(table)
    return table
