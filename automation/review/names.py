"""Where a learning-review checklist is, by name: apart from the checklist's writer so that
every run (which only asks whether one exists) does not import openpyxl for it."""

from __future__ import annotations

import glob
from pathlib import Path

from automation.safefiles import name_part


def checklist_name(inspection_id: str, school_name: str) -> str:
    """The checklist's file name: the inspection id first, so an existing one is always found."""
    return f"{inspection_id} - {name_part(school_name)} - learning review.xlsx"


def existing_checklist(folder: Path, inspection_id: str) -> Path | None:
    """A checklist already made for this inspection (whatever the school is now called)."""
    if not folder.is_dir():
        return None
    return next(iter(sorted(folder.glob(f"{glob.escape(inspection_id)} - *learning review.xlsx"))), None)
