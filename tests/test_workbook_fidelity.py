"""Trackers as people really keep them, through the real console script: near-miss and
duplicate headers, invisible characters, the 1904 date system, a title above the table,
a totals row, a note below, a missing styles part, a renamed sheet."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from datetime import datetime
from pathlib import Path

import openpyxl
from openpyxl.utils.datetime import CALENDAR_MAC_1904
from openpyxl.worksheet.table import Table

from automation.workbook import schema
from conftest import inspection, write_tracker
from test_workbook_safety import assert_refused, part, rewrite

CLI = [sys.executable, "-m", "automation.cli"]
NOW = "2026-11-16T13:05"
SENT_AT = datetime(2026, 11, 16, 13, 5)


def cli(cwd: Path, *args) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=120)


def run(path: Path) -> subprocess.CompletedProcess:
    res = cli(path.parent, "run", path, "--now", NOW)
    assert res.returncode in (0, 1) and "Traceback" not in res.stderr, res.stderr
    return res


def col(ws, header: str, row: int = 1) -> int:
    return next(c.column for c in ws[row] if c.value == header)


def test_headers_as_typed_near_miss_invisible_duplicate_and_missing_optional(tmp_path):
    path = write_tracker(tmp_path / "tracker.xlsx", inspections=[inspection(**{"Concerns raised": "Maybe"})])
    wb = openpyxl.load_workbook(path)
    ws = wb["Inspections"]
    ws.cell(1, col(ws, "Concerns raised")).value = "Concerns raised?"
    ws.cell(1, col(ws, "URN")).value = "\u200bURN\u00a0"  # pasted from a web page
    ws.cell(1, ws.max_column + 1).value = "Lead inspector"
    wb["Schools"].delete_cols(col(wb["Schools"], "District"))
    wb.save(path)
    res = cli(tmp_path, "validate", path)
    out = res.stdout
    assert "Traceback" not in res.stderr and res.returncode == 1
    near = [l for l in out.splitlines() if l.startswith("WARNING") and "'Concerns raised?'" in l]
    assert len(near) == 1 and "'Concerns raised'" in near[0]
    # the near-miss column is read: its bad value is reported under the contract header
    assert re.search(r"(ERROR|WARNING): sheet 'Inspections', row 2, column 'Concerns raised' \(value: 'Maybe'\)", out)
    # the URN with invisible characters matched exactly: no missing-column error, the row is read
    assert "the column 'URN' is missing" not in out and "1 inspections read" in out
    dup = [l for l in out.splitlines() if "two columns are headed 'Lead inspector'" in l]
    assert len(dup) == 1 and dup[0].startswith("ERROR")
    letters = re.search(r"\(([A-Z]+) and ([A-Z]+)\)", dup[0]).groups()
    assert letters[0] != letters[1]
    district = [l for l in out.splitlines() if "'District'" in l]
    assert len(district) == 1 and district[0].startswith("INFO") and "oversight" in district[0] and "does without it" in district[0]
    assert "\\x" not in out and "\\u" not in out


def test_problem_text_shows_the_characters_not_escapes(tmp_path):
    schools = [dict(s) for s in __import__("conftest").SCHOOLS]
    schools[1]["URN"] = "10000\u00a02"
    path = write_tracker(tmp_path / "tracker.xlsx", schools=schools)
    out = cli(tmp_path, "validate", path).stdout
    line = next(l for l in out.splitlines() if "'Schools', row 3, column 'URN'" in l)
    assert "10000[non-breaking space]2" in line and "\\xa0" not in line


def test_the_1904_date_system_is_honoured_and_a_second_run_writes_nothing(tmp_path):
    path = write_tracker(tmp_path / "tracker.xlsx", inspections=[inspection()])
    wb = openpyxl.load_workbook(path)
    wb.epoch = CALENDAR_MAC_1904
    wb.save(path)
    assert b'date1904="1"' in part(path, "xl/workbook.xml")
    run(path)
    wb = openpyxl.load_workbook(path)
    assert wb.epoch == CALENDAR_MAC_1904
    log = wb["Email log"]
    sent = [log.cell(r, col(log, "When")).value for r in range(2, log.max_row + 1) if log.cell(r, 1).value is not None]
    assert sent and all(v == SENT_AT for v in sent)  # not four years and a day late
    ins = wb["Inspections"]
    assert ins.cell(2, col(ins, "Start date")).value == datetime(2026, 11, 17)
    before = path.read_bytes()
    res = run(path)
    assert "already up to date" in res.stdout
    assert path.read_bytes() == before


def _email_log_below_a_title(path: Path, totals: bool, note_row: int = 40) -> Path:
    """Email log with a title in A1, headers in row 3, an Excel table (with a totals row), a note further down."""
    wb = openpyxl.load_workbook(path)
    ws = wb["Email log"]
    headers = schema.EMAIL_LOG.headers()
    ws.delete_rows(1)
    ws["A1"] = "Email log — kept by the tool"
    for i, h in enumerate(headers, 1):
        ws.cell(3, i, h)
    last = openpyxl.utils.get_column_letter(len(headers))
    end = 3
    if totals:
        ws["A4"], ws["B4"] = "Total", "=SUBTOTAL(103,B3:B3)"
        end = 4
    table = Table(displayName="EmailLog", ref=f"A3:{last}{end}")
    table.totalsRowCount = 1 if totals else None
    ws.add_table(table)
    ws.cell(note_row, 1, NOTE)
    wb.save(path)
    return path


NOTE = "Note: the log is archived every September."


def _table_ref(path: Path) -> tuple[str, str]:
    with zipfile.ZipFile(path) as z:
        name = next(n for n in z.namelist() if n.startswith("xl/tables/"))
        xml = z.read(name).decode()
    return re.search(r'\bref="([^"]+)"', xml).group(1), xml


def _logged_rows(ws) -> list[int]:
    return [r for r in range(1, ws.max_row + 1) if isinstance(ws.cell(r, 1).value, datetime)]


def test_title_totals_row_and_note_survive_rows_being_added(tmp_path):
    path = _email_log_below_a_title(write_tracker(tmp_path / "tracker.xlsx", inspections=[inspection()]), totals=True)
    run(path)
    ws = openpyxl.load_workbook(path)["Email log"]
    assert ws["A1"].value == "Email log — kept by the tool"
    assert [c.value for c in ws[3]][:3] == schema.EMAIL_LOG.headers()[:3]
    logged = _logged_rows(ws)
    assert logged and logged == list(range(4, 4 + len(logged)))  # right below the header, no gaps
    end = logged[-1] + 1
    assert ws.cell(end, 1).value == "Total" and ws.cell(end, 2).value.startswith("=SUBTOTAL")  # totals row kept last
    assert ws["A40"].value == NOTE
    assert all(ws.cell(r, 1).value is None for r in range(end + 1, 40))
    ref, xml = _table_ref(path)
    assert ref.startswith("A3:") and ref.endswith(str(end)) and 'totalsRowCount="1"' in xml


def test_a_table_grows_only_over_the_rows_added_not_over_a_note_below(tmp_path):
    path = _email_log_below_a_title(write_tracker(tmp_path / "tracker.xlsx", inspections=[inspection()]), totals=False)
    run(path)
    ws = openpyxl.load_workbook(path)["Email log"]
    logged = _logged_rows(ws)
    assert logged == list(range(4, 4 + len(logged))) and ws["A40"].value == NOTE and ws["A1"].value.startswith("Email log")
    assert _table_ref(path)[0].endswith(str(logged[-1]))  # the note in row 40 is not swallowed
    # a note right where the new rows must go: never written over; the tracker waits, the officer is told
    crowded = _email_log_below_a_title(write_tracker(tmp_path / "crowded.xlsx", inspections=[inspection()]),
                                       totals=False, note_row=5)
    res = run(crowded)
    assert res.returncode == 1 and "row 5" in res.stdout + res.stderr
    ws = openpyxl.load_workbook(crowded)["Email log"]
    assert ws["A5"].value == NOTE and not _logged_rows(ws)


def test_a_tool_column_added_lands_right_of_the_users_own_columns(tmp_path):
    path = write_tracker(tmp_path / "tracker.xlsx", inspections=[inspection()])
    wb = openpyxl.load_workbook(path)
    ws = wb["Inspections"]
    ws.delete_cols(col(ws, "Status"))
    ws.cell(1, ws.max_column + 1, "My own notes")
    mine = ws.max_column
    ws.cell(2, mine, "call the head on Tuesday")
    ws.insert_rows(1, 2)
    ws["A1"] = "Inspections 2026-27"
    wb.save(path)
    run(path)
    ws = openpyxl.load_workbook(path)["Inspections"]
    assert ws["A1"].value == "Inspections 2026-27" and ws["A2"].value is None
    assert ws.cell(3, mine).value == "My own notes" and ws.cell(4, mine).value == "call the head on Tuesday"
    assert ws.cell(3, mine + 1).value == "Status" and ws.cell(4, mine + 1).value


def test_no_styles_part_is_no_obstacle(tmp_path):
    path = write_tracker(tmp_path / "tracker.xlsx", inspections=[inspection()])
    ct = re.sub(rb'<Override PartName="/xl/styles.xml"[^>]*/>', b"", part(path, "[Content_Types].xml"))
    rels = re.sub(rb'<Relationship[^>]*styles.xml"/>', b"", part(path, "xl/_rels/workbook.xml.rels"))
    rewrite(path, {"xl/styles.xml": None, "[Content_Types].xml": ct, "xl/_rels/workbook.xml.rels": rels})
    run(path)
    log = openpyxl.load_workbook(path)["Email log"]
    assert log["A2"].value == SENT_AT and "yy" in log["A2"].number_format
    assert b"styles.xml" in part(path, "[Content_Types].xml")


def test_a_renamed_inspections_sheet_is_one_line_naming_the_nearest(tmp_path):
    path = write_tracker(tmp_path / "tracker.xlsx", inspections=[inspection()])
    wb = openpyxl.load_workbook(path)
    wb["Inspections"].title = "Inspection list"
    wb.save(path)
    before = path.read_bytes()
    for command in (["validate", path], ["run", path, "--now", NOW]):
        assert_refused(cli(tmp_path, *command), "'Inspections'", "'Inspection list'")
    assert path.read_bytes() == before
