"""What the run needs from wherever the tracker lives: the file (workbook/store.py), the
workbook open in Excel (addin/xlstore.py), and later a SharePoint copy. One typed
interface, so nothing above guesses with hasattr/getattr what a store can do."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

from automation.update import TrackerUpdate
from automation.workbook.raw import RawWorkbook


@runtime_checkable
class TrackerStore(Protocol):
    """Reads the tracker and writes the tool's cells back."""

    # What was last read (None before the first load and after a save: read afresh).
    raw: RawWorkbook | None

    @property
    def identity(self) -> Path:
        """The tracker's file: names its state folder, send journal and run lock."""
        ...

    def load(self) -> RawWorkbook:
        """Read every contract sheet present."""
        ...

    def pending(self, update: TrackerUpdate) -> int | None:
        """How many cells save() would write (None: this store cannot tell); writes nothing."""
        ...

    def save(self, update: TrackerUpdate) -> int:
        """Write the update; the number of cells written. Raises WorkbookLocked."""
        ...


def current(store: TrackerStore) -> RawWorkbook:
    """What the store last read, reading it now if it has not been read yet."""
    return store.raw if store.raw is not None else store.load()
