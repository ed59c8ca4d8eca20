"""Build the tracker template from the contract (schema.py) and the rules data: Excel
tables, frozen headers, dropdowns fed by the Lists sheet, UK date formats, input hints.
openpyxl is fine here: the template is the tool's own new file, never a user's tracker."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.table import Table, TableStyleInfo

from automation.rules import Rules, load_rules
from automation.workbook import schema

# How far down the dropdowns and formats reach: room for years of inspections.
VALIDATED_ROWS = 5000
FIXED_CREATED = datetime(2026, 1, 1)
HEADER_FILL = PatternFill("solid", fgColor="1F4E79")  # typed by admin staff
TOOL_FILL = PatternFill("solid", fgColor="7F7F7F")  # written by the tool: grey
HEADER_FONT = Font(bold=True, color="FFFFFF")
FORMATS = {"date": "dd/mm/yyyy", "datetime": "dd/mm/yyyy hh:mm"}
SHEET_ORDER = ("Inspections", "Schools", "Staff", "Follow-ups", "Email log", "Problems",
               "Holidays", "Support offers")

GUIDE = [
    ("Ofsted inspection tracker", "title"),
    ("Record every Ofsted inspection of our schools here. The ofsted-tracker tool reads this workbook "
     "on a schedule, sends the contact plans, escalates concerns, compiles follow-ups and keeps the "
     "Status column up to date.", ""),
    ("How to record a new inspection", "heading"),
    ("1. On the Inspections sheet, add a row: URN, Inspection type, Notified at (dd/mm/yyyy hh:mm) "
     "and Start date (dd/mm/yyyy).", ""),
    ("2. Save. On its next run the tool gives the row an Inspection ID and emails the SIM, the AI "
     "and the school. The grey columns are the tool's: please leave them to it.", ""),
    ("3. Keep the row up to date: Deferral, Concerns raised (and Concern notes), Final feedback at, "
     "the outcomes, Report published.", ""),
    ("4. Academies and other non-maintained schools: the LA acknowledges the inspection and offers support. "
     "Set LA support accepted to Yes when the school accepts: the daily calls, feedback attendance and the "
     "feedback form then apply as for a maintained school.", ""),
    ("5. Renewed framework: record the school's Nominee and the Planning call at time once known.", ""),
    ("The sheets", "heading"),
    ("Inspections — one row per inspection.", ""),
    ("Schools — one row per school, with its SIM and AI. Context notes are INTERNAL: never sent to a school.", ""),
    ("Staff — one row per LA officer; the names fill the SIM, AI and Owner dropdowns.", ""),
    ("Follow-ups — compiled by the tool; type Done (a date or Yes) and your Notes: the tool keeps them.", ""),
    ("Email log — every message the tool sent, when, to whom and the result.", ""),
    ("Problems — what the tool found wrong, by sheet, row and column, and what to do.", ""),
    ("Holidays — the LA's school holidays (bank holidays are known already). School days skip them: "
     "inspection days, keep-in-touch calls and check-ins with the school; Ofsted's deadlines stay working days.", ""),
    ("Support offers — the wellbeing support named in emails to schools; set Include to No to leave one out.", ""),
    ("Lists — the dropdown lists (edit the rules files, not this sheet).", ""),
    ("Good to know", "heading"),
    ("You may add your own columns, colours, filters, comments and charts: the tool finds columns by "
     "their header and writes only its own cells.", ""),
    ("Dates are read the UK way (16/11/2026 12:05). A Notified at without a time is taken as 12:00.", ""),
    ("Nothing from Context notes or Concern notes is ever sent to a school.", ""),
]


def _lists(rules: Rules) -> dict[str, tuple[str, ...]]:
    """Every dropdown list, by the name its defined range gets."""
    # From the contract, in its order: a new choice column brings its list with it.
    keys = [c.choices if c.kind == "choice" else "yes_no"
            for spec in schema.ALL for c in spec.columns if c.kind in ("choice", "yesno")]
    out = {k: rules.choices(k) for k in dict.fromkeys(keys)}
    for fw in rules.frameworks.values():
        out[f"grade_{fw.key}"] = fw.scale
    # Columns shared by both frameworks (Early years, Sixth form) offer either scale.
    out["grade_any"] = tuple(g for fw in rules.frameworks.values() for g in fw.scale)
    return out


def _guide(wb: Workbook) -> None:
    ws = wb.create_sheet("Guide")
    ws.column_dimensions["A"].width = 100
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToHeight = 0
    for i, (text, kind) in enumerate(GUIDE, start=1):
        cell = ws.cell(i, 1, text)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        # Row heights are not re-measured on opening by every program: set them from the text.
        ws.row_dimensions[i].height = 24 if kind else 15 * (1 + len(text) // 95) + 3
        if kind == "title":
            cell.font = Font(bold=True, size=16, color="1F4E79")
        elif kind == "heading":
            cell.font = Font(bold=True, size=12, color="1F4E79")


def _list_sheet(wb: Workbook, lists: dict[str, tuple[str, ...]]) -> None:
    ws = wb.create_sheet("Lists")
    for col, (name, values) in enumerate(lists.items(), start=1):
        letter = get_column_letter(col)
        ws.cell(1, col, name).font = Font(bold=True)
        for row, v in enumerate(values, start=2):
            ws.cell(row + 0, col, v)
        ws.column_dimensions[letter].width = max(14, max(len(v) for v in values) + 2)
        ref = f"{quote_sheetname('Lists')}!${letter}$2:${letter}${len(values) + 1}"
        wb.defined_names[f"List_{name}"] = DefinedName(f"List_{name}", attr_text=ref)
    ws.freeze_panes = "A2"


def _validation(col: schema.Column) -> DataValidation | None:
    """The dropdown or check for a column, with its hint as the input message."""
    if col.kind == "choice":
        dv = DataValidation(type="list", formula1=f"=List_{col.choices}", allow_blank=True)
    elif col.kind == "yesno":
        dv = DataValidation(type="list", formula1="=List_yes_no", allow_blank=True)
    elif col.kind == "grade":
        dv = DataValidation(type="list", formula1=f"=List_grade_{col.framework}", allow_blank=True)
    elif col.kind == "staff":
        dv = DataValidation(type="list", formula1="=StaffNames", allow_blank=True)
    elif col.kind in FORMATS:
        dv = DataValidation(type="date", operator="greaterThan", formula1="36526", allow_blank=True)
        dv.error = f"Type a date like {'16/11/2026 12:05' if col.kind == 'datetime' else '16/11/2026'}."
    elif col.hint:
        dv = DataValidation(type="custom", formula1="TRUE", allow_blank=True)  # hint only
    else:
        return None
    # A warning, not a stop: the tool's own check (Problems sheet) is the authority, and
    # 2024 grades may be typed as a number ("2") as well as picked ("2 Good").
    dv.errorStyle = "warning"
    dv.showErrorMessage = col.kind != "long"
    if col.hint:
        dv.promptTitle = col.header[:32]
        dv.prompt = col.hint[:255]
        dv.showInputMessage = True
    return dv


def _data_sheet(wb: Workbook, spec: schema.Sheet) -> None:
    ws = wb.create_sheet(spec.name)
    for i, col in enumerate(spec.columns, start=1):
        letter = get_column_letter(i)
        cell = ws.cell(1, i, col.header)
        cell.font = HEADER_FONT
        cell.fill = TOOL_FILL if (col.tool or spec.tool) else HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        dim = ws.column_dimensions[letter]
        dim.width = col.width
        if col.kind in FORMATS:
            dim.number_format = FORMATS[col.kind]
        elif col.kind == "long":
            dim.alignment = Alignment(wrap_text=True, vertical="top")
        elif col.kind == "urn":
            dim.number_format = "@"  # keep leading zeros and stop 1.0E+5 displays
        dv = _validation(col)
        if dv is not None:
            dv.add(f"{letter}2:{letter}{VALIDATED_ROWS}")
            ws.add_data_validation(dv)
    ws.row_dimensions[1].height = 32
    # Printed or saved as PDF: landscape, every column on one page width.
    ws.page_setup.orientation = "landscape"
    if len(spec.columns) <= 12:
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.page_setup.fitToHeight = 0
    ws.print_title_rows = "1:1"
    ws.freeze_panes = "B2" if spec.name in ("Inspections", "Schools") else "A2"
    last = get_column_letter(len(spec.columns))
    table = Table(displayName=spec.table, ref=f"A1:{last}2")
    table.tableStyleInfo = TableStyleInfo(name="TableStyleLight9", showRowStripes=True)
    ws.add_table(table)


def _support_rows(wb: Workbook, rules: Rules) -> None:
    ws = wb["Support offers"]
    for r, o in enumerate(rules.support_offers, start=2):
        for c, v in enumerate((o["name"], o.get("provider"), o.get("detail"), o.get("contact"), "Yes"), start=1):
            ws.cell(r, c, v).alignment = Alignment(wrap_text=True, vertical="top")
    last = get_column_letter(len(schema.SUPPORT.columns))
    ws.tables[schema.SUPPORT.table].ref = f"A1:{last}{max(2, len(rules.support_offers) + 1)}"


def new_tracker(rules: Rules | None = None) -> Workbook:
    """A fresh tracker workbook (in memory) from the contract and the rules."""
    rules = rules or load_rules()
    wb = Workbook()
    wb.remove(wb.active)
    _guide(wb)
    for name in SHEET_ORDER:
        _data_sheet(wb, schema.BY_NAME[name])
    _list_sheet(wb, _lists(rules))
    wb.defined_names["StaffNames"] = DefinedName("StaffNames", attr_text="Staff!$A$2:$A$1000")
    _support_rows(wb, rules)
    wb.properties.creator = "ofsted-tracker"
    wb.properties.title = "Ofsted inspection tracker"
    wb.properties.created = wb.properties.modified = FIXED_CREATED
    return wb


def build_tracker_template(dest: Path) -> None:
    """Write the empty tracker template to dest."""
    new_tracker().save(dest)
