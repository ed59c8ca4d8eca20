"""What the tool writes from tracker text: file names that stay inside their folder, and
workbook cells that hold text as text. Tracker text is typed by many hands; a school name
such as '=HYPERLINK(...)' or an id such as '../../X' must never become a formula or a path."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from pathlib import Path

from pathvalidate import sanitize_filename

from automation.errors import UnsafeFileName

NAME_PART_MAX = 60  # a school name inside a file name: keeps the whole path well under Windows' 260
NAME_MAX = 200  # a whole file name (the limit is 255; a temporary ".~" or ".partial" is added)
# Control characters XML 1.0 cannot hold (openpyxl refuses them); a pasted one is dropped.
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def name_part(text, max_len: int = NAME_PART_MAX) -> str:
    """Tracker text made safe as part of a file name on every system (no separators,
    reserved names or control characters), spaces collapsed, trimmed to max_len."""
    clean = sanitize_filename(str(text or ""), replacement_text=" ", platform="universal")
    return " ".join(clean.split())[:max_len].strip(" .")


def file_in(folder: Path, name: str) -> Path:
    """folder/name, the name sanitised as one file name; raises UnsafeFileName if the
    resulting path would resolve anywhere but directly inside folder."""
    safe = sanitize_filename(_shorten(" ".join(str(name).split())), replacement_text=" ", platform="universal")
    base = Path(folder).resolve()
    dest = (base / safe).resolve()
    if not safe.strip(" .") or dest.parent != base:
        raise UnsafeFileName(f"The file name {name!r} (made from the tracker) would not be inside {folder} — "
                             "correct the Inspection ID or school name in the tracker, then run again.")
    return Path(folder) / safe


def _shorten(name: str) -> str:
    """At most NAME_MAX characters, keeping the extension (.xlsx, .eml) on the end."""
    if len(name) <= NAME_MAX:
        return name
    stem, dot, ext = name.rpartition(".")
    if not dot or len(ext) > 8:
        return name[:NAME_MAX]
    return stem[:NAME_MAX - len(ext) - 1].rstrip(" .") + dot + ext


def put(cell, value):
    """Set a generated workbook's cell: text always as text (never a formula or an error
    code), numbers, dates and booleans as themselves. Returns the cell."""
    if value is None or isinstance(value, (bool, int, float, datetime, date, time)):
        cell.value = value
        return cell
    text = _ILLEGAL.sub("", str(value))[:32767]
    cell.value = text
    cell.data_type = "s"  # openpyxl makes any str starting with "=" a formula: undo that
    return cell


def put_at(ws, row: int, column: int, value):
    """put() on ws.cell(row, column); returns the cell (so a style can follow)."""
    return put(ws.cell(row, column), value)
