"""The run's hook for issue 6: after the tracker is updated, write a checklist for each newly
requested learning review (once) and refresh the oversight workbook (when anything changed).
Never fails the run: a problem becomes a line in the run's summary, and the next run retries."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

from automation.context import Context
from automation.errors import TrackerError
from automation.mail.journal import Record

log = logging.getLogger(__name__)


def after_run(workbook: Path, store, ctx: Context, records: list[Record]) -> list[str]:
    """Learning-review checklists and the oversight workbook; lines for the run summary."""
    from automation.oversight.service import refresh_oversight
    from automation.review.service import requested_reviews

    ctx = dataclasses.replace(ctx, history=list(records), notes=[])
    raw = getattr(store, "raw", None)
    notes: list[str] = []
    try:
        notes += requested_reviews(ctx, raw, workbook)
    except (TrackerError, OSError) as exc:
        notes.append(f"Learning-review checklists not written: {exc} (the next run tries again).")
    except Exception as exc:  # a fault here must not hide that the run itself completed
        log.exception("learning-review checklists failed")
        notes.append(f"Learning-review checklists not written: unexpected error {exc!r} — please report it; "
                     "the run itself completed.")
    try:
        path = refresh_oversight(ctx, raw, workbook, only_if_changed=True)
        if path:
            notes.append(f"Oversight workbook updated: {path}")
    except (TrackerError, OSError) as exc:
        notes.append(f"Oversight workbook not updated: {exc} (the next run tries again).")
    except Exception as exc:  # as above
        log.exception("oversight workbook failed")
        notes.append(f"Oversight workbook not updated: unexpected error {exc!r} — please report it; "
                     "the run itself completed.")
    return notes
