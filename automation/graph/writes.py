"""A save's requests to the Graph workbook API: range PATCHes (null = leave the cell), table rows,
clears and a sheet added, each checked against the value read at load in the same workbook
session (a co-author's edit since then is left alone and said), sent in $batch twenties."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from urllib.parse import quote

from openpyxl.utils.datetime import to_excel

from automation.addin.grid import blocks, letters
from automation.errors import GraphCut, GraphError, GraphLocked
from automation.graph.client import Reply, raise_for, session_expired
from automation.graph.sheets import Used, sheet_url

DATE_FORMAT, DATETIME_FORMAT = "dd/mm/yyyy", "dd/mm/yyyy hh:mm"


@dataclass
class Write:
    """One request of a save: a range PATCH (values with nulls to leave), table rows, a clear, a sheet add."""

    kind: str  # "patch" | "rows" | "clear" | "add"
    sheet: str  # canonical
    actual: str  # as spelled in the workbook
    top: int
    left: int
    values: list[list] | None
    expected: Used | None = None
    check: bool = True
    table: dict | None = None
    bottom: int = 0
    right: int = 0
    first: bool = False  # sent before the other writes (a clear that rows added would otherwise move)
    conflicts: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.actual}!{self.address}"

    @property
    def address(self) -> str:
        if self.values is not None and self.kind != "rows":
            bottom, right = self.top + len(self.values) - 1, self.left + len(self.values[0]) - 1
        elif self.kind == "rows":
            bottom, right = self.top + len(self.values) - 1, self.left + len(self.values[0]) - 1
        else:
            bottom, right = self.bottom, self.right
        return f"{letters(self.left)}{self.top}:{letters(right)}{bottom}"

    def keep_unchanged(self, now: list[list] | None) -> "Write | None":
        """This write minus the cells a co-author changed since the load (None: nothing left)."""
        if now is None:
            return self
        if self.kind == "rows":  # rows the table does not have yet: any text typed there since is theirs
            typed = [i for i, row in enumerate(now) if any(v not in ("", None) for v in row)]
            if typed:
                self.conflicts.append(f"'{self.sheet}' rows {self.top + typed[0]}…: someone typed below the table "
                                      "since it was read — the new rows wait for the next run.")
                return None
            return self
        vals = [list(r) for r in self.values]
        left = 0
        for i, row in enumerate(vals):
            for j, v in enumerate(row):
                if v is None:
                    continue
                r, c = self.top + i, self.left + j
                then, cur = self.expected.get(r, c), _at(now, i, j)
                if not _same(then, cur):
                    row[j] = None
                    self.conflicts.append(f"'{self.sheet}' {letters(c)}{r}: changed by someone since it was read "
                                          f"(now {str(cur)[:40]!r}) — left as they wrote it; the next run looks again.")
                else:
                    left += 1
        if not left:
            return None
        return Write(self.kind, self.sheet, self.actual, self.top, self.left, vals, self.expected, self.check,
                     self.table, self.bottom, self.right)

    def row_formats(self, book: str, reply: Reply | None) -> dict | None:
        """For table rows just added: a PATCH giving their date cells a date format (None: nothing to format)."""
        if self.kind != "rows" or reply is None or not reply.ok:
            return None
        fmt = [[_format(v) for v in row] for row in self.values]
        if not any(f for row in fmt for f in row):
            return None
        index = reply.json().get("index")
        top = self.table["top"] + 1 + index if isinstance(index, int) else self.top
        bottom, right = top + len(self.values) - 1, self.left + len(self.values[0]) - 1
        address = f"{letters(self.left)}{top}:{letters(right)}{bottom}"
        return {"method": "PATCH", "url": f"{sheet_url(book, self.actual)}/range(address='{address}')",
                "body": {"numberFormat": fmt}}

    def request(self, book: str) -> tuple[dict, int]:
        """The Graph request for this write, and how many cells it sets."""
        sheet = sheet_url(book, self.actual)
        if self.kind == "add":
            return {"method": "POST", "url": f"{book}/worksheets/add", "body": {"name": self.actual}}, 0
        if self.kind == "clear":
            return ({"method": "POST", "url": f"{sheet}/range(address='{self.address}')/clear",
                     "body": {"applyTo": "Contents"}}, 0)
        if self.kind == "rows":
            return ({"method": "POST", "url": f"{book}/tables/{quote(self.table['id'], safe='')}/rows/add",
                     "body": {"index": None, "values": [[_wire(v) for v in row] for row in self.values]}},
                    sum(1 for row in self.values for v in row if v != ""))
        values = [[None if v is None else _wire(v.value) for v in row] for row in self.values]
        formats = [[None if v is None else _format(v.value) for v in row] for row in self.values]
        body = {"values": values}
        if any(f is not None for row in formats for f in row):
            body["numberFormat"] = formats
        return ({"method": "PATCH", "url": f"{sheet}/range(address='{self.address}')", "body": body},
                sum(1 for row in self.values for v in row if v is not None))


class WorkbookSession:
    """A persistent workbook session (createSession … closeSession), made again if it expires."""

    def __init__(self, store):
        self.store, self.client = store, store.client
        self.book = f"/{store.base}/workbook"
        self.id = ""
        self.replies: list[Reply] = []  # of the last send, in order

    def __enter__(self) -> "WorkbookSession":
        self.open()
        return self

    def open(self) -> None:
        reply = self.client.request("POST", f"{self.book}/createSession", json={"persistChanges": True})
        raise_for(reply, f"Opening {self.store.name} for writing")
        self.id = reply.json().get("id", "")

    def __exit__(self, *exc) -> None:
        if self.id:
            try:
                self.client.request("POST", f"{self.book}/closeSession", headers={"workbook-session-id": self.id})
            except GraphError:
                pass  # the session times out by itself; what was written is persisted already

    def _headers(self) -> dict:
        return {"workbook-session-id": self.id}

    def batch(self, requests: list[dict]) -> list[Reply]:
        """The requests in this session; those answered "session expired" redone in a new one (once)."""
        reqs = [dict(r, headers={**(r.get("headers") or {}), **self._headers()}) for r in requests]
        replies = self.client.batch(reqs)
        redo = [i for i, r in enumerate(replies) if session_expired(r)]
        if redo:
            self.open()
            again = self.client.batch([dict(requests[i], headers=self._headers()) for i in redo])
            for i, r in zip(redo, again):
                replies[i] = r
        return replies

    def reread(self, writes: list[Write]) -> dict[str, list[list]]:
        """The target ranges as they are now, in this session (co-authors' edits included)."""
        if not writes:
            return {}
        replies = self.batch([{"method": "GET", "url": f"{sheet_url(self.book, w.actual)}/range(address='{w.address}')"
                                                      "?$select=address,values"} for w in writes])
        out = {}
        for w, r in zip(writes, replies):
            _locked_or_raise(r, self.store.name, 0)
            out[w.key] = r.json().get("values") or []
        return out

    def send(self, requests: list[dict], counts: list[int], store=None) -> int:
        """Send the writes; the cells written. Locked/conflict or a cut: what got through is counted, and said."""
        done, self.replies = 0, []
        for start in range(0, len(requests), 20):
            chunk, n = requests[start:start + 20], counts[start:start + 20]
            try:
                replies = self.batch(chunk)
            except GraphCut as exc:
                raise _cut(self.store.name, done, sum(counts[start:]), exc)
            self.replies += replies
            for r, k in zip(replies, n):
                if r.ok:
                    done += k
            if store is not None:
                store.written = done
            for r in replies:
                _locked_or_raise(r, self.store.name, done)
        return done


def _locked_or_raise(r: Reply, name: str, done: int) -> None:
    if r.ok:
        return
    if r.status in (409, 423):
        raise GraphLocked(f"{name} on SharePoint is locked or being edited in a way that blocks writing "
                          f"({r.status} {(r.json().get('error') or {}).get('code', '')}); {done} cell(s) were written "
                          "before it, the rest wait for the next run.")
    raise_for(r, f"Writing {name}")


def _cut(name: str, done: int, unsure: int, exc: Exception) -> GraphLocked:
    """A connection cut mid-write: known-written cells counted; the rest go next run (the re-read shows what is there)."""
    return GraphLocked(f"The connection to SharePoint was cut while writing {name} ({exc}); {done} cell(s) are known "
                       f"written and {unsure} may or may not be — the next run reads the tracker again and writes "
                       "whatever is missing.")


class _NoGrid:
    def get(self, row, col):
        return None


def plan_blocks(cells: dict) -> list:
    """Rectangles per run of adjacent columns; None (leave the cell) between the tool's cells."""
    out = []
    for (top, left), block in blocks({k: _Marked(v) for k, v in cells.items()}, _NoGrid()):
        out.append(((top, left), [[v if isinstance(v, _Marked) else None for v in row] for row in block]))
    return out


@dataclass(frozen=True)
class _Marked:
    """A planned value, told apart from the None the grid gives for a gap."""

    value: object


def to_cell(v):
    return "" if v is None else v


def _wire(v):
    """A value as sent: text behind an apostrophe (never a formula or a number), dates as serials."""
    if v is None:
        return ""  # the plan's "clear this cell"
    if isinstance(v, bool):
        return v
    if isinstance(v, datetime):
        return to_excel(v.replace(tzinfo=None))
    if isinstance(v, date):
        return to_excel(datetime(v.year, v.month, v.day))
    if isinstance(v, (int, float)):
        return v
    text = str(v)
    return "'" + text if text else ""


def _format(v):
    if isinstance(v, datetime):
        return DATETIME_FORMAT if (v.hour, v.minute, v.second) != (0, 0, 0) else DATE_FORMAT
    if isinstance(v, date):
        return DATE_FORMAT
    return None


def _at(rows: list[list], i: int, j: int):
    return rows[i][j] if i < len(rows) and j < len(rows[i]) else ""


def _same(then, now) -> bool:
    """A cell unchanged since the load (Graph's raw values: numbers, text, booleans, "")."""
    if then in (None, "") and now in (None, ""):
        return True
    if isinstance(then, (int, float)) and isinstance(now, (int, float)) and not isinstance(then, bool):
        return abs(float(then) - float(now)) < 1e-9
    return then == now


