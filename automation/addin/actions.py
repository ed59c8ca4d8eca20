"""What each ribbon button does, as plain functions over a Session handed in by
the edge (excel.py): the same run pipeline, rules, templates, journal and run lock
as the scheduled run, so a click and the scheduled run can never both send."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable

from automation import values as V
from automation.addin.xlstore import XlwingsStore
from automation.config import Config
from automation.errors import TrackerError
from automation.mail.message import OutgoingMessage
from automation.mail.transport import Transport
from automation.report import summary_lines, write_previews
from automation.rules import load_rules
from automation.purposes import CONTACT_PLAN, Purpose
from automation.session import read_tracker
from automation.update import TrackerUpdate
from automation.validate import build_tracker

PLAN_PURPOSES = CONTACT_PLAN
MAX_LINES = 30  # a message box is not a report: the rest is on the Email log sheet


@dataclass
class Outcome:
    """What the officer is told, in plain words."""

    title: str
    lines: list[str]
    attention: bool = False  # something needs the officer (shown as a warning)
    note: str = ""  # about the add-in itself (e.g. an older one), shown last and never cut off

    def text(self) -> str:
        lines = self.lines if len(self.lines) <= MAX_LINES else (
            self.lines[:MAX_LINES] + [f"... and {len(self.lines) - MAX_LINES} more lines (see the Email log sheet)."])
        return "\n".join(lines + ([self.note] if self.note else []))


@dataclass
class Session:
    """The open tracker and everything an action needs, handed in by the edge."""

    book: object  # an xlwings Book (or the test double)
    cfg: Config
    now: datetime  # aware, London
    transport: Transport | None = None
    selected: tuple[str, int] | None = None  # (sheet name, row) the officer selected
    lock_timeout: float = 5  # a click should not freeze Excel for long behind a scheduled run
    store: XlwingsStore | None = None

    def __post_init__(self):
        self.store = self.store or XlwingsStore(self.book)

    @property
    def workbook(self) -> Path:
        return self.store.path

    def rules(self):
        return load_rules(Path(self.cfg.rules_dir) if self.cfg.rules_dir else None)

    def selected_row(self) -> int:
        """The selected Inspections row, or an error telling the officer what to select."""
        if not self.selected or self.selected[0].strip().lower() != "inspections":
            raise TrackerError("Select the inspection's row on the Inspections sheet first, then click again.")
        return self.selected[1]

    def run(self, **kw):
        from automation.run import run

        return run(self.workbook, self.cfg, self.now, transport=self.transport, store=self.store,
                   lock_timeout=self.lock_timeout, **kw)


def _for_row(s: Session, row: int, purposes: tuple[str, ...]) -> tuple[Callable[[OutgoingMessage], bool], dict]:
    """A `select` for run(): only messages of these purposes for the inspection on `row`.
    The inspection's ID is found lazily from what the run has just read (no second read)."""
    found: dict = {}

    def select(m: OutgoingMessage) -> bool:
        if "id" not in found:
            # Only the selected row (and its school's rows, for the duplicate checks) is checked.
            found["id"] = _inspection_on_row(build_tracker(s.store.raw, s.rules(), rows={row}), row)
        return m.inspection_id == found["id"] and m.purpose in purposes

    return select, found


# False: every click takes the whole run (the equivalence tests compare the two ways).
ONE_ROW = True


def _run_for_row(s: Session, row: int, purposes: tuple[str, ...]):
    """(the run's result, whether it was kept to the row): the selected inspection's messages
    of these purposes, sent as the scheduled run would send them."""
    from automation.addin.narrow import WholeRunNeeded, run_for_row

    select, found = _for_row(s, row, purposes)
    if ONE_ROW:
        result = run_for_row(s, row, select, got=lambda ctx: found.setdefault("id", _inspection_on_row(ctx.tracker, row)))
        if not isinstance(result, WholeRunNeeded):
            return result, True
    return s.run(select=select), False


def _row_lines(result, s: Session, row: int, narrow: bool) -> list[str]:
    """The run's summary; for a click kept to its row, what was checked and found there instead
    of the whole tracker's counts (the Problems sheet is the scheduled run's)."""
    lines = summary_lines(result, s.workbook, False)
    if not narrow:
        return lines
    t = result.context.tracker
    about_email = {id(p) for p in result.update.email_problems}
    found = [p for p in result.update.problems if id(p) not in about_email]
    errors = sum(1 for p in found if p.severity == "error")
    check = (f" 1 Check:          row {row} with its school's other rows ({len(t.inspections)} inspection(s)) and the "
             f"Staff sheet; {errors} error(s), {len(found) - errors} warning(s)")
    at = next((i for i, line in enumerate(lines) if line.startswith(" 1 Check:")), 0)
    lines = lines[:at] + [check] + [f"    {p}" for p in found] + lines[at + 1:]
    lines.append("Only this inspection's row and the Email log were updated: the Problems and Follow-ups sheets "
                 "follow at the next scheduled run (or Run now).")
    return lines


def _inspection_on_row(tracker, row: int) -> str | None:
    return next((i.inspection_id for i in tracker.inspections if i.row == row), None)


def _row_problem(result, row: int) -> str | None:
    """Why the selected row is not an inspection the tool can act on."""
    if _inspection_on_row(result.context.tracker, row):
        return None
    problems = [p for p in result.context.tracker.errors if p.sheet == "Inspections" and p.row == row]
    if problems:
        return f"Row {row} has a problem, so nothing was sent for it: " + "; ".join(f"{p.message} — {p.fix}" for p in problems)
    return f"Row {row} of the Inspections sheet is not a recorded inspection — select the inspection's row and click again."


def _run_outcome(title: str, result, s: Session, dry_run: bool = False, lead: list[str] | None = None,
                 lines: list[str] | None = None) -> Outcome:
    attention = bool(result.delivery and result.delivery.attention()) or (not dry_run and not result.saved)
    return Outcome(title, (lead or []) + (lines if lines is not None else summary_lines(result, s.workbook, dry_run)),
                   attention)


def send_contact_plan(s: Session) -> Outcome:
    """The contact plan (and deferral notice) for the selected inspection, if due and not yet sent."""
    row = s.selected_row()
    result, narrow = _run_for_row(s, row, PLAN_PURPOSES)
    problem = _row_problem(result, row)
    if problem:
        return Outcome("Send contact plan", [problem], attention=True)
    lead = [] if result.messages else [f"Nothing to send for row {row}: its contact plan is already sent or not due."]
    return _run_outcome("Send contact plan", result, s, lead=lead, lines=_row_lines(result, s, row, narrow))


def record_concern(s: Session) -> Outcome:
    """Set Concerns raised = Yes on the selected row and escalate to the SIM, AI and CEM at once."""
    row = s.selected_row()
    raw = s.store.load()
    sheet = raw.sheets["Inspections"]
    cells = dict(sheet.rows).get(row)
    if cells is None or "Concerns raised" not in sheet.columns:
        raise TrackerError(f"Row {row} of the Inspections sheet is not a recorded inspection "
                           "(or the sheet has no 'Concerns raised' column) — select the inspection's row.")
    lead = []
    if V.text(cells.get("Concerns raised")).strip().lower() != "yes":
        s.store.write_cells("Inspections", {(row, sheet.columns["Concerns raised"]): "Yes"})
        cells["Concerns raised"] = "Yes"
        lead.append(f"Row {row}: Concerns raised set to Yes.")
    if not V.text(cells.get("Concern notes")).strip():
        lead.append("Tip: type what the concern is in 'Concern notes' (internal) — the SIM, AI and CEM see it.")
    s.store.serve_cached_once()  # the run uses what was just read, with the flag set
    result, narrow = _run_for_row(s, row, (Purpose.CONCERN,))
    problem = _row_problem(result, row)
    if problem:
        return Outcome("Record concern", lead + [problem], attention=True)
    if not result.messages:
        lead.append("The escalation for this concern was already sent (see the Email log); nothing sent again.")
    return _run_outcome("Record concern and escalate", result, s, lead=lead, lines=_row_lines(result, s, row, narrow))


def preview(s: Session) -> Outcome:
    """Every email a run would send now, to whom and why; saved to read first. Sends nothing."""
    result = s.run(dry_run=True)
    lead = []
    if result.messages:
        folder = s.cfg.resolve(s.workbook, s.cfg.state_dir) / "previews"
        write_previews(result.messages, folder)
        lead.append(f"Each email is saved to read first (.eml opens in Outlook) in {folder}.")
    return Outcome("Preview emails", lead + summary_lines(result, s.workbook, dry_run=True))


def compile_follow_ups(s: Session) -> Outcome:
    """Bring the Follow-ups sheet up to date, under the run lock; sends nothing."""
    from automation.followups import compiled

    result = s.run(select=lambda m: False)
    c = compiled(result.context)
    lines = [f"Follow-ups: {len(c.follow_ups)} action(s); {c.new} new, {c.retired} no longer needed.",
             "Your Done and Notes are kept."]
    lines += [str(p) for p in c.problems]
    if not result.saved:
        lines.append(f"Tracker NOT updated: {result.save_note}")
    return Outcome("Compile follow-ups", lines, attention=not result.saved or bool(c.problems))


def learning_review(s: Session) -> Outcome:
    """The learning-review checklist for the selected inspection (never overwrites one)."""
    from automation.review.service import make_review

    row = s.selected_row()
    ctx, raw = read_tracker(s.workbook, s.cfg, s.now, store=s.store, rows={row})  # that row's inspection checked
    iid = _inspection_on_row(ctx.tracker, row)
    if iid is None:
        raise TrackerError(f"Row {row} of the Inspections sheet is not a recorded inspection — select its row and click again.")
    path, written = make_review(ctx, raw, s.workbook, iid)
    said = "Checklist written to" if written else "A checklist already exists (kept as it is):"
    return Outcome("Learning review", [f"{iid}: {said} {path}"])


def validate(s: Session) -> Outcome:
    """Check the tracker and list its problems on the Problems sheet."""
    raw = s.store.load()
    tracker = build_tracker(raw, s.rules(), s.now)  # as a run sees it: a future Notified at is an error
    s.store.serve_cached_once()
    s.store.save(TrackerUpdate(found_at=s.now, problems=list(tracker.problems)))
    errors, warnings = len(tracker.errors), len(tracker.problems) - len(tracker.errors)
    lines = [f"{len(tracker.schools)} schools, {len(tracker.staff)} staff, {len(tracker.inspections)} inspections read.",
             f"{errors} error(s) and {warnings} warning(s) — listed on the Problems sheet."]
    lines += [str(p) for p in tracker.problems]
    return Outcome("Validate tracker", lines, attention=bool(errors))


def run_now(s: Session) -> Outcome:
    """What the scheduled run does, now."""
    return _run_outcome("Run now", s.run(), s)
