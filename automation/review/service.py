"""The edge for checklists: read the tracker and the journal, make one checklist on request,
or every requested one during the run (once: an existing checklist is never replaced)."""

from __future__ import annotations

import glob
from datetime import datetime
from pathlib import Path

from automation import values as V
from automation.calendar import LONDON
from automation.config import Config
from automation.context import Context
from automation.mail.journal import Record
from automation.oversight.settings import report_paths
from automation.review.checklist import existing_checklist, write_checklist
from automation.review.core import find_inspection, review_data, reviews_due
from automation.review.timeline import FormFacts
from automation.workbook.raw import RawWorkbook


def log_records(raw: RawWorkbook | None) -> list[Record]:
    """The tracker's Email log sheet as journal records (for a tracker whose journal is elsewhere)."""
    sheet = raw.sheets.get("Email log") if raw else None
    out: list[Record] = []
    versions: dict[tuple[str, str], int] = {}
    for _, c in (sheet.rows if sheet else []):
        iid, when = V.text(c.get("Inspection ID")), c.get("When")
        if not iid or when is None:
            continue
        try:
            at = V.parse_datetime(when)[0].replace(tzinfo=LONDON)
        except V.BadValue:
            continue
        purpose = V.text(c.get("Template"))
        versions[(iid, purpose)] = versions.get((iid, purpose), 0) + 1
        state, _, detail = V.text(c.get("Result")).partition(":")
        out.append(Record(V.text(c.get("Message ID")) or f"log-{len(out)}", V.text(c.get("Message ID")), iid, purpose,
                          versions[(iid, purpose)], tuple(a.strip() for a in V.text(c.get("Recipients")).split(",") if a.strip()),
                          V.text(c.get("Subject")), V.text(c.get("Transport")), state.strip() or "sent", detail.strip(),
                          0, {}, at, at))
    return out


def records_for(ctx: Context, raw: RawWorkbook | None, inspection_id: str) -> list[Record]:
    """The journal's records of an inspection; the Email log sheet's when the journal has none."""
    own = [r for r in ctx.history if r.inspection_id == inspection_id]
    return own or [r for r in log_records(raw) if r.inspection_id == inspection_id]


def form_facts(folder: Path, inspection_id: str) -> FormFacts | None:
    """The officer's answers on the inspection's feedback form (forms folder), if there is one.

    Reads the contact rows ("contact:N" in column A, "Tuesday 17 November 2026, 17:00 — what"
    in B, Yes/No in C) and Completed on; a form that cannot be read is simply not used."""
    import openpyxl

    found = sorted(p for p in folder.glob(f"{glob.escape(inspection_id)} *.xlsx")) if folder.is_dir() else []
    if not found:
        return None
    path = found[0]
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception:  # an unreadable form is the forms command's to report, not the review's
        return None
    try:
        calls, completed, complete, extra = [], None, False, {}
        for row in wb.worksheets[0].iter_rows(min_col=1, max_col=3, values_only=True):
            key, text, value = (list(row) + [None, None, None])[:3]
            if isinstance(key, str) and key.startswith("contact:") and V.text(value) in ("Yes", "No"):
                try:
                    at = datetime.strptime(V.text(text).split(" — ")[0], "%A %d %B %Y, %H:%M").replace(tzinfo=LONDON)
                except ValueError:
                    continue
                calls.append((at, V.text(value) == "Yes"))
            elif key == "completed_on" and value is not None:
                try:
                    completed = V.parse_date(value)
                except V.BadValue:
                    completed = None
            elif key == "form_complete":
                complete = V.text(value).lower() == "yes"
            elif key in ("welfare_signposted", "welfare_notes", "conduct_notes"):
                extra[key] = V.text(value)
    finally:
        wb.close()
    welfare = ": ".join(x for x in (extra.get("welfare_signposted", ""), extra.get("welfare_notes", "")) if x)
    return FormFacts(tuple(calls), completed if complete else None, welfare, extra.get("conduct_notes", ""))


def make_review(ctx: Context, raw: RawWorkbook | None, workbook: Path, inspection_id: str,
                overwrite: bool = False) -> tuple[Path, bool]:
    """Write the checklist for one inspection; (path, whether it was written now)."""
    insp = find_inspection(ctx.tracker, inspection_id)
    form = form_facts(ctx.config.resolve(Path(workbook), getattr(ctx.config, "forms_dir", "forms")), insp.inspection_id)
    data = review_data(ctx.tracker, ctx.rules, ctx.calendar, records_for(ctx, raw, insp.inspection_id), ctx.now,
                       insp, form)
    return write_checklist(data, report_paths(ctx.config, workbook).reviews, overwrite)


def requested_reviews(ctx: Context, raw: RawWorkbook | None, workbook: Path) -> list[str]:
    """For the run: a checklist for each inspection newly set to Requested; lines for the summary."""
    folder = report_paths(ctx.config, workbook).reviews
    notes = []
    for insp in reviews_due(ctx.tracker):
        if existing_checklist(folder, insp.inspection_id):
            continue
        path, _ = make_review(ctx, raw, workbook, insp.inspection_id)
        notes.append(f"{insp.inspection_id}: learning review requested — checklist written to {path}")
    return notes


def load_for_reports(workbook: Path, cfg: Config, now: datetime):
    """(context, raw workbook) read-only, for the commands: the journal if there is one."""
    from automation.mail.journal import Journal
    from automation.run import journal_path, load_context
    from automation.workbook.store import WorkbookStore

    store = WorkbookStore(Path(workbook))
    jpath = journal_path(Path(workbook), cfg)
    journal = Journal(jpath) if jpath.exists() else None
    try:
        ctx = load_context(store, cfg, now, journal)
    finally:
        if journal:
            journal.close()
    return ctx, store.raw
