"""The edge for checklists: read the tracker and the journal, make one checklist on request,
or every requested one during the run (once: an existing checklist is never replaced)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from automation import values as V
from automation.calendar import LONDON
from automation.config import Config
from automation.context import Context
from automation.forms.readback import FilledForm
from automation.forms.runner import existing_forms
from automation.forms.workbook import read_form
from automation.mail.journal import Record
from automation.model import Inspection
from automation.oversight.settings import report_paths
from automation.review.core import find_inspection, form_facts_of, review_data, reviews_due
from automation.review.names import existing_checklist
from automation.review.timeline import FormFacts
from automation.rowread import keep_for, own_urn
from automation.session import existing_journal, read_tracker
from automation.validate import FOR_ONE
from automation.workbook import schema
from automation.workbook.raw import RawWorkbook
from automation.workbook.readonly import SheetsStore
from automation.workbook.safety import PartLimits


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


def records_for(ctx: Context, raw: RawWorkbook | None, inspection_id: str, workbook: Path | None = None) -> list[Record]:
    """The journal's records of an inspection; the Email log sheet's when the journal has none
    (read now from workbook when raw was read without it)."""
    own = [r for r in ctx.history if r.inspection_id == inspection_id]
    if own:
        return own
    if raw is not None and "Email log" not in raw.sheets and workbook is not None:
        raw = SheetsStore(Path(workbook), (schema.EMAIL_LOG,), _limits(ctx.config)).load()
    return [r for r in log_records(raw) if r.inspection_id == inspection_id]


def _limits(cfg: Config) -> PartLimits:
    return PartLimits.from_section(cfg.section("workbook"), cfg.source)


def load_for_one(workbook: Path, cfg: Config, now: datetime, inspection_id: str) -> tuple[Context, RawWorkbook | None]:
    """(context, raw workbook) for one inspection, read-only: only the sheets its review draws on
    are read, and only its rows (and its school's) checked. An id not found is looked for in a
    full read, so the error lists the tracker's recent ids."""
    sheets = FOR_ONE + _log_if_needed(workbook, cfg, inspection_id)
    want = inspection_id.strip().upper()
    # Only the rows of the school the id names are converted (most of a read's time at 10,000
    # rows); if the row's URN has been changed since, its school's rows were left out: read again.
    store = SheetsStore(Path(workbook), sheets, _limits(cfg), keep=keep_for({inspection_id}))
    ctx, raw = read_tracker(Path(workbook), cfg, now, store=store, only={inspection_id})
    found = [i for i in ctx.tracker.inspections if i.inspection_id.upper() == want]
    if store.keep is not None and found and any(i.urn != own_urn(want) for i in found):
        ctx, raw = read_tracker(Path(workbook), cfg, now, store=SheetsStore(Path(workbook), sheets, _limits(cfg)),
                                only={inspection_id})
        found = [i for i in ctx.tracker.inspections if i.inspection_id.upper() == want]
    if not found:
        return read_tracker(Path(workbook), cfg, now)
    return ctx, raw


def _log_if_needed(workbook: Path, cfg: Config, inspection_id: str) -> tuple:
    """The Email log sheet when the send journal has nothing for the inspection (its emails are
    then read from there), so the tracker is opened once, not twice."""
    journal = existing_journal(Path(workbook), cfg)
    if journal is None:
        return (schema.EMAIL_LOG,)
    try:
        return () if journal.records(inspection_id=inspection_id.strip()) else (schema.EMAIL_LOG,)
    finally:
        journal.close()


def form_file(folder: Path, inspection_id: str) -> Path | None:
    """The inspection's feedback form in the forms folder, if there is one."""
    return next((p for p in existing_forms(folder) if p.name.split(" ", 1)[0] == inspection_id), None)


def facts_of(form: FilledForm) -> FormFacts:
    """What a feedback form, as the forms reader gives it, adds to a review."""
    return form_facts_of(form)


def form_facts(folder: Path, inspection_id: str) -> FormFacts | None:
    """The officer's answers on the inspection's feedback form, None when there is no form.
    Raises WorkbookError when the form cannot be read: a review is never quietly emptied."""
    path = form_file(folder, inspection_id)
    return facts_of(read_form(path)) if path else None


def make_review(ctx: Context, raw: RawWorkbook | None, workbook: Path, inspection_id: str,
                overwrite: bool = False) -> tuple[Path, bool]:
    """Write the checklist for one inspection; (path, whether it was written now)."""
    from automation.review.checklist import write_checklist  # openpyxl: only when one is written

    insp = find_inspection(ctx.tracker, inspection_id)
    form = form_facts(ctx.config.resolve(Path(workbook), ctx.config.forms_dir), insp.inspection_id)
    data = review_data(ctx.tracker, ctx.rules, ctx.calendar, records_for(ctx, raw, insp.inspection_id, workbook),
                       ctx.now, insp, form)
    return write_checklist(data, report_paths(ctx.config, workbook).reviews, overwrite)


def reviews_to_write(ctx: Context, workbook: Path) -> list[Inspection]:
    """Inspections newly set to Requested whose checklist is not written yet."""
    folder = report_paths(ctx.config, workbook).reviews
    return [i for i in reviews_due(ctx.tracker) if not existing_checklist(folder, i.inspection_id)]


def requested_reviews(ctx: Context, raw: RawWorkbook | None, workbook: Path) -> list[str]:
    """For the run: a checklist for each inspection newly set to Requested; lines for the summary."""
    notes = []
    for insp in reviews_to_write(ctx, workbook):
        path, _ = make_review(ctx, raw, workbook, insp.inspection_id)
        notes.append(f"{insp.inspection_id}: learning review requested — checklist written to {path}")
    return notes


def load_for_reports(workbook: Path, cfg: Config, now: datetime):
    """(context, raw workbook) read-only, for the commands: the journal if there is one."""
    return read_tracker(Path(workbook), cfg, now)
