"""One term's HMI summary reads and checks only that term's inspections: the rows notified in it,
found from the Notified at cells before anything is checked."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

from automation import values as V
from automation.config import Config
from automation.context import Context
from automation.errors import TrackerError
from automation.oversight.figures import term_of
from automation.oversight.summary import check_term
from automation.session import load_context, open_session, read_tracker
from automation.validate import FOR_ONE
from automation.workbook import schema
from automation.workbook.raw import Formula, RawWorkbook
from automation.workbook.readonly import SheetsStore
from automation.workbook.safety import PartLimits


def term_rows(raw: RawWorkbook, rules, term: str) -> set[int] | None:
    """The Inspections rows notified in a term ("2026-27 Autumn", spelt as --term may be), None
    when no row is (the summary's own check then says so, listing the terms there are)."""
    by_term: dict[str, set[int]] = {}
    for n, cells in raw.sheets["Inspections"].rows:
        v = cells.get("Notified at")
        if v is None or isinstance(v, Formula):
            continue
        try:
            day = V.parse_datetime(v)[0].date()
        except V.BadValue:
            continue  # not an inspection any figure counts
        by_term.setdefault(term_of(day, rules), set()).add(n)
    try:
        return by_term[check_term(term, [SimpleNamespace(term=t) for t in by_term])]
    except TrackerError:
        return None


def load_for_term(workbook: Path, cfg: Config, now: datetime, term: str) -> tuple[Context, RawWorkbook | None]:
    """(context, raw workbook) for one term's HMI summary, read-only: the Problems sheet is not
    read, and only the rows notified in the term (with their schools' other rows) are checked.
    A term with no rows is left to a whole read, whose message lists the terms there are."""
    store = SheetsStore(Path(workbook), FOR_ONE + (schema.EMAIL_LOG,),
                        PartLimits.from_section(cfg.section("workbook"), cfg.source))
    with open_session(Path(workbook), cfg, now, store=store) as s:
        rows = term_rows(s.store.load(), s.rules, term)
        if rows is not None:
            s.store.serve_cached_once()
            return load_context(s.store, cfg, now, s.journal, s.rules, rows=rows), s.store.raw
    return read_tracker(Path(workbook), cfg, now)
