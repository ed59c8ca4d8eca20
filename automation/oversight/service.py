"""The edge for the oversight workbook: gather the facts (tracker, journal, feedback forms)
and save the workbook atomically; the run skips the rebuild when nothing has changed."""

from __future__ import annotations

import hashlib
from pathlib import Path

from automation.context import Context
from automation.errors import WorkbookLocked
from automation.forms.runner import existing_forms
from automation.oversight.figures import Facts, inspection_facts
from automation.oversight.settings import report_paths
from automation.oversight.workbook import build_oversight
from automation.review.service import form_facts, log_records
from automation.workbook.raw import RawWorkbook
from automation.workbook.writer import file_digest


def facts_for(ctx: Context, raw: RawWorkbook | None, workbook: Path) -> list[Facts]:
    """Every inspection's facts, with the journal (or the Email log) and the feedback forms."""
    records = ctx.history or log_records(raw)
    folder = ctx.config.resolve(Path(workbook), ctx.config.forms_dir)
    forms = {}
    ids = {p.name.split(" ", 1)[0] for p in existing_forms(folder)}
    for iid in ids & {i.inspection_id for i in ctx.tracker.inspections}:
        got = form_facts(folder, iid)  # an unreadable form stops the rebuild with a clear line, never a blank
        if got:
            forms[iid] = got
    return inspection_facts(ctx.tracker, ctx.rules, ctx.calendar, records, ctx.now, forms)


def _fingerprint(ctx: Context, raw: RawWorkbook | None, workbook: Path) -> str:
    """Changes when the tracker, the journal, the forms or the day change (overdue counts move daily)."""
    folder = ctx.config.resolve(Path(workbook), ctx.config.forms_dir)
    forms = sorted((p.name, p.stat().st_mtime_ns) for p in folder.glob("*.xlsx")) if folder.is_dir() else []
    last = max((r.updated_at.isoformat() for r in ctx.history), default="")
    wb = Path(workbook)
    digest = raw.digest if raw else (file_digest(wb) if wb.exists() else "")
    text = f"{digest}|{len(ctx.history)}|{last}|{ctx.now.date()}|{forms}"
    return hashlib.sha256(text.encode()).hexdigest()


def refresh_oversight(ctx: Context, raw: RawWorkbook | None, workbook: Path, only_if_changed: bool = False) -> Path | None:
    """Rebuild the oversight workbook; with only_if_changed, None when it is already up to date."""
    dest = report_paths(ctx.config, workbook).oversight
    stamp = dest.with_name(f".{dest.stem}.fingerprint")
    fp = _fingerprint(ctx, raw, workbook)
    if only_if_changed and dest.exists() and stamp.exists() and stamp.read_text() == fp:
        return None
    wb = build_oversight(facts_for(ctx, raw, workbook), ctx.rules, ctx.now, ctx.config.la_name, Path(workbook).name)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".~{dest.name}")
    wb.save(tmp)
    try:
        tmp.replace(dest)
    except PermissionError:
        tmp.unlink(missing_ok=True)
        raise WorkbookLocked(f"The oversight workbook {dest} is open (close it in Excel); it will be rebuilt on the next run.")
    stamp.write_text(fp)
    return dest
