"""The Excel edge: the VBA dispatcher's RunPython calls main(tag). Reads the
selection, builds the Session, runs the action, and is the one place that turns an
error into a message box for the officer (never a traceback)."""

from __future__ import annotations

import logging
import os
import traceback
from datetime import datetime
from pathlib import Path

from automation.addin.actions import Outcome, Session
from automation.addin.registry import BY_ID
from automation.addin.xlstore import XlwingsStore
from automation.calendar import LONDON
from automation.config import Config, load_config
from automation.errors import TrackerError

log = logging.getLogger(__name__)
USER_DIR = Path.home() / ".ofstedtracker"  # where `addin install` puts the xlwings config


def main(tag: str) -> None:
    """Run the button's action on the workbook the officer has open, and tell them how it went."""
    import xlwings as xw

    book = xw.Book.caller()
    show(book, perform(tag, book, datetime.now(LONDON)))


def find_config(workbook: Path) -> Config:
    """The config for a click: $OFSTED_TRACKER_CONFIG, else config.toml beside the
    tracker (as the scheduled run uses), else the user's, else the embedded default."""
    for candidate in (os.environ.get("OFSTED_TRACKER_CONFIG"), workbook.parent / "config.toml",
                      USER_DIR / "config.toml"):
        if candidate and Path(candidate).is_file():
            return load_config(Path(candidate))
    return load_config(None)


def read_selection(book) -> tuple[str, int] | None:
    """(sheet name, first row) of the officer's selection."""
    sel = book.selection
    if sel is None:
        return None
    return sel.sheet.name, sel.row


def perform(tag: str, book, now: datetime, cfg: Config | None = None, transport=None,
            lock_timeout: float = 5) -> Outcome:
    """The action for a button tag, as an Outcome: errors become plain words."""
    action = BY_ID.get(tag)
    if action is None:
        return Outcome("Ofsted", [f"This button ({tag}) is not known to this version of ofsted-tracker — "
                                  "ask IT to rebuild and reinstall the add-in."], attention=True)
    try:
        store = XlwingsStore(book)  # a never-saved workbook is refused before anything happens
        session = Session(book, cfg or find_config(store.path), now, transport,
                          read_selection(book) if action.needs_selected_row else None, lock_timeout, store)
        return action.function(session)
    except TrackerError as exc:
        return Outcome(f"{action.label}: not done", [str(exc)], attention=True)
    except Exception:  # a fault in the add-in: the officer gets words, IT gets the details
        where = _log_fault(tag)
        return Outcome(f"{action.label}: something went wrong",
                       ["This is a fault in the add-in, not in your tracker. Anything sent is in the journal "
                        "and is never sent twice; the scheduled run carries on as usual.",
                        f"Please send IT the details saved in {where}."], attention=True)


def show(book, outcome: Outcome) -> None:
    """A message box with the outcome; the status bar is given back to Excel."""
    app = book.app
    app.status_bar = False
    app.alert(outcome.text(), title=outcome.title, buttons="ok", mode="critical" if outcome.attention else "info")


def _log_fault(tag: str) -> Path:
    path = USER_DIR / "addin-faults.log"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as fh:
            fh.write(f"--- {datetime.now(LONDON):%Y-%m-%d %H:%M:%S} button {tag}\n{traceback.format_exc()}\n")
    except OSError:
        log.exception("ribbon action %s failed", tag)
    return path
