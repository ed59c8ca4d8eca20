"""The edge that keeps a learning review current while it is In progress: each run refreshes the
checklist's Review, Timeline and Email log sheets from the tracker (with the follow-ups compiled
in that run), the journal and the feedback form; the reviewers' Checklist sheet is never touched."""

from __future__ import annotations

from pathlib import Path

from automation.context import Context
from automation.oversight.settings import report_paths
from automation.review.core import review_data, reviews_in_progress
from automation.review.names import existing_checklist
from automation.review.service import form_facts, records_for
from automation.workbook.raw import RawWorkbook


def refresh_in_progress(ctx: Context, raw: RawWorkbook | None, workbook: Path) -> list[str]:
    """Refresh every In progress checklist whose records changed; lines for the run summary."""
    folder = report_paths(ctx.config, workbook).reviews
    forms = ctx.config.resolve(Path(workbook), ctx.config.forms_dir)
    notes = []
    for insp in reviews_in_progress(ctx.tracker):
        path = existing_checklist(folder, insp.inspection_id)
        if path is None:
            continue  # nothing to refresh: `ofsted-tracker review` makes one
        data = review_data(ctx.tracker, ctx.rules, ctx.calendar, records_for(ctx, raw, insp.inspection_id), ctx.now,
                           insp, form_facts(forms, insp.inspection_id))
        from automation.review.checklist import refresh_checklist  # openpyxl: only when there is one

        if refresh_checklist(data, path):
            notes.append(f"{insp.inspection_id}: learning review in progress — the checklist's Review, Timeline and "
                         f"Email log sheets were brought up to date ({path}); the Checklist sheet was left as it is")
    return notes
