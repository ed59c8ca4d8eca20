"""A click about one row, done for that row alone: the send buttons read and check only the
selected inspection with its school's rows (validate.build_tracker rows=), plan and send only
its messages, and write only the cells of the rows they checked and the Email log. The whole
tracker's sheets (Problems, Follow-ups), the feedback forms and the oversight workbook stay
the scheduled run's: a click about one school would otherwise have to redo them all.

Everything else is the run's own: the run lock, the journal opened for sending (and settled
first), the same steps planning over the same data, deliver(), tool_update(). A row whose
feedback form is in the forms folder takes the whole run (the form's answers fold into the
row before its Status is worked out, and only the whole run reads forms)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from automation.mail.message import OutgoingMessage, Renderer, layout_fields
from automation.paths import email_templates_dir
from automation.session import WRITE, load_context, moved_aside_line, open_session

# What a click about one row writes: that row's cells (and its school's other rows') and the
# emails it sent. The Problems and Follow-ups sheets are the whole tracker's lists.
NARROW_SHEETS = ("Inspections", "Email log")


@dataclass
class WholeRunNeeded:
    """Why a click could not be kept to its row (then the whole run does it)."""

    reason: str


def run_for_row(s, row: int, select: Callable[[OutgoingMessage], bool], got=None):
    """As Session.run(select=...) for the inspection on `row`, reading and writing only what
    that inspection needs: a RunResult, or WholeRunNeeded when only the whole run can do it.
    `got(ctx)` is called with the narrow context before anything is planned."""
    from automation.mail.delivery import Policy, deliver, stored_retries
    from automation.run import RunResult, plan, save_update, settle_first, tool_update, transport_maker

    cfg = s.cfg
    with open_session(s.workbook, cfg, s.now, store=s.store, journal=WRITE, lock=True,
                      lock_timeout=s.lock_timeout) as ses:
        get_transport, close = transport_maker(cfg, ses.workbook, s.transport)

        ctx = load_context(ses.store, cfg, s.now, ses.journal, ses.rules, rows={row})
        ids = {i.inspection_id for i in ctx.tracker.inspections}
        form = _form_of(ses.workbook, ctx, ids)
        if form is not None:
            s.store.serve_cached_once()  # the whole run starts from what was just read
            return WholeRunNeeded(f"its feedback form {form.name} is read by the whole run")
        try:
            settled = settle_first(ses.journal, get_transport, ses.now)
            if got is not None:
                got(ctx)
            if ses.moved:
                ctx.notes.insert(0, moved_aside_line(ses.moved))
            # Only these inspections' history: the run's other steps (cancelling the calls of an
            # inspection no longer on the sheet) must not take every other row for gone.
            history = ses.journal.records() if settled else ctx.history  # as the run: settled before planning
            ctx.history = [r for r in history if r.inspection_id in ids]
            ctx.renderer = Renderer(email_templates_dir(), layout=layout_fields(cfg))
            messages = [m for m in plan(ctx) if select(m)]
            messages += [m for m in stored_retries(ses.journal, messages, ctx.now) if select(m)]
            report = None
            if messages:
                report = deliver(messages, get_transport(), ses.journal, lambda: ctx.now,
                                 Policy(allowed_domains=cfg.allowed_domains), time.sleep)
        finally:
            close()
        records = [r for r in ses.journal.records() if r.inspection_id in ids]
        update = tool_update(ctx, records)
        update.follow_ups = None  # the whole list is compiled by the run: never a part of it
        result = RunResult(ctx, messages, update, report, notes=ctx.notes, settled=settled)
        save_update(result, lambda: s.store.save(update, sheets=NARROW_SHEETS))
        return result


def _form_of(workbook: Path, ctx, ids: set[str]) -> Path | None:
    """A feedback form in the forms folder named for one of these inspections."""
    from automation.forms.runner import existing_forms, forms_folder

    return next((p for p in existing_forms(forms_folder(workbook, ctx)) if p.name.split(" ", 1)[0] in ids), None)
