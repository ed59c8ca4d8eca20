"""The scheduled run as a library function: read, check, plan, send, write back.
Plan and apply are separate so --dry-run shows exactly what the run would do."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable

from filelock import FileLock, Timeout

from automation.calendar import LONDON, WorkingCalendar
from automation.config import Config
from automation.context import Context
from automation.errors import Problem, TrackerError, WorkbookLocked
from automation.followups import compiled
from automation.forms.runner import prepare_forms
from automation.errors import MailError
from automation.mail.delivery import (DeliveryReport, Policy, caught_up, deliver, settle_interrupted,
                                      stored_retries, unconfirmed_advice)
from automation.mail.journal import Journal, Record, is_corrupt, open_checked
from automation.mail.message import OutgoingMessage, Renderer
from automation.mail.states import (DONE_FOR_HISTORY, FINAL, IN_FLIGHT, LEGACY, MAYBE_GONE, UNDELIVERED,
                                    SendState)
from automation.mail.transport import Transport
from automation.outcomes import consistency_problems
from automation.paths import email_templates_dir
from automation.rules import Rules, load_rules
from automation.status import status
from automation.steps import STEPS
from automation.update import TrackerUpdate
from automation.validate import build_tracker
from automation.workbook.safety import PartLimits
from automation.workbook.store import WorkbookStore


@dataclass
class RunResult:
    context: Context
    messages: list[OutgoingMessage]
    update: TrackerUpdate
    delivery: DeliveryReport | None = None
    saved: bool = False
    cells_written: int | None = 0  # with dry_run: what a real run would write
    save_note: str = ""
    notes: list[str] = field(default_factory=list)
    forms: object = None  # the feedback forms written and read (automation.forms.runner.FormsRun)
    settled: list[Record] = field(default_factory=list)  # what an earlier run left in flight, settled now


def plan(ctx: Context) -> list[OutgoingMessage]:
    """Every message the steps want sent, minus those already settled: by the journal, or —
    for a message the journal has never seen (a moved or renamed tracker, a lost state
    folder) — by the tracker's own Email log, so losing the journal never re-sends."""
    known = {r.key for r in ctx.history}
    # Final, or possibly gone (held back for an officer or the next Sent Items lookup): not proposed.
    settled = {r.key for r in ctx.history if r.state in FINAL or r.state in MAYBE_GONE}
    out: list[OutgoingMessage] = []
    for step in STEPS:
        out.extend(m for m in step(ctx) if m.key not in settled
                   and not (m.key not in known and m.message_id in ctx.logged_sent))
    return out


def tool_update(ctx: Context, records: list[Record]) -> TrackerUpdate:
    """The tool's cells as they should now be, from the tracker, the journal and the date."""
    follow = compiled(ctx)  # issue 5: the Follow-ups sheet, and what Status needs from it
    upd = TrackerUpdate(found_at=ctx.now, problems=list(ctx.tracker.problems), follow_ups=follow.follow_ups)
    upd.problems += follow.problems + [p for i in ctx.tracker.inspections for p in consistency_problems(i, ctx.rules)]
    # Test mode (redirect_to) sent everything to the tester only: the real plans are still to
    # go, so nothing from the test journal may mark them sent or fill the real Email log.
    test_mode = bool(ctx.config.redirect_to)
    if test_mode:
        records = []
    plan_sent = {}
    for r in records:  # the promise is the school's acknowledgement: its copy, really sent
        if r.purpose == "contact_plan_school" and r.state == SendState.SENT:
            plan_sent.setdefault(r.inspection_id, r.updated_at)
    for insp in ctx.tracker.inspections:
        if insp.id_is_new:
            upd.set(insp.row, "Inspection ID", insp.inspection_id)
        sent_at = plan_sent.get(insp.inspection_id) or insp.contact_plan_sent
        if sent_at:
            upd.set(insp.row, "Contact plan sent", ctx.calendar.local(sent_at).replace(tzinfo=None, second=0, microsecond=0))
        upd.set(insp.row, "Status", status(insp, sent_at is not None, ctx.now.date(), ctx.on_site_days(insp), ctx.calendar,
                                           follow.by_inspection.get(insp.inspection_id)))
    for p in ctx.tracker.errors:
        if p.sheet == "Inspections" and p.row:
            upd.set(p.row, "Status", f"Problem: {p.column or 'row'} — see Problems sheet")
    _email_problems(ctx, records, upd)
    upd.email_log = [_log_row(r, ctx) for r in records]
    return upd


# What an officer does about an undelivered message, by journal state.
_EMAIL_FIXES = {
    SendState.WAITING: "nothing to do if the mail server is working again: every run tries it again until it goes. "
                       "If it keeps waiting, tell IT what the reason says (the [mail] settings or the server).",
    SendState.QUEUED: "nothing to do: a run stopped before handing it over, and the next run sends it.",
    SendState.HANDING_OVER: "nothing to do: a run stopped while handing it over, and the next run settles it.",
    SendState.FAILED: "correct the address in the tracker (the Email log has the server's reason); the next run "
                      "sends the message to the corrected address.",
    SendState.BLOCKED: "the address is outside [mail] allowed_domains: correct it in the tracker, or add its domain "
                       "to allowed_domains if it is right.",
}
_STATE_WORDS = {SendState.WAITING: "not sent yet", SendState.QUEUED: "interrupted", SendState.HANDING_OVER: "interrupted"}
_REPLACED = "not sent: replaced by"


def _email_problems(ctx: Context, records: list[Record], upd: TrackerUpdate) -> None:
    """Every undelivered message, and every recipient who refused one, on the inspection's row
    and the Problems sheet until it is done or settled (a later message for the same purpose
    gets through, e.g. after the address is corrected)."""
    rows = {i.inspection_id: i.row for i in ctx.tracker.inspections}
    flagged: set[int] = set()  # the row's Status names its first email problem (the plan before its calls)
    for r in records:
        if r.state in UNDELIVERED and not _superseded(r, records):
            what = f"the {r.purpose.replace('_', ' ')} email ({r.message_id})"
            if r.state == SendState.UNCONFIRMED:
                fix = unconfirmed_advice(r.transport).replace("MESSAGE-ID", r.message_id)
            else:
                fix = _EMAIL_FIXES[r.state]
            _report(upd, flagged, rows.get(r.inspection_id), r, ", ".join(r.recipients),
                    f"{what} is {_STATE_WORDS.get(r.state, r.state.value)}: {r.detail or 'no reason given'}",
                    fix, _STATE_WORDS.get(r.state, r.state.value))
        elif r.state == SendState.SENT:
            for addr, why in r.refused.items():
                if not caught_up(r, addr, records):
                    _report(upd, flagged, rows.get(r.inspection_id), r, addr,
                            f"the {r.purpose.replace('_', ' ')} email ({r.message_id}) went to the others, "
                            f"but {addr} refused it: {why}", _refused_fix(r, why), f"refused by {addr}")


def _report(upd: TrackerUpdate, flagged: set[int], row: int | None, r: Record, value: str, message: str,
            fix: str, short: str) -> None:
    upd.problems.append(Problem("error", "Inspections" if row else "Email log", row,
                                "Status" if row else "Message ID", value, message, fix))
    if row and row not in flagged:
        flagged.add(row)
        upd.set(row, "Status", f"Problem: {r.purpose.replace('_', ' ')} email {short} — see Email log")


def _refused_fix(r: Record, why: str) -> str:
    again = " A temporary refusal (a 4xx code) is tried again by itself." if why[:1] == "4" else ""
    if r.purpose in ("contact_plan_internal", "contact_plan_school"):
        return ("correct the address in the tracker: the next run sends the plan to that recipient only "
                "(the others already have it)." + again)
    return ("correct the address in the tracker, and forward this email (find it by its Message ID in the "
            "shared mailbox or the Email log) to the right address." + again)


def _superseded(r: Record, records: list[Record]) -> bool:
    """A later message of the same purpose got through (e.g. to the corrected address), or
    this one was closed because a newer one replaced it (that one is reported on its own)."""
    if r.state == SendState.FAILED and r.detail.startswith(_REPLACED):
        return True
    return any(s.state == SendState.SENT and s.inspection_id == r.inspection_id and s.purpose == r.purpose
               and s.version >= r.version and s.first_at >= r.first_at and s.key != r.key for s in records)


def _log_row(r: Record, ctx: Context) -> dict:
    result = r.state.value + (f": {r.detail}" if r.detail and (r.state != SendState.SENT or r.refused) else "")
    return {"When": ctx.calendar.local(r.updated_at).replace(tzinfo=None, microsecond=0), "Inspection ID": r.inspection_id,
            "Template": r.purpose, "Recipients": ", ".join(r.recipients), "Subject": r.subject,
            "Transport": r.transport, "Result": result, "Message ID": r.message_id}


def journal_path(workbook: Path, cfg: Config) -> Path:
    """The journal shared by every way the product runs on this tracker."""
    name = f"{workbook.stem}.journal.sqlite" if not cfg.redirect_to else f"{workbook.stem}.test-journal.sqlite"
    return cfg.resolve(workbook, cfg.state_dir) / name


def run_lock(workbook: Path, cfg: Config, timeout: float = 60) -> FileLock:
    """One run at a time per tracker (scheduled run, command line and ribbon alike)."""
    folder = cfg.resolve(workbook, cfg.state_dir)
    folder.mkdir(parents=True, exist_ok=True)
    return FileLock(str(folder / f"{workbook.stem}.lock"), timeout=timeout)


def load_context(store: WorkbookStore, cfg: Config, now: datetime, journal: Journal | None,
                 rules: Rules | None = None) -> Context:
    """Read and check the tracker and gather what the steps need."""
    rules = rules or load_rules(Path(cfg.rules_dir) if cfg.rules_dir else None)
    raw = store.load()
    tracker = build_tracker(raw, rules)
    cal = WorkingCalendar(cfg.day_start, cfg.day_end, tuple((h.first, h.last) for h in tracker.holidays))
    history = journal.records() if journal else []
    ctx = Context(tracker, rules, cfg, cal, cal.local(now), history, Renderer(email_templates_dir()),
                  logged_sent=logged_sent_ids(raw))
    if not history and ctx.logged_sent:
        ctx.notes.append("The send journal is new (was the tracker moved or renamed?): messages the Email log "
                         "shows as sent are not sent again.")
    return ctx


# Email log results that mean "it went, or may have": never re-sent without the journal's say.
_LOGGED_AS_GONE = tuple(s.value for s in DONE_FOR_HISTORY) + tuple(k for k, v in LEGACY.items() if v in DONE_FOR_HISTORY)


def logged_sent_ids(raw) -> set[str]:
    """Message-IDs the tracker's Email log records as sent (or possibly sent), test mode aside."""
    log = raw.sheets.get("Email log")
    if log is None:
        return set()
    return {str(c["Message ID"]).strip() for _, c in log.rows if c.get("Message ID")
            and str(c.get("Result", "")).strip().lower().startswith(_LOGGED_AS_GONE)
            and "test mode" not in str(c.get("Transport", ""))}


def run(workbook: Path, cfg: Config, now: datetime, transport: Transport | None = None,
        dry_run: bool = False, sleep=None, lock_timeout: float = 60, store=None,
        select: Callable[[OutgoingMessage], bool] | None = None) -> RunResult:
    """The scheduled run; with dry_run nothing is sent or written.

    `store` reads and writes the tracker (default: the openpyxl/XML store on the file;
    the ribbon passes its live-workbook store). `select` narrows what is sent (e.g. one
    inspection, for a ribbon button); the tracker update still covers every row."""
    workbook = Path(workbook)
    store = store or WorkbookStore(workbook, limits=PartLimits.from_section(cfg.section("workbook"), cfg.source))
    if dry_run:
        ctx = load_context(store, cfg, now, _existing_journal(workbook, cfg))
        forms = prepare_forms(workbook, store, ctx, dry_run=True)  # feedback forms (issue 5B)
        messages = [m for m in plan(ctx) if select is None or select(m)]
        fake = [_as_record(m, ctx.now) for m in messages]
        update = tool_update(ctx, ctx.history + fake)
        forms.merge_into(update)  # feedback forms (issue 5B)
        # cells_written: what a real run would write (a live-workbook store may not say: None)
        pending = store.pending(update) if hasattr(store, "pending") else None
        return RunResult(ctx, messages, update, cells_written=pending, notes=ctx.notes, forms=forms)
    try:
        lock = run_lock(workbook, cfg, lock_timeout)
        lock.acquire()
    except Timeout:
        raise TrackerError(f"Another run on {workbook.name} is in progress (lock in {cfg.state_dir}); "
                           "it will finish in a moment — try again then.")
    except OSError as exc:
        raise _state_trouble(workbook, cfg, exc)
    try:
        return _apply(workbook, store, cfg, now, transport, sleep, select)
    finally:
        lock.release()


def _state_trouble(workbook: Path, cfg: Config, exc: Exception) -> MailError:
    """One line for a state folder that cannot be written (read-only, full disk, a file in its place)."""
    folder = cfg.resolve(workbook, cfg.state_dir)
    why = getattr(exc, "strerror", None) or str(exc)
    return MailError(f"Cannot write the state folder {folder} ({why}), which keeps the send journal and run lock "
                     f"of {workbook.name} — make it writable or free disk space (or set [paths] state_dir), then "
                     "run again; nothing was sent.")


def _open_journal(workbook: Path, cfg: Config, now: datetime) -> tuple[Journal, Path | None]:
    """The tracker's journal; a corrupt one is moved aside and a fresh one started."""
    import sqlite3

    try:
        return open_checked(journal_path(workbook, cfg), now)
    except (OSError, sqlite3.Error) as exc:
        raise _state_trouble(workbook, cfg, exc)


def _moved_aside(ctx: Context, upd: TrackerUpdate, moved: Path) -> None:
    """Say, in the summary and on the Problems sheet, that the journal was unreadable."""
    line = (f"The send journal could not be read (corrupt or cut short) and was moved aside to {moved}; "
            "a new one was started, and messages the Email log shows as sent are not sent again.")
    ctx.notes.insert(0, line)
    upd.problems.append(Problem("warning", "Email log", None, None, moved.name,
                                "the send journal could not be read (corrupt or cut short) and was moved aside",
                                "nothing to do for the emails: the Email log stands in for it, so nothing it shows "
                                "as sent goes again. Keep the moved file for IT; if this happens again, the disk or "
                                "share holding the state folder may be failing."))


def _settle_first(journal: Journal, get_transport, now: datetime) -> list[Record]:
    """Settle what an earlier run left in flight (or unconfirmed), before anything is planned."""
    if not any(r.state in IN_FLIGHT or r.state == SendState.UNCONFIRMED for r in journal.records()):
        return []
    return settle_interrupted(journal, get_transport(), now)


def _apply(workbook, store, cfg, now, transport, sleep, select=None) -> RunResult:
    local = now.astimezone(LONDON)
    journal, moved = _open_journal(workbook, cfg, local)
    made = [transport] if transport is not None else []

    def get_transport():
        if not made:
            from automation.mail.factory import make_transport
            made.append(make_transport(cfg, workbook))
        return made[0]

    try:
        try:
            settled = _settle_first(journal, get_transport, local)
            ctx = load_context(store, cfg, now, journal)
            forms = prepare_forms(workbook, store, ctx)  # feedback forms (issue 5B): write due, read completed
            messages = [m for m in plan(ctx) if select is None or select(m)]
            messages += [m for m in stored_retries(journal, messages, ctx.now) if select is None or select(m)]
            report = None
            if messages:
                report = deliver(messages, get_transport(), journal, lambda: ctx.now,
                                 Policy(allowed_domains=cfg.allowed_domains), sleep or time.sleep)
        finally:
            if made:
                made[0].close()
        update = tool_update(ctx, journal.records())
        if moved:
            _moved_aside(ctx, update, moved)
        forms.merge_into(update)  # feedback forms (issue 5B): outcomes into blank tracker cells
        result = RunResult(ctx, messages, update, report, notes=ctx.notes, forms=forms, settled=settled)
        try:
            result.cells_written = store.save(update)
            result.saved = True
        except WorkbookLocked as exc:
            result.save_note = (f"{exc} Nothing is lost: every email sent is in the journal, "
                                "and the next run writes these updates.")
        # Learning-review checklists and the oversight workbook (issue 6): tool-owned files.
        from automation.oversight.hook import after_run
        result.notes.extend(after_run(workbook, store, ctx, journal.records()))
        return result
    finally:
        journal.close()


def _existing_journal(workbook: Path, cfg: Config) -> Journal | None:
    """The journal for a dry run, if there is a readable one (a corrupt one is left for a real run)."""
    import sqlite3

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
        raise _state_trouble(workbook, cfg, exc)


def _as_record(m: OutgoingMessage, now: datetime) -> Record:
    return Record(m.key, m.message_id, m.inspection_id, m.purpose, m.version, m.recipients, m.subject,
                  "dry-run", SendState.SENT, "", 0, m.facts, now, now)
