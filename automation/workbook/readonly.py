"""A file store for the commands that only look (a review, a summary): it reads only the
sheets they need, and refuses to write, so a report can never change the tracker."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from automation.errors import TrackerError
from automation.update import TrackerUpdate
from automation.workbook.raw import RawWorkbook
from automation.workbook.reader import read_workbook
from automation.workbook.safety import PartLimits


@dataclass
class SheetsStore:
    """The tracker file, some of its sheets (schema.Sheet specs), read-only."""

    path: Path
    sheets: tuple
    limits: PartLimits | None = None
    raw: RawWorkbook | None = None
    keep: dict | None = None  # rows to leave out, by sheet (workbook.reader's `keep`)

    @property
    def identity(self) -> Path:
        """The tracker's file (names the state folder, journal and lock)."""
        return Path(self.path)

    _cached: RawWorkbook | None = field(default=None, repr=False, compare=False)

    def serve_cached_once(self) -> None:
        """The next load() returns what was just read: a command that looks at the rows first
        (which inspections it needs) then opens its context reads the file once."""
        self._cached = self.raw

    def load(self) -> RawWorkbook:
        """Read the sheets asked for (a required one missing is refused as by a full read)."""
        cached, self._cached = self._cached, None
        self.raw = cached or read_workbook(self.path, sheets=self.sheets, limits=self.limits, keep=self.keep)
        return self.raw

    def pending(self, update: TrackerUpdate) -> int | None:
        return None

    def save(self, update: TrackerUpdate) -> int:
        raise TrackerError(f"{Path(self.path).name} was opened to look only, so nothing was written — "
                           "this is a fault in the tool: please report it.")
