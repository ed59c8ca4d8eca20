"""Argument types shared by the commands: a bad value is a usage error (exit 2) that shows
the forms accepted, never a traceback or an 'invalid fromisoformat' from deep inside."""

from __future__ import annotations

import argparse
from datetime import date, datetime

from automation.calendar import LONDON

UK_DATETIME, UK_DATE = "%d/%m/%Y %H:%M", "%d/%m/%Y"
_FORMS = "2026-11-16T13:05 or 16/11/2026 13:05 (London time)"


def parse_now(text: str) -> datetime:
    """An ISO or UK (dd/mm/yyyy hh:mm) date-time; without a zone it is London time."""
    text = text.strip()
    for parse in (datetime.fromisoformat, lambda t: datetime.strptime(t, UK_DATETIME),
                  lambda t: datetime.strptime(t, UK_DATE)):
        try:
            dt = parse(text)
            break
        except ValueError:
            continue
    else:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date-time: write it as {_FORMS}")
    return dt.replace(tzinfo=LONDON) if dt.tzinfo is None else dt


def parse_day(text: str) -> date:
    """An ISO or UK (dd/mm/yyyy) date."""
    text = text.strip()
    for parse in (date.fromisoformat, lambda t: datetime.strptime(t, UK_DATE).date()):
        try:
            return parse(text)
        except ValueError:
            continue
    raise argparse.ArgumentTypeError(f"{text!r} is not a date: write it as 2026-11-16 or 16/11/2026")


def tracker_arg(text: str):
    """A command's tracker: a file path, or a SharePoint/OneDrive URL / "drive:<id>/item:<id>" kept as text
    (a Path would fold the URL's "//")."""
    from pathlib import Path

    import argparse

    from automation.graph.location import is_remote

    if not text.strip():  # Path("") is the working folder: never a tracker
        raise argparse.ArgumentTypeError("the tracker is empty — give its .xlsx file, or its SharePoint/OneDrive URL")
    return text.strip() if is_remote(text) else Path(text)
