"""The edge: write a feedback form workbook with openpyxl (forms are the tool's own new files,
never the user's tracker)."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import quote_sheetname
from openpyxl.worksheet.datavalidation import DataValidation

from automation.forms.spec import SHEET, YES_NO, Field, FormSpec
from automation.plan.emails import when
from automation.safefiles import put

FIXED_CREATED = datetime(2026, 1, 1)
FORMATS = {"date": "dd/mm/yyyy", "datetime": "dd/mm/yyyy hh:mm"}
HOW_TO = ("Fill in the yellow cells (pick from the dropdown where there is one); the grey cells were filled "
          "in by the tool. When you have finished, set Form complete to Yes and save. Please keep the file "
          "name and leave hidden column A as it is: the tool reads the form by it.")
INPUT = PatternFill("solid", fgColor="FFF2CC")  # the officer types here
INFO = PatternFill("solid", fgColor="EDEDED")  # the tool filled it in
SECTION = PatternFill("solid", fgColor="1F4E79")
THIN = Side(style="thin", color="BFBFBF")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
WRAP = Alignment(wrap_text=True, vertical="top")

def write_form(path: Path, spec: FormSpec, values: dict | None = None, contacts=None, la_name: str = "") -> Path:
    """Write a form (a blank template when values is None) to path."""
    values = values or {}
    wb = Workbook()
    ws = wb.active
    ws.title = SHEET
    lists = _Lists(wb)
    _heading(ws, spec, la_name)
    row = 7
    for section in spec.sections:
        row = _section_title(ws, row, section.title)
        for f in section.fields:
            row = _field(ws, row, f, values.get(f.key), lists)
        if section.title == "The inspection":
            row = _contacts(ws, row + 1, contacts, lists)
        row += 1
    _page(ws, row)
    wb.properties.creator = "ofsted-tracker"
    wb.properties.title = f"Final feedback form: {spec.inspection_type}"
    wb.properties.created = FIXED_CREATED
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")  # a crash never leaves half a form to be kept
    wb.save(partial)
    os.replace(partial, path)
    return path


def _heading(ws, spec: FormSpec, la_name: str) -> None:
    for col, width in (("A", 4), ("B", 40), ("C", 60), ("D", 46)):
        ws.column_dimensions[col].width = width
    ws.column_dimensions["A"].hidden = True
    put(ws["A1"], spec.marker)
    put(ws["B1"], f"Final feedback form: {spec.inspection_type} inspection")
    ws["B1"].font = Font(bold=True, size=16, color="1F4E79")
    ws.row_dimensions[1].height = 24
    put(ws["B2"], spec.framework_label + (f" · {la_name}" if la_name else ""))
    ws["B2"].font = Font(italic=True, color="595959")
    put(ws["B3"], "CONFIDENTIAL: provisional outcomes, shared in confidence within the LA — "
                  "not for publication or parents until Ofsted's final report.")
    ws["B3"].font = Font(bold=True, color="C00000")
    put(ws["B4"], HOW_TO)
    ws.merge_cells("B4:D4")  # one paragraph across the page; a merge in the tool's own file is harmless
    ws["B4"].alignment = WRAP
    ws.row_dimensions[4].height = 46
    for col, text in (("B", "Field"), ("C", "Value"), ("D", "Guidance")):
        put(ws[f"{col}6"], text)
        ws[f"{col}6"].font = Font(bold=True)
        ws[f"{col}6"].border = Border(bottom=Side(style="medium", color="1F4E79"))


def _section_title(ws, row: int, title: str) -> int:
    for col in "BCD":
        ws[f"{col}{row}"].fill = SECTION
    put(ws[f"B{row}"], title)
    ws[f"B{row}"].font = Font(bold=True, color="FFFFFF", size=12)
    ws.row_dimensions[row].height = 20
    return row + 1


def _field(ws, row: int, f: Field, value, lists: "_Lists") -> int:
    put(ws[f"A{row}"], f.key)
    put(ws[f"B{row}"], f.label)
    ws[f"B{row}"].alignment = WRAP
    cell = ws[f"C{row}"]
    put(cell, value if value not in ("",) else None)
    # On a blank form the Inspection ID is the officer's to type: the tool matches the form by it.
    cell.fill = INFO if f.kind == "info" and (value is not None or f.key != "inspection_id") else INPUT
    cell.border = BOX
    cell.alignment = WRAP
    if f.kind in FORMATS:
        cell.number_format = FORMATS[f.kind]
    if f.kind == "choice":
        lists.validate(ws, cell.coordinate, f.choices)
    if f.hint:
        put(ws[f"D{row}"], f.hint)
        ws[f"D{row}"].font = Font(italic=True, color="595959", size=9)
        ws[f"D{row}"].alignment = WRAP
    ws.row_dimensions[row].height = 80 if f.kind == "long" else _height(f.label, value, f.hint)
    return row + 1


def _height(label: str, value, hint: str) -> float | None:
    # Not every program re-measures wrapped rows on opening: size them from the text.
    lines = max(-(-len(label) // 40), -(-len(str(value or "")) // 62), -(-len(hint) // 62), 1)
    return None if lines == 1 else 15 * lines + 2


def _contacts(ws, row: int, contacts, lists: "_Lists") -> int:
    row = _section_title(ws, row, "Contact points")
    if contacts is None:
        put(ws[f"B{row}"], "The emails sent and the keep-in-touch calls are listed here when the tool writes the form.")
        ws[f"B{row}"].font = Font(italic=True, color="595959")
        return row + 1
    if not contacts:
        put(ws[f"B{row}"], "No contact points recorded for this inspection.")
        return row + 1
    for i, p in enumerate(contacts, 1):
        put(ws[f"A{row}"], f"contact:{i}")
        put(ws[f"B{row}"], f"{when(p.when)} — {p.what}")
        ws[f"B{row}"].alignment = WRAP
        ws.row_dimensions[row].height = _height(ws[f"B{row}"].value, "", "")
        cell = ws[f"C{row}"]
        cell.border, cell.alignment = BOX, WRAP
        if p.confirm:
            cell.fill = INPUT
            lists.validate(ws, cell.coordinate, YES_NO)
            put(ws[f"D{row}"], "Did it happen? Yes or No.")
            ws[f"D{row}"].font = Font(italic=True, color="595959", size=9)
        else:
            put(cell, "Sent").fill = INFO
        row += 1
    return row


def _page(ws, last_row: int) -> None:
    ws.sheet_view.showGridLines = False
    ws.print_area = f"B1:D{last_row}"
    ws.page_setup.orientation = "portrait"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = "6:6"


class _Lists:
    """Dropdown lists on a hidden sheet (no 255-character limit, editable in one place)."""

    def __init__(self, wb: Workbook):
        self.ws = wb.create_sheet("Lists")
        self.ws.sheet_state = "hidden"
        self.columns: dict[tuple, str] = {}
        self.validations: dict[tuple, DataValidation] = {}
        self.sheet = wb.active

    def validate(self, ws, coordinate: str, choices: tuple[str, ...]) -> None:
        if choices not in self.validations:
            col = chr(ord("A") + len(self.columns))
            for i, c in enumerate(choices, 1):
                put(self.ws[f"{col}{i}"], c)
            self.columns[choices] = col
            dv = DataValidation(type="list", formula1=f"{quote_sheetname('Lists')}!${col}$1:${col}${len(choices)}",
                                allow_blank=True, showErrorMessage=True, errorStyle="warning",
                                errorTitle="Not on the list", error="Please pick a value from the dropdown.")
            ws.add_data_validation(dv)
            self.validations[choices] = dv
        self.validations[choices].add(coordinate)


