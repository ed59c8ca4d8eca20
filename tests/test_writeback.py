"""The tool writes only its own cells: users' columns, formatting, comments, filters,
charts and every other part of the package survive a run; a locked tracker loses nothing."""

from __future__ import annotations

import os
import zipfile
from datetime import datetime

import openpyxl
import pytest
from openpyxl.chart import BarChart, Reference
from openpyxl.comments import Comment
from openpyxl.styles import Font, PatternFill

from automation.calendar import LONDON
from automation.errors import WorkbookLocked
from automation.mail.transport import MemoryTransport
from automation.run import run
from automation.workbook.writer import SheetEdit, apply_edits
from tests.conftest import inspection, write_tracker

NOW = datetime(2026, 11, 16, 13, 0, tzinfo=LONDON)


def decorated_tracker(tmp_path):
    """A tracker a real user has made their own: extra column, colours, comment, filter, chart."""
    path = write_tracker(tmp_path / "tracker.xlsx", inspections=[inspection(), inspection(urn="100002")],
                         extra_sheets={"My figures": [["Term", "Count"], ["Autumn", 3], ["Spring", 5]]})
    wb = openpyxl.load_workbook(path)
    ws = wb["Inspections"]
    col = ws.max_column + 1
    ws.cell(1, col, "My own notes").font = Font(bold=True, color="FF0000")
    ws.cell(2, col, "Phoned the head at 3pm")
    ws.cell(2, col).fill = PatternFill("solid", fgColor="FFFF00")
    ws.cell(3, 3).comment = Comment("Check this URN with the DfE", "Admin")
    ws.auto_filter.ref = f"A1:{ws.cell(3, col).coordinate}"
    figures = wb["My figures"]
    chart = BarChart()
    chart.add_data(Reference(figures, min_col=2, min_row=1, max_row=3), titles_from_data=True)
    figures.add_chart(chart, "D2")
    wb.save(path)
    return path, col


def parts(path):
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


def test_user_column_formatting_comment_filter_and_chart_survive_a_run(tmp_path, cfg):
    path, col = decorated_tracker(tmp_path)
    before = parts(path)
    result = run(path, cfg, NOW, transport=MemoryTransport())
    assert result.saved and result.cells_written > 0
    after = parts(path)
    # Every part but the edited sheets is byte-for-byte the same (charts, drawings, other sheets).
    changed = {n for n in before if before[n] != after.get(n)}
    # Inspections (3), Email log (5) and Problems (6) are the tool's to write; styles may gain a date format.
    assert changed <= {"xl/worksheets/sheet3.xml", "xl/worksheets/sheet5.xml", "xl/worksheets/sheet6.xml",
                       "xl/styles.xml"}, changed
    assert any(n.startswith("xl/charts/chart") for n in after)
    wb = openpyxl.load_workbook(path)
    ws = wb["Inspections"]
    assert ws.cell(1, col).value == "My own notes" and ws.cell(1, col).font.bold
    assert ws.cell(1, col).font.color.rgb == "00FF0000"
    assert ws.cell(2, col).value == "Phoned the head at 3pm"
    assert ws.cell(2, col).fill.fgColor.rgb == "00FFFF00"
    assert ws.cell(3, 3).comment.text == "Check this URN with the DfE"
    assert ws.auto_filter.ref.startswith("A1:")
    assert len(wb["My figures"]._charts) == 1
    # And the tool's own cells are written.
    headers = [c.value for c in ws[1]]
    assert ws.cell(2, headers.index("Inspection ID") + 1).value == "OFS-100001-20261116"
    assert ws.cell(2, headers.index("Status") + 1).value == "Plan sent"


def test_second_run_writes_nothing(tmp_path, cfg):
    path, _ = decorated_tracker(tmp_path)
    run(path, cfg, NOW, transport=MemoryTransport())
    before = parts(path)
    second = run(path, cfg, NOW, transport=MemoryTransport())
    assert second.saved and second.cells_written == 0
    assert parts(path) == before


def test_problems_sheet_lists_problems_and_status_says_so(tmp_path, cfg):
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection(urn="999999")])
    run(path, cfg, NOW, transport=MemoryTransport())
    wb = openpyxl.load_workbook(path)
    rows = list(wb["Problems"].iter_rows(min_row=2, values_only=True))
    assert rows and rows[0][1:6] == ("error", "Inspections", 2, "URN", "999999")
    ins = wb["Inspections"]
    status_col = [c.value for c in ins[1]].index("Status") + 1
    assert ins.cell(2, status_col).value.startswith("Problem: URN")


def test_problems_sheet_is_added_to_an_older_tracker(tmp_path, cfg):
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection(urn="12")])
    wb = openpyxl.load_workbook(path)
    del wb["Problems"]
    wb.save(path)
    run(path, cfg, NOW, transport=MemoryTransport())
    wb = openpyxl.load_workbook(path)
    assert [c.value for c in wb["Problems"][1]][:3] == ["Found at", "Severity", "Sheet"]
    assert wb["Problems"].cell(2, 4).value == 2


def test_locked_workbook_keeps_pending_writeback_for_next_run(tmp_path, cfg):
    path, _ = decorated_tracker(tmp_path)
    lock = path.with_name("~$" + path.name)
    lock.write_bytes(bytes([8]) + b"Jo Admin" + b"\0" * 40)
    before = parts(path)
    result = run(path, cfg, NOW, transport=MemoryTransport())
    assert not result.saved and "open in Excel by Jo Admin" in result.save_note
    assert "next run" in result.save_note
    assert parts(path) == before
    lock.unlink()
    again = run(path, cfg, NOW, transport=MemoryTransport())
    assert again.saved and again.cells_written > 0


def test_workbook_changed_during_run_is_not_overwritten(tmp_path):
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection()])
    with pytest.raises(WorkbookLocked, match="saved by someone else"):
        apply_edits(path, [SheetEdit("Inspections", {(2, 1): "X"})], expected_digest="not-the-same")
    assert openpyxl.load_workbook(path)["Inspections"].cell(2, 1).value is None


def test_failed_replace_leaves_original_intact_and_no_temp_files(tmp_path, monkeypatch):
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection()])
    before = path.read_bytes()

    def boom(src, dst):
        raise PermissionError("in use")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(WorkbookLocked):
        apply_edits(path, [SheetEdit("Inspections", {(2, 1): "X"})])
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.xlsx"]


def test_dates_get_a_date_format_and_tables_grow(tmp_path):
    path = write_tracker(tmp_path / "t.xlsx")
    wb = openpyxl.load_workbook(path)
    from openpyxl.worksheet.table import Table
    wb["Email log"].add_table(Table(displayName="EmailLogTable", ref="A1:H2"))
    wb.save(path)
    when = datetime(2026, 11, 16, 13, 5)
    apply_edits(path, [SheetEdit("Email log", {(r, 1): when for r in (2, 3, 4)} | {(4, 2): "OFS-1"})])
    wb = openpyxl.load_workbook(path)
    ws = wb["Email log"]
    assert ws.cell(4, 1).value == when and ws.cell(4, 1).number_format == "dd/mm/yyyy hh:mm"
    assert ws.tables["EmailLogTable"].ref == "A1:H4"


def test_preformatted_empty_rows_do_not_stretch_a_table(tmp_path):
    from openpyxl.worksheet.table import Table
    path = write_tracker(tmp_path / "t.xlsx")
    wb = openpyxl.load_workbook(path)
    ws = wb["Email log"]
    ws.add_table(Table(displayName="EmailLogTable", ref="A1:H2"))
    for r in range(2, 400):  # a template that pre-formats rows, as admin templates do
        ws.cell(r, 1).number_format = "dd/mm/yyyy hh:mm"
    wb.save(path)
    apply_edits(path, [SheetEdit("Email log", {(2, 1): datetime(2026, 11, 16, 13, 5), (3, 1): datetime(2026, 11, 16, 13, 6)})])
    assert openpyxl.load_workbook(path)["Email log"].tables["EmailLogTable"].ref == "A1:H3"
