"""The learning-review checklist workbook: the template (built from code) and filling a copy
of it for one inspection. openpyxl is fine here: these are the tool's own new files, never
the user's tracker."""

from __future__ import annotations

import hashlib
import sys
import zipfile
from datetime import date, datetime
from pathlib import Path


def _openpyxl_without_numpy():
    """openpyxl imports numpy when it is installed, only to accept numpy numbers as cell values
    (which the tool never writes); numpy costs a review about 0.13 s of its 1.4. Held back
    only while openpyxl loads, so anything else may still import numpy."""
    if "openpyxl" in sys.modules or "numpy" in sys.modules:
        import openpyxl
        return openpyxl
    sys.modules["numpy"] = None  # `import numpy` then raises ImportError: openpyxl goes without
    try:
        import openpyxl
    finally:
        del sys.modules["numpy"]
    return openpyxl


openpyxl = _openpyxl_without_numpy()
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.worksheet.pagebreak import Break, RowBreak
from openpyxl.workbook import Workbook

from automation.calendar import LONDON
from automation.errors import TemplateError
from automation.paths import workbook_templates_dir
from automation.review.core import ReviewData, Section
from automation.review.names import checklist_name, existing_checklist  # noqa: F401 (this module's API too)
from automation.review.timeline import MISSED, NOT_RECORDED
from automation.rules import load_rules
from automation.safefiles import file_in, put, put_at

TEMPLATE = "learning_review.xlsx"
FIXED_CREATED = datetime(2026, 1, 1)
BLUE = "1F4E79"
TITLE = Font(bold=True, size=16, color=BLUE)
HEAD = Font(bold=True, color="FFFFFF")
HEAD_FILL = PatternFill("solid", fgColor=BLUE)
LABEL = Font(bold=True)
MISSED_FILL = PatternFill("solid", fgColor="F8CBAD")  # with the word "Missed": never colour alone
UNKNOWN_FILL = PatternFill("solid", fgColor="FFF2CC")
THIN = Side(style="thin", color="8C8C8C")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
WRAP = Alignment(wrap_text=True, vertical="top")
DT, D = "ddd dd/mm/yyyy hh:mm", "ddd dd/mm/yyyy"
TIMELINE_HEADERS = (("What", 46), ("Promised by", 21), ("Actual", 21), ("Result", 14), ("Who", 28), ("Notes", 44))
EMAIL_HEADERS = (("When", 19), ("Template", 24), ("Version", 8), ("Recipients", 44), ("Subject", 50), ("Result", 14))
DETAILS_ROW, OUTCOME_ROWS = 4, 14  # where the details start; room for every outcome line
ACTION_ROWS = 3
SECTIONS_PER_PAGE = 3
REVIEWERS = "Reviewers"  # the one cell on the Review sheet the officer types in


def _sheet(wb: Workbook, name: str, widths, landscape: bool):
    ws = wb.create_sheet(name)
    for i, w in enumerate(widths, start=1):
        ws.column_dimensions[openpyxl.utils.get_column_letter(i)].width = w
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToHeight = 0
    return ws


def _header_row(ws, row: int, headers) -> None:
    for c, (text, _) in enumerate(headers, start=1):
        cell = put_at(ws, row, c, text)
        cell.font, cell.fill, cell.border = HEAD, HEAD_FILL, BOX
    ws.freeze_panes = ws.cell(row + 1, 1).coordinate
    ws.print_title_rows = f"{row}:{row}"


def _review_sheet(wb: Workbook) -> None:
    ws = _sheet(wb, "Review", (34, 70), landscape=False)
    put(ws["A1"], "Ofsted Learning Review")
    ws["A1"].font = TITLE
    put(ws["A2"], "INTERNAL to the LA. Pre-filled from the tracker and the email journal; check and complete it.")
    ws["A2"].font = Font(italic=True, color="595959")
    put_at(ws, DETAILS_ROW - 1, 1, "The inspection").font = Font(bold=True, size=12, color=BLUE)


def _checklist_sheet(wb: Workbook) -> None:
    ws = _sheet(wb, "Checklist", (62, 24, 15), landscape=False)
    put(ws["A1"], "Learning review checklist: findings and actions")
    ws["A1"].font = TITLE


def lay_out_sections(ws, sections: list[Section], start: int = 3) -> int:
    """Each section: title, prompt, a findings box and rows for actions (owner, due)."""
    r = start
    for n, s in enumerate(sections, start=1):
        ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=3)
        cell = put_at(ws, r, 1, f"{n}. {s.title}")
        cell.font, cell.fill = HEAD, HEAD_FILL
        ws.row_dimensions[r].height = 20
        r += 1
        ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=3)
        put_at(ws, r, 1, s.prompt).font = Font(italic=True, color="404040")
        ws.cell(r, 1).alignment = WRAP
        ws.row_dimensions[r].height = 15 * (1 + len(s.prompt) // 95) + 4
        r += 1
        put_at(ws, r, 1, "Findings").font = LABEL
        r += 1
        ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=3)
        box = put_at(ws, r, 1, s.findings or None)
        box.alignment = WRAP
        for c in range(1, 4):
            ws.cell(r, c).border = BOX
        ws.row_dimensions[r].height = max(75, 15 * (2 + len(s.findings) // 90))
        r += 1
        for c, text in enumerate(("Action", "Owner", "Due"), start=1):
            cell = put_at(ws, r, c, text)
            cell.font, cell.border = LABEL, BOX
            cell.fill = PatternFill("solid", fgColor="DDEBF7")
        r += 1
        for _ in range(ACTION_ROWS):
            for c in range(1, 4):
                ws.cell(r, c).border = BOX
            ws.cell(r, 3).number_format = "dd/mm/yyyy"
            ws.row_dimensions[r].height = 20
            r += 1
        r += 1
        if n % SECTIONS_PER_PAGE == 0 and n < len(sections):
            ws.row_breaks.append(Break(id=r - 1))  # printed: a section never splits from its box
    return r


def new_checklist(sections: list[Section]) -> Workbook:
    """The empty checklist workbook: Review, Timeline, Checklist and Email log sheets."""
    wb = Workbook()
    wb.remove(wb.active)
    _review_sheet(wb)
    ws = _sheet(wb, "Timeline", [w for _, w in TIMELINE_HEADERS], landscape=True)
    put(ws["A1"], "Timeline: what the LA promised, and what happened")
    ws["A1"].font = TITLE
    _header_row(ws, 3, TIMELINE_HEADERS)
    _checklist_sheet(wb)
    lay_out_sections(wb["Checklist"], sections)
    ws = _sheet(wb, "Email log", [w for _, w in EMAIL_HEADERS], landscape=True)
    put(ws["A1"], "Every email the tool sent about this inspection")
    ws["A1"].font = TITLE
    _header_row(ws, 3, EMAIL_HEADERS)
    wb.properties.creator = "ofsted-tracker"
    wb.properties.title = "Ofsted Learning Review"
    wb.properties.created = wb.properties.modified = FIXED_CREATED
    return wb


def _shipped_sections() -> list[Section]:
    return [Section(s.title, s.prompt) for s in load_rules().learning_review.section]


def build_learning_review_template(dest: Path) -> None:
    """Write the checklist template (with the shipped sections, findings empty) to dest."""
    new_checklist(_shipped_sections()).save(dest)


def _value(cell, v) -> None:
    if isinstance(v, datetime):
        if v.tzinfo is not None:
            v = v.astimezone(LONDON)
        cell.value, cell.number_format = v.replace(tzinfo=None), DT
    elif isinstance(v, date):
        cell.value, cell.number_format = v, D
    else:
        put(cell, v)


def fill_checklist(data: ReviewData, template: Path | None = None):
    """A filled checklist workbook (in memory) from the template and the review's data."""
    path = Path(template or workbook_templates_dir() / TEMPLATE)
    try:
        wb = openpyxl.load_workbook(path)
    except (OSError, KeyError, ValueError) as exc:
        raise TemplateError(f"The checklist template {path} cannot be read ({exc}) — restore it from the product "
                            "(python -m automation.workbook.templates rebuilds it).")
    _fill_review(wb["Review"], data)
    _fill_timeline(wb["Timeline"], data)
    _fill_sections(wb, data.sections)
    _fill_emails(wb["Email log"], data)
    wb.properties.title = f"Ofsted Learning Review — {data.school_name} ({data.inspection.inspection_id})"
    wb.properties.identifier = data_key(data)
    return wb


def _fill_review(ws, data: ReviewData, reviewers=None) -> None:
    r = DETAILS_ROW
    for label, value in data.details:
        put_at(ws, r, 1, label).font = LABEL
        _value(ws.cell(r, 2), value)
        ws.cell(r, 2).alignment = Alignment(horizontal="left")
        r += 1
    r += 1
    put_at(ws, r, 1, "The outcome").font = Font(bold=True, size=12, color=BLUE)
    r += 1
    for label, value in data.outcome:
        put_at(ws, r, 1, label).font = LABEL
        put_at(ws, r, 2, value)
        r += 1
    r += 1
    put_at(ws, r, 1, "Promises missed").font = LABEL
    missed = data.misses
    cell = put_at(ws, r, 2, f"{len(missed)} — see the Timeline sheet" if missed else "None recorded")
    if missed:
        cell.fill, cell.font = MISSED_FILL, LABEL
    put_at(ws, r + 1, 1, "Prepared").font = LABEL
    _value(ws.cell(r + 1, 2), data.prepared_at)
    ws.cell(r + 1, 2).alignment = Alignment(horizontal="left")
    put_at(ws, r + 2, 1, REVIEWERS).font = LABEL
    ws.cell(r + 2, 2).border = BOX
    if reviewers is not None:
        put(ws.cell(r + 2, 2), reviewers)


def _fill_timeline(ws, data: ReviewData) -> None:
    for i, e in enumerate(data.timeline, start=4):
        for c, v in enumerate((e.what, e.promised, e.actual, e.state, e.who, e.note), start=1):
            cell = ws.cell(i, c)
            _value(cell, v if v not in (None, "") else None)
            cell.alignment, cell.border = WRAP, BOX
            if e.state == MISSED:
                cell.fill = MISSED_FILL
            elif e.state == NOT_RECORDED:
                cell.fill = UNKNOWN_FILL
        if e.state == MISSED:
            ws.cell(i, 4).font = Font(bold=True, color="9C0006")
        ws.row_dimensions[i].height = 15 * max(1, 1 + max(len(e.what) // 44, len(e.note) // 42, len(e.who) // 26))


def _fill_sections(wb, sections) -> None:
    ws = wb["Checklist"]
    for rng in list(ws.merged_cells.ranges):
        ws.unmerge_cells(str(rng))
    ws.delete_rows(3, ws.max_row)
    ws.row_breaks = RowBreak()
    lay_out_sections(ws, list(sections))


def _fill_emails(ws, data: ReviewData) -> None:
    for i, rec in enumerate(data.emails, start=4):
        values = (rec.updated_at, rec.purpose, rec.version,
                  ", ".join(rec.recipients), rec.subject, rec.state)
        for c, v in enumerate(values, start=1):
            cell = ws.cell(i, c)
            _value(cell, v)
            cell.alignment, cell.border = WRAP, BOX
    if not data.emails:
        put_at(ws, 4, 1, "No emails about this inspection are in the journal.")


def data_key(data: ReviewData) -> str:
    """A digest of what the tool fills in (not the time it was prepared), to refresh only on a change."""
    emails = [(r.key, r.purpose, r.version, r.state, r.updated_at) for r in data.emails]
    text = repr((data.details, data.timeline, data.outcome, emails))
    return "ofsted-tracker-review:" + hashlib.sha256(text.encode()).hexdigest()[:32]


def refresh_checklist(data: ReviewData, path: Path) -> bool:
    """Bring an existing checklist's Review, Timeline and Email log sheets up to date, keeping the
    Checklist sheet (the reviewers' findings and actions) and the Reviewers cell as they are.
    False when nothing changed, or the file is open in Excel (its lock file is beside it)."""
    if (path.parent / f"~${path.name}").exists():
        return False  # being edited: never write under the reviewer; the next run tries again
    try:
        wb = openpyxl.load_workbook(path)
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise TemplateError(f"The learning-review checklist {path} cannot be read ({exc}) — if it is damaged, "
                            "move it out of the folder and make it again (ofsted-tracker review ... --replace).")
    if wb.properties.identifier == data_key(data) or not {"Review", "Timeline", "Email log"} <= set(wb.sheetnames):
        return False
    ws = wb["Review"]
    reviewers = next((ws.cell(r, 2).value for r in range(DETAILS_ROW, ws.max_row + 1)
                      if ws.cell(r, 1).value == REVIEWERS), None)
    for sheet, first in ((ws, DETAILS_ROW), (wb["Timeline"], 4), (wb["Email log"], 4)):
        _clear_from(sheet, first)
    _fill_review(ws, data, reviewers)
    _fill_timeline(wb["Timeline"], data)
    _fill_emails(wb["Email log"], data)
    wb.properties.identifier = data_key(data)
    tmp = path.with_name(f".~{path.name}")
    wb.save(tmp)
    tmp.replace(path)
    return True


def _clear_from(ws, first: int) -> None:
    ws.delete_rows(first, max(ws.max_row - first + 1, 0))
    for r in [r for r in ws.row_dimensions if r >= first]:
        del ws.row_dimensions[r]


def write_checklist(data: ReviewData, folder: Path, overwrite: bool = False) -> tuple[Path, bool]:
    """Save the checklist in folder; never replaces an existing one unless asked. (path, written)."""
    found = existing_checklist(folder, data.inspection.inspection_id)
    if found and not overwrite:
        return found, False
    dest = found or file_in(folder, checklist_name(data.inspection.inspection_id, data.school_name))
    folder.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".~{dest.name}")
    fill_checklist(data).save(tmp)
    tmp.replace(dest)
    return dest, True
