"""The calamine reader gives exactly what openpyxl reads: formulas as Formula, error cells as
their text, whole numbers as int, dates as datetimes (1904 workbooks too), blanks dropped."""

from __future__ import annotations

from datetime import datetime, time

import openpyxl
import pytest
from openpyxl.utils.datetime import CALENDAR_MAC_1904

from automation.validate import build_tracker
from automation.workbook import schema
from automation.workbook.raw import Formula
from automation.workbook.reader import read_workbook
from tests.conftest import inspection, write_tracker


def openpyxl_rows(path, spec):
    """(row, header -> value) as openpyxl reads them, the formula cells as Formula."""
    ws = openpyxl.load_workbook(path, read_only=True)[spec.name]
    rows = list(ws.iter_rows())
    head = {c.value: i for i, c in enumerate(rows[0]) if c.value in spec.headers()}
    out = {}
    for n, row in enumerate(rows[1:], start=2):
        cells = {}
        for h, i in head.items():
            v = row[i].value if i < len(row) else None
            if getattr(row[i], "data_type", None) == "f":
                v = Formula(str(v))
            if v is not None and not (isinstance(v, str) and not v.strip()):
                cells[h] = v
        out[n] = cells
    return out


@pytest.mark.parametrize("epoch", ["1900", "1904"])
def test_values_match_openpyxl_cell_for_cell(tmp_path, epoch):
    path = write_tracker(tmp_path / "t.xlsx", inspections=[
        inspection(), inspection(urn="100002", notified=datetime(2026, 11, 18, 9, 30), start=datetime(2026, 11, 19),
                                 **{"Lead inspector": "  ", "Concerns raised": "No"})])
    wb = openpyxl.load_workbook(path)
    if epoch == "1904":
        wb.epoch = CALENDAR_MAC_1904
    ws = wb["Inspections"]
    head = [c.value for c in ws[1]]
    ws.cell(4, head.index("URN") + 1, "=Schools!A2")  # a formula
    ws.cell(4, head.index("Lead inspector") + 1).value = "#N/A"
    ws.cell(4, head.index("Lead inspector") + 1).data_type = "e"  # an error cell
    ws.cell(4, head.index("Notified at") + 1, datetime(2026, 11, 20, 11, 0))
    ws.cell(4, head.index("Start date") + 1, 46346.0)  # a whole number stored as a float
    ws.cell(5, head.index("Planning call at") + 1, time(14, 30))
    wb.save(path)

    raw = read_workbook(path)
    assert raw.sheets["Inspections"].header_row == 1
    for spec in (schema.INSPECTIONS, schema.SCHOOLS, schema.STAFF):
        ours = dict(raw.sheets[spec.name].rows)
        theirs = openpyxl_rows(path, spec)
        for n, cells in theirs.items():
            assert ours.get(n, {}) == cells, (spec.name, n)
            assert {h: type(v) for h, v in ours.get(n, {}).items()} == {h: type(v) for h, v in cells.items()}
    row4 = dict(raw.sheets["Inspections"].rows)[4]
    assert isinstance(row4["URN"], Formula) and row4["URN"].text == "=Schools!A2"
    assert row4["Lead inspector"] == "#N/A" and row4["Notified at"] == datetime(2026, 11, 20, 11, 0)


def test_a_formula_is_still_reported_where_it_is(tmp_path, rules):
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection()])
    wb = openpyxl.load_workbook(path)
    ws = wb["Inspections"]
    col = [c.value for c in ws[1]].index("URN") + 1
    ws.cell(2, col, '="100001"')
    wb.save(path)
    problems = [p for p in build_tracker(read_workbook(path), rules).problems if p.column == "URN"]
    assert len(problems) == 1 and problems[0].row == 2 and "formula" in problems[0].message
    assert problems[0].value == '="100001"'


def test_header_below_a_title_beside_a_blank_column_and_merged_cells(tmp_path):
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection()])
    wb = openpyxl.load_workbook(path)
    ws = wb["Inspections"]
    ws.insert_rows(1, 2)
    ws.insert_cols(1)  # column A left blank: calamine's range starts at B, the numbers must not
    ws["B1"] = "Ofsted inspections — Example County"
    ws.merge_cells("A1:D1")
    ws.merge_cells("F4:G4")
    wb.save(path)
    sheet = read_workbook(path).sheets["Inspections"]
    assert sheet.header_row == 3 and [n for n, c in sheet.rows if c] == [4]
    head = [c.value for c in openpyxl.load_workbook(path)["Inspections"][3]]
    assert sheet.columns["URN"] == head.index("URN") + 1 and head[0] is None
    assert dict(sheet.rows)[4]["URN"] == "100001"
    assert sheet.merged == ["F4:G4"]  # below the header only (the title is not data)
