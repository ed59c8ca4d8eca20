"""The openpyxl store: read the tracker, and write the tool's cells back safely."""

from __future__ import annotations

import re

from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from pathlib import Path

from automation import values as V
from automation.update import TrackerUpdate, changed_cells
from automation.workbook import schema
from automation.workbook.raw import RawSheet, RawWorkbook
from automation.workbook.reader import read_workbook
from automation.workbook.safety import PartLimits
from automation.workbook.writer import SheetEdit, apply_edits, as_written


@dataclass
class WorkbookStore:
    """Reads with python-calamine; writes only the tool's cells by editing the package XML."""

    path: Path
    raw: RawWorkbook | None = None
    limits: PartLimits | None = None  # zip part limits ([workbook] in config); None: the defaults
    # Each long sheet's planned edit for what it was planned from: the dry-run count (pending) and
    # the save plan the same update, and the Follow-ups and Problems sheets' plans are the costly ones.
    _planned: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def identity(self) -> Path:
        """The tracker's file (names the state folder, journal and lock)."""
        return Path(self.path)

    def load(self) -> RawWorkbook:
        """Read every contract sheet (remembering where each column is, for the write-back)."""
        self.raw = read_workbook(self.path, limits=self.limits)
        self._planned.clear()
        return self.raw

    def save(self, update: TrackerUpdate) -> int:
        """Write the update; returns the number of cells written. Raises WorkbookLocked."""
        raw = self.raw or self.load()
        edits = plan_edits(raw, update, self._planned)
        if not edits:
            return 0
        apply_edits(self.path, edits, raw.digest, self.limits)
        self.raw = None  # the file changed: read afresh next time
        self._planned.clear()
        return sum(len(e.cells) for e in edits)

    def pending(self, update: TrackerUpdate) -> int:
        """How many cells save() would write (for --dry-run); writes nothing."""
        return sum(len(e.cells) for e in plan_edits(self.raw or self.load(), update, self._planned))


def plan_edits(raw: RawWorkbook, update: TrackerUpdate, memo: dict | None = None) -> list[SheetEdit]:
    """The cells an update writes, sheet by sheet: the one planner for the file store and
    the live-workbook store (automation/addin/xlstore.py), so neither can miss a sheet.
    `memo` (a dict kept by the caller for one read of the tracker) keeps each sheet's plan
    for what it was planned from, so planning the same update twice (the dry-run count,
    then the save) costs a comparison for each of them."""
    found = {name: sheet.header_found for name, sheet in raw.sheets.items()}
    memo = {} if memo is None else memo

    def planned(name: str, given, make) -> SheetEdit | None:
        hit = memo.get(name)
        if hit is None or hit[0] is not raw or hit[1] != given:
            hit = memo[name] = (raw, given, make())
        edit = hit[2]
        return None if edit is None else replace(edit, cells=dict(edit.cells))  # the writer may add to its copy

    # The two long lists are kept (as tuples: a caller may change its update after planning);
    # the Inspections and Email log plans cost less than a copy of what they are made from.
    # A sheet whose header row was not found is never written: the tool would not know where
    # its columns are, and would write into a title row (the Problems sheet says where it looked).
    follow_ups = None if update.follow_ups is None else tuple(update.follow_ups)
    problems = (update.found_at, tuple(update.problems))
    return [e for e in (
        _inspections(raw.sheets["Inspections"], update) if found["Inspections"] else None,
        planned("Follow-ups", follow_ups, lambda: _follow_ups(raw.sheets["Follow-ups"], update))
        if found["Follow-ups"] else None,
        _email_log(raw.sheets["Email log"], update) if found["Email log"] else None,
        planned("Problems", problems, lambda: _problems(raw.sheets.get("Problems"), update))
        if found.get("Problems", True) else None,
    ) if e is not None and (e.cells or e.truncate_after is not None)]


def _columns(sheet: RawSheet, spec: schema.Sheet, edit: SheetEdit) -> dict[str, int]:
    """Column numbers by header, adding any missing tool column at the right-hand end."""
    cols = dict(sheet.columns)
    # Right of every used header, the user's own columns included: never over one of theirs.
    nxt = max([*cols.values(), getattr(sheet, "width", 0)], default=0) + 1
    for c in spec.columns:
        if c.header not in cols and (c.tool or spec.tool):
            cols[c.header] = nxt
            edit.cells[(sheet.header_row, nxt)] = c.header
            nxt += 1
    return cols


def next_row(sheet: RawSheet) -> int:
    """Where the first new row goes: right after the data (inside the sheet's table, before
    its totals row), never below a note further down the sheet."""
    filled = {n for n, c in sheet.rows if c}
    end = getattr(sheet, "table_end", None)
    if end is None:
        return max([sheet.header_row, *filled]) + 1
    last = max([sheet.header_row, *[n for n in filled if n <= end]])
    while last + 1 in filled and not getattr(sheet, "table_totals", 0):  # typed just below the table: data too
        last += 1
    return last + 1


def _inspections(sheet: RawSheet, update: TrackerUpdate) -> SheetEdit:
    current = {n: cells for n, cells in sheet.rows}
    update = changed_cells(update, current)
    edit = SheetEdit("Inspections", header_row=sheet.header_row)
    if not update.inspection_cells:
        return edit
    cols = _columns(sheet, schema.INSPECTIONS, edit)
    for row, values in update.inspection_cells.items():
        for header, value in values.items():
            if isinstance(value, str) and value != as_written(value) == current.get(row, {}).get(header):
                continue  # text the file holds without a character it cannot carry: already there
            edit.cells[(row, cols[header])] = value
    return edit


def _follow_ups(sheet: RawSheet, update: TrackerUpdate) -> SheetEdit | None:
    if update.follow_ups is None:
        return None
    edit = SheetEdit("Follow-ups", header_row=sheet.header_row, fit_rows=True)
    cols = _columns(sheet, schema.FOLLOW_UPS, edit)
    rows_by_key = {V.text(c.get("Key")): n for n, c in sheet.rows if c.get("Key")}
    current = {n: c for n, c in sheet.rows}
    nxt = edit.append_from = next_row(sheet)
    for fu in update.follow_ups:
        row = rows_by_key.get(fu.key)
        known = row is not None
        if row is None:
            row, nxt = nxt, nxt + 1
        values = {"Inspection ID": fu.inspection_id, "School name": fu.school_name, "Action": fu.action,
                  "Owner": fu.owner, "Due": fu.due, "Reason": fu.reason, "State": fu.state, "Key": fu.key}
        if not known:  # officers' Done and Notes are theirs: only seeded
            values.update({"Done": fu.done or None, "Notes": fu.notes or None})
        now = current.get(row, {})
        for h, v in values.items():
            old = now.get(h)
            if (type(old) is not type(v) or old != v) and _differs(old, v):  # most are equal: no call
                edit.cells[(row, cols[h])] = v
    return edit


def _email_log(sheet: RawSheet, update: TrackerUpdate) -> SheetEdit | None:
    if not update.email_log:
        return None
    edit = SheetEdit("Email log", header_row=sheet.header_row)
    cols = _columns(sheet, schema.EMAIL_LOG, edit)
    by_id = {V.text(c.get("Message ID")): (n, c) for n, c in sheet.rows if c.get("Message ID")}
    nxt = edit.append_from = next_row(sheet)
    for entry in update.email_log:
        row, current = by_id.get(entry["Message ID"], (None, {}))
        if row is None:
            row, nxt = nxt, nxt + 1
        for h, v in entry.items():
            if _differs(current.get(h), v):
                edit.cells[(row, cols[h])] = v
    return edit


def _problems(sheet: RawSheet | None, update: TrackerUpdate) -> SheetEdit:
    """The Problems sheet as a to-do list that stays put: a problem still found keeps its row
    (and its Found at, the first time it was found), a settled one is removed and the rows
    below it move up, a new one is added at the end. So a run that finds one new problem
    writes one row, not the whole sheet again."""
    headers = schema.PROBLEMS.headers()
    if sheet is None:
        edit = SheetEdit("Problems", create_headers=tuple(headers), fit_rows=True)
        cols, first, current, old = {h: i for i, h in enumerate(headers, 1)}, 2, {}, []
    else:
        edit = SheetEdit("Problems", header_row=sheet.header_row, fit_rows=True)
        cols, first = _columns(sheet, schema.PROBLEMS, edit), sheet.header_row + 1
        current = {n: c for n, c in sheet.rows if c}
        old = sorted(current)
    wanted = [_problem_cells(p) for p in update.problems]
    waiting: dict[tuple, list[int]] = {}  # a problem's identity -> its places in the new list, in order
    for i, cells in enumerate(wanted):
        waiting.setdefault(_identity(cells), []).append(i)
    kept, found_at = [], {}
    for n in old:
        places = waiting.get(_identity(current[n]))
        if places:
            i = places.pop(0)
            kept.append(i)
            found_at[i] = current[n].get("Found at")
    taken = set(kept)
    order = kept + [i for i in range(len(wanted)) if i not in taken]
    for r, i in enumerate(order, start=first):
        values = {"Found at": found_at.get(i) or update.found_at, **wanted[i]}
        row = current.get(r, {})
        # A row is written whole when any of it changes: its height is fitted to all its text.
        if any(_differs(row.get(h), v) for h, v in values.items()):
            for h, v in values.items():
                edit.cells[(r, cols[h])] = v
    end = first + len(order) - 1
    if sheet is not None and (edit.cells or (old and old[-1] > end)):
        # Everything below the list goes (settled problems at its end; it is the tool's sheet),
        # and rows added after it go through the sheet's table, which grows with them.
        edit.truncate_after = end
    return edit


_PROBLEM_KEY = ("Severity", "Sheet", "Row", "Column", "Value", "Problem")


def _problem_cells(p) -> dict[str, object]:
    """A problem's cells as the sheet will hold them once written (a typed value may carry a
    control character the file cannot), so a problem already listed is seen to be."""
    cells = {"Severity": p.severity, "Sheet": p.sheet, "Row": p.row if p.row is not None else "",
             "Column": p.column or "", "Value": p.value, "Problem": p.message, "What to do": p.fix}
    return {h: as_written(v) for h, v in cells.items()}


_NUMBERS = re.compile(r"\d+")
_MESSAGE_ID = re.compile(r"\(<[^<>\s]+@[^<>\s]+>\)")  # "the contact plan email (<...@la.example.org>) is ..."


def _identity(cells: dict) -> tuple:
    """Which problem a row is (its advice may be reworded without making it a new one). An email's
    problem is that email (its Message-ID), whatever its text says of the tries so far ("not tried
    yet", "since 09:15, 4 tries", a new reason); in any other problem numbers do not count (days
    overdue move daily). Either way a problem still there keeps its row and first Found at."""
    text = V.text(cells.get("Problem"))
    email = _MESSAGE_ID.search(text)
    problem = email.group(0) if email else _NUMBERS.sub("#", text)
    return tuple(problem if h == "Problem" else V.text(cells.get(h)) for h in _PROBLEM_KEY)


def _differs(old, new) -> bool:
    if type(old) is type(new) and old == new:
        return False  # the usual case, and the same answer as below, without making text
    new = as_written(new)  # what the cell holds once written: never "changed" again every run
    if isinstance(new, (int, float)) and not isinstance(new, bool) and isinstance(old, (int, float)):
        return old != new
    if isinstance(new, date) and not isinstance(new, datetime) and isinstance(old, datetime):
        return old != datetime.combine(new, time(0, 0))  # a date cell reads back as midnight
    return V.text(old) != V.text(new)
