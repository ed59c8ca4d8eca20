"""Opening a tracker: its store, config, rules, send journal, run lock and context, in one
place below the run, so the run, every command, the ribbon, the oversight workbook and the
learning reviews all open a tracker the same way (and none of them reaches up into the run)."""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from automation.calendar import LONDON, WorkingCalendar
from automation.config import Config
from automation.context import Context
from automation.errors import MailError, Problem, TrackerError
from automation.mail.journal import Journal, is_corrupt, open_checked
from automation.mail.states import DONE_FOR_HISTORY, LEGACY
from automation.paths import email_templates_dir
from automation.rules import Rules, load_rules
from automation.update import TrackerUpdate
from automation.validate import build_tracker
from automation.workbook.protocol import TrackerStore
from automation.workbook.raw import RawWorkbook
from automation.workbook.safety import PartLimits
from automation.workbook.store import WorkbookStore

if TYPE_CHECKING:
    from filelock import FileLock

# How a session uses the send journal.
READ = "read"  # an existing readable journal, if any (a corrupt one is left for a real run)
WRITE = "write"  # opened for sending: created if missing; a corrupt one is moved aside
NONE = "none"  # no journal at all


def journal_path(workbook: Path, cfg: Config) -> Path:
    """The journal shared by every way the product runs on this tracker."""
    workbook = Path(workbook)
    name = f"{workbook.stem}.journal.sqlite" if not cfg.redirect_to else f"{workbook.stem}.test-journal.sqlite"
    return cfg.resolve(workbook, cfg.state_dir) / name


def run_lock(workbook: Path, cfg: Config, timeout: float = 60) -> FileLock:
    """One run at a time per tracker (scheduled run, command line and ribbon alike)."""
    # Imported here: filelock brings asyncio (~6 MB), which a command that only looks never needs.
    from filelock import FileLock

    workbook = Path(workbook)
    folder = cfg.resolve(workbook, cfg.state_dir)
    folder.mkdir(parents=True, exist_ok=True)
    return FileLock(str(folder / f"{workbook.stem}.lock"), timeout=timeout)


def state_trouble(workbook: Path, cfg: Config, exc: Exception) -> MailError:
    """One line for a state folder that cannot be written (read-only, full disk, a file in its place)."""
    folder = cfg.resolve(Path(workbook), cfg.state_dir)
    why = getattr(exc, "strerror", None) or str(exc)
    return MailError(f"Cannot write the state folder {folder} ({why}), which keeps the send journal and run lock "
                     f"of {Path(workbook).name} — make it writable or free disk space (or set [paths] state_dir), then "
                     "run again; nothing was sent.")


def existing_journal(workbook: Path, cfg: Config) -> Journal | None:
    """The journal for looking (dry run, reports), if there is a readable one; a corrupt one
    is left for a real run to move aside."""
    path = journal_path(workbook, cfg)
    if not path.exists():
        return None
    try:
        journal = Journal(path)
        journal.check()
        return journal
    except sqlite3.DatabaseError as exc:
        if is_corrupt(exc):
            return None
        raise state_trouble(workbook, cfg, exc)


def writable_journal(workbook: Path, cfg: Config, now: datetime) -> tuple[Journal, Path | None]:
    """The journal for sending; a corrupt one is moved aside and a fresh one started
    (returns where it was moved, or None)."""
    try:
        return open_checked(journal_path(workbook, cfg), now)
    except (OSError, sqlite3.Error) as exc:
        raise state_trouble(workbook, cfg, exc)


# Email log results that mean "it went, or may have": never re-sent without the journal's say.
_LOGGED_AS_GONE = tuple(s.value for s in DONE_FOR_HISTORY) + tuple(k for k, v in LEGACY.items() if v in DONE_FOR_HISTORY)


def logged_sent_ids(raw: RawWorkbook) -> set[str]:
    """Message-IDs the tracker's Email log records as sent (or possibly sent), test mode aside."""
    log = raw.sheets.get("Email log")
    if log is None:
        return set()
    return {str(c["Message ID"]).strip() for _, c in log.rows if c.get("Message ID")
            and str(c.get("Result", "")).strip().lower().startswith(_LOGGED_AS_GONE)
            and "test mode" not in str(c.get("Transport", ""))}


def load_context(store: TrackerStore, cfg: Config, now: datetime, journal: Journal | None,
                 rules: Rules | None = None, only=None, rows=None) -> Context:
    """Read and check the tracker and gather what the steps need (only/rows: just those
    inspections, as validate.build_tracker)."""
    rules = rules or load_rules(Path(cfg.rules_dir) if cfg.rules_dir else None)
    raw = store.load()
    # the clock from the edge: a future Notified at waits
    tracker = build_tracker(raw, rules, now, only=only, rows=rows)
    cal = WorkingCalendar(cfg.day_start, cfg.day_end, tuple((h.first, h.last) for h in tracker.holidays))
    history = journal.records() if journal else []
    # A look at some inspections sends nothing: their context renders no email, so the templates
    # are not loaded (and checked) for it.
    renderer = None
    if only is None and rows is None:
        from automation.mail.message import Renderer, layout_fields  # jinja2: only when emails may be rendered

        renderer = Renderer(email_templates_dir(), layout=layout_fields(cfg))
    ctx = Context(tracker, rules, cfg, cal, cal.local(now), history, renderer, logged_sent=logged_sent_ids(raw))
    if not history and ctx.logged_sent:
        ctx.notes.append("The send journal is new (was the tracker moved or renamed?): messages the Email log "
                         "shows as sent are not sent again.")
    return ctx


def file_store(workbook: Path, cfg: Config) -> WorkbookStore:
    """The default store: the tracker file itself, with the configured zip part limits."""
    return WorkbookStore(Path(workbook), limits=PartLimits.from_section(cfg.section("workbook"), cfg.source))


def tracker_store(target, cfg: Config) -> TrackerStore:
    """The store for a command's tracker: the file, or (a URL, "drive:…/item:…", or none given with
    [sharepoint] tracker set) the SharePoint/OneDrive tracker through Graph."""
    from automation.graph.location import is_remote

    if target is None or is_remote(target):
        from automation.graph.store import GraphWorkbookStore

        return GraphWorkbookStore.from_config(cfg, None if target is None else str(target))
    return file_store(Path(target), cfg)


@dataclass
class Session:
    """An open tracker: where it is, how it is read and written, its rules and journal."""

    store: TrackerStore
    config: Config
    now: datetime  # aware
    rules: Rules
    journal: Journal | None = None
    moved: Path | None = None  # a corrupt journal moved aside on opening
    locked: bool = False  # holds the run lock: may send and write
    _context: Context | None = field(default=None, repr=False)

    @property
    def workbook(self) -> Path:
        return Path(self.store.identity)

    def records(self) -> list:
        return self.journal.records() if self.journal else []

    def context(self, fresh: bool = False) -> Context:
        """The tracker read and checked, with the journal's history (read once unless fresh)."""
        if self._context is None or fresh:
            self._context = load_context(self.store, self.config, self.now, self.journal, self.rules)
            if self.moved:
                self._context.notes.insert(0, moved_aside_line(self.moved))
        return self._context

    def close(self) -> None:
        if self.journal:
            self.journal.close()
            self.journal = None


def moved_aside_line(moved: Path) -> str:
    return (f"The send journal could not be read (corrupt or cut short) and was moved aside to {moved}; "
            "a new one was started, and messages the Email log shows as sent are not sent again.")


def note_moved_aside(update: TrackerUpdate, moved: Path) -> None:
    """Put the unreadable journal on the Problems sheet."""
    update.problems.append(Problem("warning", "Email log", None, None, moved.name,
                                   "the send journal could not be read (corrupt or cut short) and was moved aside",
                                   "nothing to do for the emails: the Email log stands in for it, so nothing it shows "
                                   "as sent goes again. Keep the moved file for IT; if this happens again, the disk or "
                                   "share holding the state folder may be failing."))


@contextmanager
def open_session(workbook: Path | None, cfg: Config, now: datetime, *, store: TrackerStore | None = None,
                 journal: str = READ, lock: bool = False, lock_timeout: float = 60,
                 rules: Rules | None = None) -> Iterator[Session]:
    """Open a tracker for the length of a `with`: the lock (when asked) is taken before the
    journal is opened and released after it is closed."""
    if journal == WRITE:  # opened for sending: the emails are checked before the lock or journal is touched
        from automation.steps import check_emails

        check_emails()
    store = store or file_store(Path(workbook), cfg)
    where = Path(store.identity)
    rules = rules or load_rules(Path(cfg.rules_dir) if cfg.rules_dir else None)
    held = None
    if lock:
        held = _acquire(where, cfg, lock_timeout)
    try:
        s = Session(store, cfg, now, rules, locked=lock)
        if journal == WRITE:
            s.journal, s.moved = writable_journal(where, cfg, now.astimezone(LONDON))
        elif journal == READ:
            s.journal = existing_journal(where, cfg)
        try:
            yield s
        finally:
            s.close()
    finally:
        if held is not None:
            held.release()


def _acquire(workbook: Path, cfg: Config, timeout: float) -> FileLock:
    from filelock import Timeout

    try:
        held = run_lock(workbook, cfg, timeout)
        held.acquire()
        return held
    except Timeout:
        raise TrackerError(f"Another run on {workbook.name} is in progress (lock in {cfg.state_dir}); "
                           "it will finish in a moment — try again then.")
    except OSError as exc:
        raise state_trouble(workbook, cfg, exc)


def read_tracker(workbook: Path, cfg: Config, now: datetime, store: TrackerStore | None = None,
                 only=None, rows=None) -> tuple[Context, RawWorkbook | None]:
    """(context, raw workbook) for a report, read-only: the journal's history if there is one.
    only/rows: just those inspections read and checked (validate.build_tracker)."""
    with open_session(workbook, cfg, now, store=store) as s:
        if only is None and rows is None:
            ctx = s.context()
        else:
            ctx = load_context(s.store, cfg, now, s.journal, s.rules, only=only, rows=rows)
        return ctx, s.store.raw
