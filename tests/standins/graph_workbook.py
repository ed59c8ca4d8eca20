"""The workbook half of the Graph drive stand-in: /drives/{d}/items/{i}/workbook/... parsed into an
operation, then carried out on an openpyxl workbook (see graph_excel for the Excel semantics)."""

from __future__ import annotations

import re
import uuid

import openpyxl

from tests.standins import graph_excel as xl

WRITES = {"PATCH range", "POST clear", "POST rows/add", "POST worksheets/add", "PATCH worksheet",
          "DELETE worksheet", "POST tables/add"}


class GraphError(Exception):
    """An error answer: status, Graph error code, message, extra headers, innerError code."""

    def __init__(self, status: int, code: str, message: str, headers: dict | None = None, inner: str | None = None):
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message, self.headers, self.inner = status, code, message, headers or {}, inner

    def body(self) -> dict:
        """The {"error": {...}} body Graph sends."""
        err = {"code": self.code, "message": self.message,
               "innerError": {"date": "2026-01-01T00:00:00", "request-id": str(uuid.uuid4())}}
        if self.inner:
            err["innerError"]["code"] = self.inner
        return {"error": err}


class Book:
    """An openpyxl workbook with the stable worksheet ids Graph gives (renames keep the id)."""

    def __init__(self, path, previous: "Book | None" = None):
        self.wb = openpyxl.load_workbook(path)
        self.ids: dict[int, str] = {}
        # a reload (the file changed on disk) keeps the ids of sheets whose names it still has
        self.seed = {ws.title: previous.sheet_id(ws) for ws in previous.wb.worksheets} if previous else {}

    def sheet_id(self, ws) -> str:
        """The worksheet's Graph id, made on first sight."""
        if id(ws) not in self.ids:
            self.ids[id(ws)] = self.seed.pop(ws.title, None) or "{" + str(uuid.uuid4()).upper() + "}"
        return self.ids[id(ws)]

    def sheet(self, key: str):
        """A worksheet by id or (case-insensitively, as Excel matches) by name; 404 if none."""
        for ws in self.wb.worksheets:
            if self.sheet_id(ws) == key or ws.title.lower() == key.lower():
                return ws
        raise GraphError(404, "ItemNotFound", f"The requested resource doesn't exist. (worksheet {key!r})")

    def info(self, ws) -> dict:
        """A workbookWorksheet body."""
        state = {"visible": "Visible", "hidden": "Hidden", "veryHidden": "VeryHidden"}[ws.sheet_state]
        return {"id": self.sheet_id(ws), "name": ws.title, "position": self.wb.worksheets.index(ws),
                "visibility": state}

    def tables(self, ws=None):
        """(worksheet, table) pairs, of one sheet or the whole workbook."""
        return [(s, t) for s in ([ws] if ws is not None else self.wb.worksheets) for t in s.tables.values()]

    def table(self, key: str, ws=None):
        """A table by id or name; 404 if none."""
        for s, t in self.tables(ws):
            if str(t.id) == key or (t.displayName or t.name).lower() == key.lower() or (t.name or "").lower() == key.lower():
                return s, t
        raise GraphError(404, "ItemNotFound", f"The requested resource doesn't exist. (table {key!r})")


_SHEET = re.compile(r"^/worksheets(?:\('(?P<q>(?:[^']|'')*)'\)|\((?P<p>[^)']*)\)|/(?P<s>[^/(]+))(?P<rest>.*)$")
_TABLE = re.compile(r"^/tables(?:\('(?P<q>(?:[^']|'')*)'\)|\((?P<p>[^)']*)\)|/(?P<s>[^/(]+))(?P<rest>.*)$")
_RANGE = re.compile(r"^/range\(address='(?P<a>(?:[^']|'')*)'\)(?P<rest>.*)$")
_CELL = re.compile(r"^/cell\(row=(?P<r>\d+),\s*column=(?P<c>\d+)\)$")
_TABLE_OPS = {"": "table", "/range": "table range", "/dataBodyRange": "table dataBodyRange",
              "/headerRowRange": "table headerRowRange", "/totalRowRange": "table totalRowRange",
              "/rows": "rows", "/rows/add": "rows/add", "/columns": "columns"}


def _key(m) -> str:
    return (m.group("q") or "").replace("''", "'") if m.group("q") is not None else (m.group("p") or m.group("s"))


def parse(rest: str) -> tuple[str, dict]:
    """Decoded path after /workbook -> (operation, parameters); operation "" if unknown."""
    if rest in ("/createSession", "/closeSession", "/refreshSession", "/worksheets", "/worksheets/add",
                "/tables", "/tables/add"):
        return rest[1:], {}
    p: dict = {}
    m = _SHEET.match(rest)
    if m and _key(m) != "add":
        p["sheet"], rest = _key(m), m.group("rest")
        if rest == "":
            return "worksheet", p
        if rest in ("/usedRange", "/usedRange(valuesOnly=true)", "/usedRange(valuesOnly=false)"):
            return "usedRange", p | {"values_only": rest.endswith("(valuesOnly=true)")}
        if rest in ("/tables", "/tables/add"):
            return rest[1:], p
        c = _CELL.match(rest)
        if c:
            return "range", p | {"address": f"{xl.get_column_letter(int(c.group('c')) + 1)}{int(c.group('r')) + 1}"}
        r = _RANGE.match(rest)
        if r:
            p["address"] = r.group("a").replace("''", "'")
            op = {"": "range", "/clear": "clear"}.get(r.group("rest"), "")
            return op, p
    t = _TABLE.match(rest)
    if t and _key(t) != "add":
        p["table"] = _key(t)
        return _TABLE_OPS.get(t.group("rest"), ""), p
    return "", {}


def kind_of(method: str, op: str) -> str:
    """The request kind recorded and scripted: POST tables/{id}/rows (Create tableRow) is rows/add."""
    return f"{method} {'rows/add' if (method, op) == ('POST', 'rows') else op or 'workbook?'}"


def _select(query: dict) -> set[str] | None:
    sel = query.get("$select")
    return {s.strip() for s in sel.split(",")} if sel else None


def _only(body: dict, sel: set[str] | None) -> dict:
    return {k: v for k, v in body.items() if k in sel} if sel else body


def _block(ws, address: str):
    sheet, cells = xl.split_sheet(address)
    if sheet is not None and sheet.lower() != ws.title.lower():
        raise GraphError(400, "InvalidArgument", f"The address {address!r} is not on worksheet {ws.title!r}.")
    try:
        return xl.parse_cells(cells)
    except xl.RangeError as exc:
        raise GraphError(400, "InvalidArgument", f"The argument is invalid or missing or has an incorrect format. ({exc})")


def execute(book: Book, method: str, op: str, p: dict, body: dict, query: dict) -> tuple[int, dict | None]:
    """Carry out one workbook operation on `book`; (status, JSON body)."""
    sel = _select(query)
    ws = book.sheet(p["sheet"]) if "sheet" in p else None
    if op == "worksheets" and method == "GET":
        return 200, {"value": [_only(book.info(s), sel) for s in book.wb.worksheets]}
    if op == "worksheets/add" and method == "POST":
        name = (body or {}).get("name") or f"Sheet{len(book.wb.worksheets) + 1}"
        if any(s.title.lower() == name.lower() for s in book.wb.worksheets):
            raise GraphError(409, "ItemAlreadyExists", f"A resource with the same name or identifier already exists. ({name!r})")
        return 201, book.info(book.wb.create_sheet(name))
    if op == "worksheet":
        if method == "GET":
            return 200, book.info(ws)
        if method == "PATCH":
            if "name" in (body or {}):
                ws.title = body["name"]
            if "visibility" in (body or {}):
                ws.sheet_state = {"Visible": "visible", "Hidden": "hidden", "VeryHidden": "veryHidden"}[body["visibility"]]
            return 200, book.info(ws)
        if method == "DELETE":
            book.wb.remove(ws)
            return 204, None
    if op == "usedRange" and method == "GET":
        return 200, xl.read_block(ws, xl.used_block(ws, p.get("values_only", False)), sel)
    if op == "range":
        block = _block(ws, p["address"])
        if method == "GET":
            return 200, xl.read_block(ws, block, sel)
        if method == "PATCH":
            try:
                xl.write_block(ws, block, body or {})
            except xl.RangeError as exc:
                raise GraphError(400, "InvalidArgument", str(exc))
            return 200, xl.read_block(ws, block, sel)
    if op == "clear" and method == "POST":
        xl.clear_block(ws, _block(ws, p["address"]), (body or {}).get("applyTo", "All"))
        return 204, None
    if op == "tables" and method == "GET":
        return 200, {"value": [_only(xl.table_info(t, s), sel) for s, t in book.tables(ws)]}
    if op == "tables/add" and method == "POST":
        address = (body or {}).get("address", "")
        sheet_name, _ = xl.split_sheet(address)
        target = ws or (book.sheet(sheet_name) if sheet_name else book.wb.active)
        table = xl.add_table(target, _block(target, address), bool((body or {}).get("hasHeaders", True)))
        return 201, xl.table_info(table, target)
    if "table" in p:
        return _table_op(book, ws, method, op, p, body or {}, sel)
    raise GraphError(400, "BadRequest", f"The stand-in does not serve {method} {op or 'this workbook path'}.")


def _table_op(book, ws, method, op, p, body, sel):
    s, table = book.table(p["table"], ws)
    parts = xl.table_parts(table)
    if op == "table" and method == "GET":
        return 200, xl.table_info(table, s)
    ranges = {"table range": xl.table_block(table), "table dataBodyRange": parts["body"],
              "table headerRowRange": parts["header"], "table totalRowRange": parts["totals"]}
    if op in ranges and method == "GET":
        if ranges[op] is None:
            raise GraphError(404, "ItemNotFound", f"The table has no {op.split()[1]}.")
        return 200, xl.read_block(s, ranges[op], sel)
    if op == "rows" and method == "GET":
        if parts["body"] is None:
            return 200, {"value": []}
        rows = xl.read_block(s, parts["body"])["values"]
        return 200, {"value": [{"index": i, "values": [r]} for i, r in enumerate(rows)]}
    if op in ("rows/add", "rows") and method == "POST":
        try:
            index = xl.add_rows(s, table, body.get("values") or [], body.get("index"))
        except xl.RangeError as exc:
            raise GraphError(400, "InvalidArgument", str(exc))
        c1, r1, c2, _ = xl.table_block(table)
        head = 0 if table.headerRowCount == 0 else 1
        n = len(body["values"])
        added = xl.read_block(s, (c1, r1 + head + index, c2, r1 + head + index + n - 1))["values"]
        return 201, {"index": index, "values": added}
    if op == "columns" and method == "GET":
        c1, r1, c2, _ = xl.table_block(table)
        return 200, {"value": [{"id": str(i + 1), "index": i, "name": col.name}
                               for i, col in enumerate(table.tableColumns)]}
    raise GraphError(400, "BadRequest", f"The stand-in does not serve {method} {op}.")
