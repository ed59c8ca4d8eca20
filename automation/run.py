"""The scheduled run as a library function: read, check, plan, send, write back.
Plan and apply are separate so --dry-run shows exactly what the run would do."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable

from automation.config import Config
from automation.context import Context
from automation.errors import Problem, WorkbookLocked
from automation.followups import compiled
from automation.forms.runner import FormsRun, plan_forms, write_forms
from automation.graph.generated import GeneratedFiles, for_run as generated_files
from automation.mail.delivery import (DeliveryReport, Policy, caught_up, deliver, settle_interrupted,
                                      stored_retries, unconfirmed_advice)
from automation.mail.journal import Journal, Record
from automation.mail.message import OutgoingMessage
from automation.mail.states import FINAL, IN_FLIGHT, MAYBE_GONE, UNDELIVERED, SendState
from automation.mail.transport import Transport
from automation.outcomes import consistency_problems
from automation.oversight.hook import after_run
from automation.purposes import Purpose, words
from automation.review.service import reviews_to_write
# The session layer, re-exported: older callers (and tests) import these from here.
from automation.settled import settled_keys
from automation.session import (Session, journal_path, load_context, logged_sent_ids, note_moved_aside,  # noqa: F401
                                open_session, run_lock, READ, WRITE)
from automation.status import problem_status, status
from automation.steps import STEPS
from automation.update import TrackerUpdate
from automation.validate import school_label
from automation.workbook.safety import sniff
from automation.workbook.protocol import TrackerStore


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
    forms: FormsRun | None = None  # the feedback forms written and read
    settled: list[Record] = field(default_factory=list)  # what an earlier run left in flight, settled now
    plan: "RunPlan | None" = None  # what was decided before anything was sent or written
    files_failed: list[str] = field(default_factory=list)  # reviews / oversight not written (retried next run)


def plan(ctx: Context) -> list[OutgoingMessage]:
    """Every message the steps want sent, minus those already settled: by the journal, or —
    for a message the journal has never seen (a moved or renamed tracker, a lost state
    folder) — by the tracker's own Email log, so losing the journal never re-sends."""
    known = {r.key for r in ctx.history}
    settled = settled_keys(ctx.history)
    out: list[OutgoingMessage] = []
    for step in STEPS:
        out.extend(m for m in step(ctx) if m.key not in settled
                   and not (m.key not in known and m.message_id in ctx.logged_sent))
    return out


def tool_update(ctx: Context, records: list[Record]) -> TrackerUpdate:
    """The tool's cells as they should now be, from the tracker, the journal and the date."""
    follow = compiled(ctx)  # the Follow-ups sheet (compiled once per context), and what Status needs from it
    fixed = _fixed(ctx)
    upd = TrackerUpdate(found_at=ctx.now, problems=list(ctx.tracker.problems), follow_ups=follow.follow_ups)
    upd.problems += follow.problems + fixed.problems
    # Test mode (redirect_to) sent everything to the tester only: the real plans are still to
    # go, so nothing from the test journal may mark them sent or fill the real Email log.
    test_mode = bool(ctx.config.redirect_to)
    if test_mode:
        records = []
    plan_sent = {}
    for r in records:  # the promise is the school's acknowledgement: its copy, really sent
        if r.purpose == Purpose.CONTACT_PLAN_SCHOOL and r.state == SendState.SENT:
            plan_sent.setdefault(r.inspection_id, r.updated_at)
    for insp in ctx.tracker.inspections:
        cells = upd.inspection_cells.setdefault(insp.row, {})
        cells.update(fixed.cells.get(insp.row, ()))
        sent_at = plan_sent.get(insp.inspection_id) or insp.contact_plan_sent
        if sent_at:
            cells["Contact plan sent"] = ctx.calendar.local(sent_at).replace(tzinfo=None, second=0, microsecond=0)
        cells["Status"] = fixed.status(insp, sent_at is not None)
    header = ctx.tracker.header_rows.get("Inspections", 1)
    for p in ctx.tracker.errors:
        if p.sheet == "Inspections" and p.row and p.row > header:  # never the header row (a missing column)
            upd.set(p.row, "Status", problem_status(p.column or "row", "Problems sheet"))
    _email_problems(ctx, records, upd)
    upd.email_log = [_log_row(r, ctx) for r in records]
    return upd


class _Fixed:
    """What tool_update needs that the journal cannot change, worked out once per context: a run
    updates the tracker twice (planned, then after sending) from the same rows, rules and date."""

    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.problems = [p for i in ctx.tracker.inspections for p in consistency_problems(i, ctx.rules)]
        self.cells: dict[int, dict[str, object]] = {}
        for insp in ctx.tracker.inspections:
            cells = self.cells.setdefault(insp.row, {})
            if insp.id_is_new:
                cells["Inspection ID"] = insp.inspection_id
            school = ctx.tracker.schools.get(insp.urn)
            if school is not None:  # which school the URN is, so an admin sees a wrong one at once
                cells["School"] = school_label(school)
        self._status: dict[tuple[int, bool], str] = {}

    def status(self, insp, plan_sent: bool):
        """The row's Status (whether its plan went is the one input that sending changes)."""
        key = (id(insp), plan_sent)
        got = self._status.get(key)
        if got is None:
            ctx = self.ctx
            got = self._status[key] = status(insp, plan_sent, ctx.now.date(), ctx.on_site_days(insp), ctx.calendar,
                                             compiled(ctx).by_inspection.get(insp.inspection_id), ctx.last_day(insp))
        return got


def _fixed(ctx: Context) -> _Fixed:
    got = ctx.__dict__.get("_tool_update_fixed")
    if got is None:
        got = ctx.__dict__["_tool_update_fixed"] = _Fixed(ctx)
    return got


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
            what = f"the {words(r.purpose)} email ({r.message_id})"
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
                            f"the {words(r.purpose)} email ({r.message_id}) went to the others, "
                            f"but {addr} refused it: {why}", _refused_fix(r, why), f"refused by {addr}")


def _report(upd: TrackerUpdate, flagged: set[int], row: int | None, r: Record, value: str, message: str,
            fix: str, short: str) -> None:
    problem = Problem("error", "Inspections" if row else "Email log", row, "Status" if row else "Message ID",
                      value, message, fix)
    upd.problems.append(problem)
    upd.email_problems.append(problem)
    if row and row not in flagged:
        flagged.add(row)
        upd.set(row, "Status", problem_status(f"{words(r.purpose)} email {short}", "Email log"))


def _refused_fix(r: Record, why: str) -> str:
    again = " A temporary refusal (a 4xx code) is tried again by itself." if why[:1] == "4" else ""
    if r.purpose in (Purpose.CONTACT_PLAN_INTERNAL, Purpose.CONTACT_PLAN_SCHOOL):
        return ("correct the address in the tracker: the next run sends the plan to that recipient only "
                "(the others already have it)." + again)
    return ("correct the address in the tracker, and forward this email (find it by its Message ID in the "
            "shared mailbox or the Email log) to the right address." + again)


def _superseded(r: Record, records: list[Record]) -> bool:
    """A later message of the same purpose got through (e.g. to the corrected address), or
    this one was closed because a newer one replaced it (that one is reported on its own)."""
    if r.state == SendState.FAILED and r.detail.startswith(_REPLACED):
        return True
    # One day's digests (and overdue escalations) share an inspection id and purpose, one per
    # officer: only a message for the same person stands in for an undelivered one.
    return any(s.state == SendState.SENT and s.inspection_id == r.inspection_id and s.purpose == r.purpose
               and s.facts.get("addressee") == r.facts.get("addressee")
               and s.version >= r.version and s.first_at >= r.first_at and s.key != r.key for s in records)


def _log_row(r: Record, ctx: Context) -> dict:
    result = r.state.value + (f": {r.detail}" if r.detail and (r.state != SendState.SENT or r.refused) else "")
    return {"When": ctx.calendar.local(r.updated_at).replace(tzinfo=None, microsecond=0), "Inspection ID": r.inspection_id,
            "Template": r.purpose, "Recipients": ", ".join(r.recipients), "Subject": r.subject,
            "Transport": r.transport, "Result": result, "Message ID": r.message_id}


@dataclass
class RunPlan:
    """What a run would do, as data: a dry run and a preview print and save this very object,
    and a real run applies it, so what is shown can never drift from what is done."""

    session: Session
    context: Context
    messages: list[OutgoingMessage]  # each with its reason (OutgoingMessage.reason)
    forms: FormsRun  # completed forms read; due forms to write (forms.due)
    update: TrackerUpdate  # the tool's cells, were every message to go
    cells: int | None  # how many cells a save would write (None: the store cannot tell)
    reviews: list[str]  # Inspection IDs whose learning-review checklist is to be written
    select: Callable[[OutgoingMessage], bool] | None = None
    files: GeneratedFiles | None = None  # a SharePoint tracker's generated files (pulled; pushed by apply)

    @property
    def workbook(self) -> Path:
        return self.session.workbook


def plan_run(session: Session, select: Callable[[OutgoingMessage], bool] | None = None,
             dry_run: bool = False) -> RunPlan:
    """Read the tracker and decide everything: messages, forms, cells, reviews. Sends and writes
    nothing (dry_run only changes the notes' wording: "would fill")."""
    ctx = session.context()
    files = generated_files(session.store, session.config)  # None unless the tracker is on SharePoint
    if files:  # forms completed on SharePoint come down before any form is read (a dry run too: local copies only)
        files.pull_forms(ctx)
    forms = plan_forms(session.workbook, session.store, ctx, dry_run)  # completed forms fold into ctx first
    messages = [m for m in plan(ctx) if select is None or select(m)]
    update = tool_update(ctx, ctx.history + [_as_record(m, ctx.now) for m in messages])
    forms.merge_into(update)
    return RunPlan(session, ctx, messages, forms, update, session.store.pending(update),
                   [i.inspection_id for i in reviews_to_write(ctx, session.workbook)], select, files)


def preview(p: RunPlan) -> RunResult:
    """The plan as a dry run's result: nothing sent or written."""
    write_forms(p.forms, p.context, dry_run=True)
    p.context.notes += [f"{iid}: learning review requested — a checklist would be written" for iid in p.reviews]
    return RunResult(p.context, p.messages, p.update, cells_written=p.cells, notes=p.context.notes, forms=p.forms,
                     plan=p)


def apply(p: RunPlan, get_transport: Callable[[], Transport], sleep=None,
          settled: list[Record] | None = None, done_sending: Callable[[], None] = lambda: None) -> RunResult:
    """Carry the plan out: write the due forms, send (with the journal's retries), update the
    tracker from what the journal says went, then the files that follow from it."""
    s, ctx = p.session, p.context
    write_forms(p.forms, ctx)
    upload_problems: list[Problem] = []
    if p.files:  # the new forms (and anything an earlier run could not upload) go up before the tracker is written
        p.files.push(upload_problems)
    messages = list(p.messages)
    messages += [m for m in stored_retries(s.journal, messages, ctx.now) if p.select is None or p.select(m)]
    report = None
    try:
        if messages:
            # deliver() looks each key up in the journal again, so a key settled since planning is not re-sent.
            report = deliver(messages, get_transport(), s.journal, lambda: ctx.now,
                             Policy(allowed_domains=s.config.allowed_domains), sleep or time.sleep)
    finally:
        done_sending()  # the connection is not held open while the tracker is written
    records = s.journal.records()
    update = tool_update(ctx, records)
    if s.moved:
        note_moved_aside(update, s.moved)
    update.problems += upload_problems
    p.forms.merge_into(update)
    result = RunResult(ctx, messages, update, report, notes=ctx.notes, forms=p.forms, settled=settled or [], plan=p)
    save_update(result, lambda: s.store.save(update))
    # Tool-owned files from this run's outcome: the follow-ups just compiled, not the sheet as read.
    after = ctx
    if update.follow_ups is not None:
        after = dataclasses.replace(ctx, tracker=dataclasses.replace(ctx.tracker, follow_ups=list(update.follow_ups)))
    done = after_run(s.workbook, s.store, after, records)
    result.notes.extend(done.notes)
    result.files_failed = done.failed
    if p.files:  # checklists and the oversight workbook just written go up beside the tracker
        p.files.push()
        result.notes.extend(p.files.summary())
        result.files_failed += p.files.failed
    return result


def run(workbook: Path, cfg: Config, now: datetime, transport: Transport | None = None,
        dry_run: bool = False, sleep=None, lock_timeout: float = 60, store: TrackerStore | None = None,
        select: Callable[[OutgoingMessage], bool] | None = None) -> RunResult:
    """The scheduled run; with dry_run nothing is sent or written.

    `store` reads and writes the tracker (default: the openpyxl/XML store on the file;
    the ribbon passes its live-workbook store). `select` narrows what is sent (e.g. one
    inspection, for a ribbon button); the tracker update still covers every row."""
    if store is None:  # not a workbook at all: say so before a journal or lock is made for it
        sniff(Path(workbook))
    if dry_run:
        with open_session(workbook, cfg, now, store=store, journal=READ) as s:
            return preview(plan_run(s, select, dry_run=True))
    with open_session(workbook, cfg, now, store=store, journal=WRITE, lock=True, lock_timeout=lock_timeout) as s:
        get_transport, close = transport_maker(cfg, s.workbook, transport)
        try:
            settled = settle_first(s.journal, get_transport, s.now)  # before anything is planned
            return apply(plan_run(s, select), get_transport, sleep, settled, close)
        finally:
            close()


def transport_maker(cfg: Config, workbook: Path, given: Transport | None = None):
    """(get, close): the mail transport made on first use (a run with nothing to send never
    connects), and its closing; `given` (tests, the ribbon) is used as it is."""
    made = [given] if given is not None else []

    def get_transport() -> Transport:
        if not made:
            from automation.mail.factory import make_transport
            made.append(make_transport(cfg, workbook))
        return made[0]

    def close() -> None:
        while made:
            made.pop().close()

    return get_transport, close


def save_update(result: RunResult, save: Callable[[], int]) -> None:
    """Write the tracker update into result; a tracker open elsewhere loses nothing (the next run writes it)."""
    try:
        result.cells_written = save()
        result.saved = True
    except WorkbookLocked as exc:
        result.save_note = (f"{exc} Nothing is lost: every email sent is in the journal, "
                            "and the next run writes these updates.")


def settle_first(journal: Journal, get_transport, now: datetime) -> list[Record]:
    """Settle what an earlier run left in flight (or unconfirmed), before anything is planned."""
    if not any(r.state in IN_FLIGHT or r.state == SendState.UNCONFIRMED for r in journal.records()):
        return []
    return settle_interrupted(journal, get_transport(), now)


def _as_record(m: OutgoingMessage, now: datetime) -> Record:
    return Record(m.key, m.message_id, m.inspection_id, m.purpose, m.version, m.recipients, m.subject,
                  "dry-run", SendState.SENT, "", 0, m.facts, now, now)
