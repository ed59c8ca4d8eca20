"""The edge for the oversight workbook: gather the facts (tracker, journal, feedback forms)
and save the workbook atomically. The run rebuilds it at most once a day (the first run after
[reports] oversight_refresh_at whose inputs changed), or when the file is missing; the
`oversight` command rebuilds it whenever asked."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, time, timedelta
from pathlib import Path

from automation.calendar import WorkingCalendar
from automation.context import Context
from automation.errors import WorkbookLocked
from automation.forms.runner import existing_forms
from automation.oversight.figures import Facts, inspection_facts
from automation.oversight.settings import refresh_time, report_paths
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


def last_refresh_moment(now: datetime, at: time, cal: WorkingCalendar) -> datetime:
    """The latest daily refresh time at or before now, on the LA's clock."""
    local = cal.local(now)
    moment = cal.at(local.date(), at)
    return moment if moment <= local else cal.at(local.date() - timedelta(days=1), at)


def _stamp(dest: Path) -> Path:
    return dest.with_name(f".{dest.stem}.fingerprint")


def _read_stamp(stamp: Path) -> tuple[str, datetime | None] | None:
    """(the inputs' fingerprint, when the figures were taken) of the last rebuild; None if unknown.
    An older stamp holds the fingerprint alone: its time is unknown."""
    try:
        text = stamp.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    if not text.startswith("{"):
        return text, None
    try:
        data = json.loads(text)
        built = datetime.fromisoformat(data["built_at"]) if data.get("built_at") else None
        return str(data["inputs"]), built if built is None or built.tzinfo else None
    except (ValueError, KeyError, TypeError):
        return None


def is_due(ctx: Context, dest: Path, fp: str) -> bool:
    """Whether the run must rebuild now: the file is missing or its record unreadable, or its inputs
    changed and (daily) no rebuild has happened since the latest refresh time — or (every run) at all."""
    if not dest.is_file():
        return True
    saved = _read_stamp(_stamp(dest))
    if saved is None:
        return True
    inputs, built = saved
    if inputs == fp:
        return False
    at = refresh_time(ctx.config)
    if at is None:
        return True
    if built is None or built > ctx.now:  # unknown, or a clock set back: rebuild rather than show stale figures
        return True
    return built < last_refresh_moment(ctx.now, at, ctx.calendar)


def refresh_oversight(ctx: Context, raw: RawWorkbook | None, workbook: Path, only_if_due: bool = False) -> Path | None:
    """Rebuild the oversight workbook; with only_if_due (the run), None when it is not due (is_due)."""
    dest = report_paths(ctx.config, workbook).oversight
    fp = _fingerprint(ctx, raw, workbook)
    if only_if_due and not is_due(ctx, dest, fp):
        return None
    from automation.oversight.workbook import build_oversight  # openpyxl: only when a rebuild is due

    wb = build_oversight(facts_for(ctx, raw, workbook), ctx.rules, ctx.calendar.local(ctx.now), ctx.config.la_name,
                         Path(workbook).name, refresh_time(ctx.config))
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".~{dest.name}")
    wb.save(tmp)
    try:
        tmp.replace(dest)
    except PermissionError:
        tmp.unlink(missing_ok=True)
        raise WorkbookLocked(f"The oversight workbook {dest} is open (close it in Excel); it will be rebuilt on the next run.")
    _stamp(dest).write_text(json.dumps({"inputs": fp, "built_at": ctx.now.isoformat()}), encoding="utf-8")
    return dest
