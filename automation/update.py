"""What the tool writes back to the tracker, as plain data (no workbook library here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from automation.errors import Problem
from automation.model import FollowUp


@dataclass
class TrackerUpdate:
    """The tool's own cells: computed in the core, written by a store adapter."""

    found_at: datetime
    inspection_cells: dict[int, dict[str, object]] = field(default_factory=dict)  # row -> header -> value
    follow_ups: list[FollowUp] | None = None  # the whole compiled list (None: leave the sheet alone)
    email_log: list[dict[str, object]] = field(default_factory=list)  # rows keyed by "Message ID"
    problems: list[Problem] = field(default_factory=list)
    email_problems: list[Problem] = field(default_factory=list)  # those of `problems` about emails (counted apart)

    def set(self, row: int, header: str, value) -> None:
        self.inspection_cells.setdefault(row, {})[header] = value

    def change_count(self) -> int:
        """How many things would be written (for the summary)."""
        return (sum(len(v) for v in self.inspection_cells.values()) + len(self.email_log)
                + len(self.follow_ups or []))


def changed_cells(update: TrackerUpdate, current: dict[int, dict[str, object]]) -> TrackerUpdate:
    """The update without the cells that already hold the value (keeps saves small)."""
    cells = {}
    for row, values in update.inspection_cells.items():
        now = current.get(row, {})
        diff = {h: v for h, v in values.items() if not _same(now.get(h), v)}
        if diff:
            cells[row] = diff
    return TrackerUpdate(update.found_at, cells, update.follow_ups, update.email_log, update.problems,
                         update.email_problems)


def _same(old, new) -> bool:
    if type(old) is type(new) and old == new and (type(new) is not datetime or new.tzinfo is old.tzinfo is None):
        return True  # the usual case (equal, and so equal once normalised), sooner
    return _norm(old) == _norm(new)


def _norm(v):
    if isinstance(v, datetime):
        return v.replace(tzinfo=None, second=0, microsecond=0)
    if v == "":
        return None
    return v
