"""After the run has updated the tracker: write a checklist for each newly
requested learning review (once) and refresh the oversight workbook (when due: once a day, or
when missing; oversight/service.py is_due). Says nothing when it is not due.
Never fails the run: a problem becomes a line in the run's summary, and the next run retries."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

from automation.context import Context
from automation.errors import TrackerError
from automation.mail.journal import Record
from automation.oversight import service as oversight
from automation.review import service as reviews
from automation.review.refresh import refresh_in_progress
from automation.workbook.protocol import TrackerStore

log = logging.getLogger(__name__)


@dataclasses.dataclass
class AfterRun:
    notes: list[str]  # lines for the run summary
    failed: list[str]  # the files not written (also in notes): the run's exit status says so


def after_run(workbook: Path, store: TrackerStore, ctx: Context, records: list[Record]) -> AfterRun:
    """Learning-review checklists and the oversight workbook, and what became of them."""
    ctx = dataclasses.replace(ctx, history=list(records), notes=[])
    raw = store.raw  # None after a save (the file changed): the journal records stand in for its Email log
    notes: list[str] = []
    failed: list[str] = []
    try:
        notes += reviews.requested_reviews(ctx, raw, workbook)
        notes += refresh_in_progress(ctx, raw, workbook)  # a review under way sees this run's records
    except (TrackerError, OSError) as exc:
        notes.append(f"Learning-review checklists not written: {exc} (the next run tries again).")
        failed.append(notes[-1])
    except Exception as exc:  # a fault here must not hide that the run itself completed
        log.exception("learning-review checklists failed")
        notes.append(f"Learning-review checklists not written: unexpected error {exc!r} — please report it; "
                     "the run itself completed.")
        failed.append(notes[-1])
    try:
        path = oversight.refresh_oversight(ctx, raw, workbook, only_if_due=True)
        if path:
            notes.append(f"Oversight workbook updated: {path}")
    except (TrackerError, OSError) as exc:
        notes.append(f"Oversight workbook not updated: {exc} (the next run tries again).")
        failed.append(notes[-1])
    except Exception as exc:  # as above
        log.exception("oversight workbook failed")
        notes.append(f"Oversight workbook not updated: unexpected error {exc!r} — please report it; "
                     "the run itself completed.")
        failed.append(notes[-1])
    return AfterRun(notes, failed)
