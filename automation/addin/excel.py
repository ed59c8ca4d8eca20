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


def main(tag: str, addin: str | None = None) -> None:
    """Run the button's action on the workbook the officer has open, and tell them how it went.
    `addin` is the add-in's workbook name, passed by its dispatcher: its macros read and write
    the tracker in bulk (an older add-in passes none, and the slower way is taken)."""
    import xlwings as xw

    book = xw.Book.caller()
    show(book, perform(tag, book, datetime.now(LONDON), addin=addin))


def find_config(workbook: Path) -> Config:
    """The config for a click: $OFSTED_TRACKER_CONFIG, else config.toml beside the
    tracker (as the scheduled run uses), else the user's, else the embedded default."""
    for candidate in (os.environ.get("OFSTED_TRACKER_CONFIG"), workbook.parent / "config.toml",
                      USER_DIR / "config.toml"):
        if candidate and Path(candidate).is_file():
            return load_config(Path(candidate))
    return load_config(None)


def perform(tag: str, book, now: datetime, cfg: Config | None = None, transport=None,
            lock_timeout: float = 5, addin: str | None = None) -> Outcome:
    """The action for a button tag, as an Outcome: errors become plain words."""
    action = BY_ID.get(tag)
    if action is None:
        return Outcome("Ofsted", [f"This button ({tag}) is not known to this version of ofsted-tracker — "
                                  "ask IT to rebuild and reinstall the add-in."], attention=True)
    store = XlwingsStore(book, addin)
    try:
        session = Session(book, cfg or find_config(store.path), now, transport,
                          store.selection() if action.needs_selected_row else None, lock_timeout, store)
        return _noted(action.function(session), store)
    except TrackerError as exc:
        return _noted(Outcome(f"{action.label}: not done", [str(exc)], attention=True), store)
    except Exception:  # a fault in the add-in: the officer gets words, IT gets the details
        where = _log_fault(tag)
        return Outcome(f"{action.label}: something went wrong",
                       ["This is a fault in the add-in, not in your tracker. Anything sent is in the journal "
                        "and is never sent twice; the scheduled run carries on as usual.",
                        f"Please send IT the details saved in {where}."], attention=True)


def _noted(outcome: Outcome, store: XlwingsStore) -> Outcome:
    outcome.note = store.note  # the slower way to Excel was taken: say why
    return outcome


def show(book, outcome: Outcome) -> None:
    """A message box with the outcome (the dispatcher gives the status bar back to Excel
    when this returns: one call to Excel fewer)."""
    book.app.alert(outcome.text(), title=outcome.title, buttons="ok",
                   mode="critical" if outcome.attention else "info")


def _log_fault(tag: str) -> Path:
    path = USER_DIR / "addin-faults.log"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as fh:
            fh.write(f"--- {datetime.now(LONDON):%Y-%m-%d %H:%M:%S} button {tag}\n{traceback.format_exc()}\n")
    except OSError:
        log.exception("ribbon action %s failed", tag)
    return path
