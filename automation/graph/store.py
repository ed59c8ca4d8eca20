"""The SharePoint/OneDrive tracker as a TrackerStore, through the Graph workbook API.

Read: each contract sheet's used range (values, number formats, formulas) in one $batch, turned
into the very RawSheets the file reader makes (its header finding and cell rules, reused).
Write: the one cell planner (workbook/store.py plan_edits), inside a persistent workbook session;
each target range is read again in that session and a cell is written only where the value read
at load is still there, so a co-author's edit made meanwhile survives (and is reported). Runs of
cells go as range PATCHes in $batch (20 at a time); new Follow-ups and Email log rows go through
the table API so the sheet's Excel table grows. State (journal, lock, fingerprint, generated
files) stays on this machine under [sharepoint] local_folder, keyed by the drive item id."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from automation.addin.grid import origin
from automation.config import Config
from automation.errors import GraphError, GraphLocked, WorkbookError
from automation.graph import location as loc
from automation.graph.client import GraphClient, Reply, raise_for
from automation.graph.sheets import Grid, Used, cells_of, formulas, padded, sheet_url, used_url
from automation.graph.writes import Write, WorkbookSession, plan_blocks, to_cell
from automation.update import TrackerUpdate
from automation.workbook import schema
from automation.workbook.headers import norm
from automation.workbook.raw import RawWorkbook
from automation.workbook.reader import _read_sheet, _require_sheets
from automation.workbook.store import plan_edits
from automation.workbook.writer import SheetEdit

ITEM_FIELDS = "id,name,eTag,cTag,size,parentReference,lastModifiedDateTime,webUrl"
NAME_FILE = "tracker-name.txt"
TABLES_FILE = "tables.json"  # the ids of the tracker's tables seen last run (their extents then come with the sheets)
GROWING = (schema.FOLLOW_UPS, schema.EMAIL_LOG, schema.PROBLEMS)  # sheets the tool adds rows to: their tables grow


@dataclass
class GraphWorkbookStore:
    """Reads and writes the tracker in SharePoint/OneDrive, cell runs at a time, never the whole file."""

    target: str  # the URL or "drive:<id>/item:<id>"
    client: GraphClient
    folder: Path  # [sharepoint] local_folder on this machine
    raw: RawWorkbook | None = None
    drive_id: str = ""
    item_id: str = ""
    parent_id: str = ""
    name: str = ""
    item: dict = field(default_factory=dict)  # the driveItem as last fetched
    used: dict[str, Used] = field(default_factory=dict)  # canonical sheet name -> as read at load
    notes: list[str] = field(default_factory=list)  # cells left for the next run (co-authors' edits), said by the run
    written: int = 0  # cells known written by the last save (also when it was cut short)

    @classmethod
    def from_config(cls, cfg: Config, target: str | None = None) -> "GraphWorkbookStore":
        """The store for [sharepoint] (tracker from the config unless given): client, sign-in and all."""
        from automation.graph import auth
        from automation.graph.client import make_session

        sec = auth.settings(cfg)
        target = str(target or sec.get("tracker") or "").strip()
        if not target:
            raise WorkbookError(f"{cfg.source}: no tracker given — name it on the command line or as "
                                "[sharepoint] tracker.")
        session = make_session(sec.get("ca_bundle", ""))
        client = GraphClient(sec["graph_url"], auth.token_provider(cfg, session), session,
                             float(sec["timeout_seconds"]), float(sec["max_wait_seconds"]))
        return cls(target, client, auth.local_folder(cfg))

    # --- where the tracker is ---

    def locate(self) -> None:
        """Drive and item ids (a URL resolved once through /shares and remembered), then the item itself."""
        if self.item_id:
            return
        where = loc.parse(self.target)
        if isinstance(where, str):
            known = loc.remembered(self.folder, where)
            if known is None:
                item = self.client.request("GET", f"shares/{loc.share_id(where)}/driveItem",
                                           params={"$select": ITEM_FIELDS},
                                           what=f"Opening the tracker at {where}").json()
                known = loc.Location(item["parentReference"]["driveId"], item["id"], where)
                loc.remember(self.folder, known)
                self._take_item(item)
            where = known
        self.drive_id, self.item_id = where.drive_id, where.item_id

    def _take_item(self, item: dict) -> None:
        self.item = item
        self.name = item.get("name") or self.name
        self.parent_id = (item.get("parentReference") or {}).get("id", self.parent_id)

    def parent(self) -> str:
        """The tracker's folder as the drive says now: from this run's item GET (one more GET when the
        run has made none yet). Never remembered across runs, so a moved tracker is followed."""
        if not self.parent_id:
            self.fetch_item()
        return self.parent_id

    @property
    def base(self) -> str:
        return f"drives/{self.drive_id}/items/{self.item_id}"

    @property
    def identity(self) -> Path:
        """<local_folder>/<item id>/<tracker name as first seen>: this machine's state for the tracker."""
        self.locate()
        here = self.folder / _safe(self.item_id)
        try:
            first = (here / NAME_FILE).read_text(encoding="utf-8").strip()
        except OSError:
            first = ""
        if not first:
            if not self.name:
                self.fetch_item()
            first = _safe(self.name or f"{self.item_id}.xlsx")
            here.mkdir(parents=True, exist_ok=True)
            (here / NAME_FILE).write_text(first, encoding="utf-8")
        return here / first

    def fetch_item(self) -> dict:
        """GET the driveItem (its cTag changes whenever the content does)."""
        self.locate()
        reply = self.client.request("GET", self.base, params={"$select": ITEM_FIELDS})
        self._check_item(reply)
        self._take_item(reply.json())
        return self.item

    def _check_item(self, reply: Reply) -> None:
        if reply.status == 404 and self.target.lower().startswith("https://"):
            loc.forget(self.folder, self.target)  # moved: the next run resolves the URL afresh
        raise_for(reply, f"The tracker {self.name or self.target}")

    def version(self, extra: list[dict] | None = None) -> dict:
        """What changes when the tracker does (eTag, cTag), in one request; with `extra` sub-requests
        (e.g. the forms folder listing) in the same $batch: {"tracker": [...], "extra": [reply bodies]}."""
        self.locate()
        item = {"method": "GET", "url": f"/{self.base}?$select={ITEM_FIELDS}"}
        if not extra:
            got = self.fetch_item()
            return {"tracker": [got.get("eTag"), got.get("cTag"), got.get("size")], "extra": []}
        replies = self.client.batch([item, *extra])
        self._check_item(replies[0])
        self._take_item(replies[0].json())
        return {"tracker": [self.item.get("eTag"), self.item.get("cTag"), self.item.get("size")],
                "extra": [r.json() if r.ok else None for r in replies[1:]]}

    # --- reading ---

    def load(self) -> RawWorkbook:
        """Every contract sheet present, as the file reader gives it, from one $batch of used ranges."""
        self.locate()
        book = f"/{self.base}/workbook"
        wanted = list(schema.ALL)
        reqs = [{"method": "GET", "url": f"/{self.base}?$select={ITEM_FIELDS}"},
                {"method": "GET", "url": f"{book}/worksheets?$select=id,name,position"}]
        reqs += [{"method": "GET", "url": used_url(book, s.name)} for s in wanted]
        reqs += [{"method": "GET", "url": f"{sheet_url(book, s.name)}/tables"} for s in GROWING]
        known = self._known_tables()[:20 - len(reqs)]  # their extents in the same $batch (ids seen last run)
        reqs += [_range_of(book, t) for t in known]
        replies = self.client.batch(reqs)
        prefetched = dict(zip(known, replies[len(reqs) - len(known):]))
        self._check_item(replies[0])
        self._take_item(replies[0].json())
        raise_for(replies[1], f"Reading the sheets of {self.name}")
        names = [w["name"] for w in replies[1].json().get("value", [])]
        by_norm = {norm(n): n for n in names}
        used = {s.name: r for s, r in zip(wanted, replies[2:2 + len(wanted)])}
        tables = dict(zip((s.name for s in GROWING), replies[2 + len(wanted):2 + len(wanted) + len(GROWING)]))
        # A sheet spelt differently (case, spaces) from the contract: read again under its own name.
        respell = [s for s in wanted if by_norm.get(norm(s.name)) not in (None, s.name)]
        if respell:
            more = self.client.batch(
                [{"method": "GET", "url": used_url(book, by_norm[norm(s.name)])} for s in respell]
                + [{"method": "GET", "url": f"{sheet_url(book, by_norm[norm(s.name)])}/tables"} for s in respell
                   if s.name in tables])
            for s, r in zip(respell, more):
                used[s.name] = r
            for s, r in zip([s for s in respell if s.name in tables], more[len(respell):]):
                tables[s.name] = r
        raw = RawWorkbook(digest=str(self.item.get("eTag") or self.item.get("cTag") or ""))
        self.used = {}
        for spec in wanted:
            actual = by_norm.get(norm(spec.name))
            if actual is None:
                continue
            u = self._used(actual, raise_for(used[spec.name], f"Reading sheet '{actual}' of {self.name}").json())
            sheet = _read_sheet(Grid(padded(u, used[spec.name].json())), actual, spec, formulas(u, used[spec.name].json()))
            self.used[spec.name] = u
            raw.sheets[spec.name] = sheet
        _require_sheets(wanted, raw, names)
        self._tables(book, raw, {n: r.json().get("value") or [] for n, r in tables.items() if r.ok and n in raw.sheets},
                     prefetched)
        self.raw = raw
        return raw

    def _tables(self, book: str, raw: RawWorkbook, listing: dict[str, list[dict]], prefetched: dict[str, Reply]) -> None:
        """Each sheet's table whose header row is the sheet's header row: extents read with the sheets
        (tables seen last run) or in one more $batch (tables new to this machine)."""
        found = [(name, t) for name, ts in listing.items() for t in ts]
        self._remember_tables([t["id"] for _, t in found])
        if not found:
            return
        missing = [t for _, t in found if not (t["id"] in prefetched and prefetched[t["id"]].ok)]
        got = dict(zip((t["id"] for t in missing), self.client.batch([_range_of(book, t["id"]) for t in missing])))
        for name, t in found:
            r = prefetched[t["id"]] if t["id"] not in got else got[t["id"]]
            sheet, u = raw.sheets[name], self.used[name]
            address = cells_of(r.json().get("address", "")) if r.ok else ""
            if ":" not in address or u.table:
                continue
            (top, left), (bottom, right) = (origin(a) for a in address.split(":"))
            if top != sheet.header_row:
                continue
            u.table = {"id": t["id"], "name": t.get("name", ""), "top": top, "left": left, "bottom": bottom,
                       "right": right, "totals": 1 if t.get("showTotals") else 0}
            sheet.table_end, sheet.table_totals = bottom - u.table["totals"], u.table["totals"]
            if sheet.table_totals:  # a table's totals row is not data
                last = sheet.table_end + sheet.table_totals
                sheet.rows = [(n, c) for n, c in sheet.rows if not sheet.table_end < n <= last]

    def _known_tables(self) -> list[str]:
        try:
            ids = json.loads((self._here() / TABLES_FILE).read_text(encoding="utf-8"))
            return [str(i) for i in ids] if isinstance(ids, list) else []
        except (OSError, ValueError):
            return []

    def _remember_tables(self, ids: list[str]) -> None:
        if ids != self._known_tables():
            try:
                self._here().mkdir(parents=True, exist_ok=True)
                (self._here() / TABLES_FILE).write_text(json.dumps(ids), encoding="utf-8")
            except OSError:
                pass  # one more $batch next run: harmless

    def _here(self) -> Path:
        return self.folder / _safe(self.item_id)

    def _used(self, actual: str, body: dict) -> Used:
        top, left = origin(cells_of(body.get("address", "A1")))
        return Used(actual, top, left, body.get("values") or [], body.get("numberFormat") or [])

    # --- writing ---

    def pending(self, update: TrackerUpdate) -> int:
        """How many cells save() would write (for --dry-run); writes nothing."""
        return sum(len(e.cells) for e in plan_edits(self.raw or self.load(), update))

    def save(self, update: TrackerUpdate) -> int:
        """Write the update in a workbook session; the cells written. Raises WorkbookLocked (GraphLocked)."""
        raw = self.raw or self.load()
        edits = plan_edits(raw, update)
        self.notes, self.written = [], 0
        if not edits:
            return 0
        try:
            with WorkbookSession(self) as ws:
                self._save_in(ws, [w for e in edits for w in self._writes(e)])
        except GraphLocked:
            raise
        except GraphError as exc:  # the messages are journalled: the write-back waits, said, for the next run
            raise GraphLocked(f"{exc} ({self.written} cell(s) written before it; the next run writes the rest.)")
        finally:
            self.raw = None  # read afresh next time
        return self.written

    def _save_in(self, ws: WorkbookSession, plan: list["Write"]) -> None:
        added = [w for w in plan if w.kind == "add"]
        if added:  # a sheet must exist before anything is written to it ($batch items run in any order)
            ws.send([w.request(ws.book)[0] for w in added], [0] * len(added))
        fresh = ws.reread([w for w in plan if w.check])
        first = [w for w in plan if w.first]
        if first:
            ws.send([w.request(ws.book)[0] for w in first], [0] * len(first))
        requests, counts, sent = [], [], []
        for w in plan:
            if w.kind == "add" or w.first:
                continue
            got = w.keep_unchanged(fresh.get(w.key)) if w.check else w
            self.notes.extend(w.conflicts)
            if got is None:
                continue  # every cell of it was changed by someone meanwhile
            req, n = got.request(ws.book)
            requests.append(req)
            counts.append(n)
            sent.append(got)
        self.written = ws.send(requests, counts, self)
        formats = [f for w, r in zip(sent, ws.replies) if (f := w.row_formats(ws.book, r))]
        if formats:  # the new table rows' dates shown as dates (rows/add takes values only)
            ws.send(formats, [0] * len(formats))

    def _writes(self, edit: SheetEdit) -> list["Write"]:
        """The edit as range writes (with nulls between the tool's cells), clears and table row adds."""
        u = self.used.get(edit.sheet)
        out: list[Write] = []
        if u is None:  # the Problems sheet, missing: made first, then written whole
            cells = {(1, i): h for i, h in enumerate(edit.create_headers, 1)} | dict(edit.cells)
            out.append(Write("add", edit.sheet, edit.sheet, 0, 0, None, check=False))
            u = Used(edit.sheet, 1, 1, [], [])
        else:
            cells = dict(edit.cells)
        table = u.table
        adds: dict[int, dict[int, object]] = {}
        if table and (edit.append_from is not None or edit.truncate_after is not None):
            for (r, c), v in list(cells.items()):
                if r > table["bottom"] - table["totals"] and table["left"] <= c <= table["right"]:
                    adds.setdefault(r, {})[c] = cells.pop((r, c))  # new rows: through the table, so it grows
        for (top, left), block in plan_blocks(cells):
            out.append(Write("patch", edit.sheet, u.name, top, left, block, expected=u, check=edit.sheet in self.used))
        if adds:
            rows = [[to_cell(adds[r].get(c)) if c in adds[r] else "" for c in range(table["left"], table["right"] + 1)]
                    for r in sorted(adds)]
            # Rows the table adds at its end, above a totals row, moving whatever is below it down: nothing
            # of anyone's is overwritten, so no check is needed (a co-author's new row stays before ours).
            out.append(Write("rows", edit.sheet, u.name, min(adds), table["left"], rows, expected=u, table=table,
                             check=False))
        # A tool-owned list rewritten whole: the rows below the new list cleared with the writes, or, when
        # table rows are added (which move the cells below down), everything old cleared first.
        if edit.truncate_after is not None and u.values:
            start = edit.truncate_after + 1 if adds else max([edit.truncate_after, *[r for r, _ in cells]]) + 1
        if edit.truncate_after is not None and u.values and u.bottom >= start:
            out.append(Write("clear", edit.sheet, u.name, start, u.left, None, check=False, bottom=u.bottom,
                             right=u.right, first=bool(adds)))
        return out


def _safe(name: str) -> str:
    """A file or folder name from Graph text, without path separators or other surprises."""
    cleaned = "".join(ch if ch.isalnum() or ch in " ._-()" else "_" for ch in str(name)).strip(" .")
    return cleaned or "tracker.xlsx"


def _range_of(book: str, table_id: str) -> dict:
    return {"method": "GET", "url": f"{book}/tables/{quote(table_id, safe='')}/range?$select=address"}
