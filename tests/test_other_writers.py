"""Trackers the tool did not write and openpyxl did not write either: XlsxWriter-built ones
(Excel tables with totals rows, inline strings, shared formulas, the 1904 date system),
LibreOffice round trips, and Excel-authored files from XlsxWriter's own test suite. Each goes
through the real `ofsted-tracker run` and is read back with openpyxl and with LibreOffice."""

from __future__ import annotations

import re
import shutil
import subprocess
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest
from openpyxl.utils import range_boundaries
from openpyxl.utils.datetime import CALENDAR_MAC_1904

from automation.workbook import reader, schema
from conftest import inspection, write_tracker
from other_writers import (CLI, CSV_ALL_SHEETS, INSPECTIONS, NOTE, NOTE_ROW, NOW, SENT_AT, SOFFICE, USER_COLUMNS,
                           cells, graft_excel_sheet, lo_csv, lo_datetime, outside_tool, sheet_part, soffice,
                           table_problems, tables, xlsxwriter_tracker)

pytest.importorskip("xlsxwriter", reason="XlsxWriter (dev extra) builds these trackers")
needs_lo = pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) is not installed")
# Each case builds trackers with another writer (XlsxWriter, LibreOffice) and runs the console
# script on them: CI and scripts/test.sh run them; a developer's plain `pytest` leaves them out.
pytestmark = pytest.mark.slow
FIXTURES = Path(__file__).parent / "fixtures" / "excel_authored"


@dataclass
class Done:
    returncode: int
    stdout: str
    stderr: str


def run_all(jobs: dict[str, list]) -> dict[str, Done]:
    """Several console-script runs at once (each its own tracker and folder): the suite stays fast."""
    procs = {k: subprocess.Popen([*CLI, *map(str, args)], cwd=Path(args[1]).parent, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True) for k, args in jobs.items()}
    out = {}
    for k, p in procs.items():
        o, e = p.communicate(timeout=120)
        out[k] = Done(p.returncode, o, e)
    return out


def run_job(path: Path) -> list:
    return ["run", path, "--now", NOW]


# ---------------------------------------------------------------- the trackers, run once

WITH_TABLES = ("xlsxwriter", "xlsxwriter-1904", "excel-parts", "libreoffice-tables")
CASES = ("xlsxwriter", "xlsxwriter-1904", "xlsxwriter-inline", "excel-parts", "libreoffice", "libreoffice-tables")
# Sheets of Excel-authored test files (XlsxWriter's suite, see fixtures/README.md) put into a tracker.
GRAFTS = {"Excel table08": "table08.xlsx", "Excel table11": "table11.xlsx"}
LO_CASES = ("libreoffice", "libreoffice-tables")


@dataclass
class Case:
    before: Path
    after: Path
    res: Done
    csv_dir: Path | None  # LibreOffice's CSV export of `after` (None without LibreOffice)


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> dict[str, Case]:
    root = tmp_path_factory.mktemp("other_writers")
    src = root / "src"
    src.mkdir()
    made = {"xlsxwriter": xlsxwriter_tracker(src / "xlsxwriter.xlsx"),
            "xlsxwriter-1904": xlsxwriter_tracker(src / "xlsxwriter-1904.xlsx", date_1904=True),
            "xlsxwriter-inline": xlsxwriter_tracker(src / "xlsxwriter-inline.xlsx", inline_strings=True),
            "excel-parts": xlsxwriter_tracker(src / "excel-parts.xlsx"),
            # a note right below the log's totals row: where the table must grow
            "crowded": xlsxwriter_tracker(src / "crowded.xlsx", note_row=4)}
    for sheet, fixture in GRAFTS.items():
        graft_excel_sheet(made["excel-parts"], FIXTURES / fixture, sheet)
    if SOFFICE:
        # LibreOffice saves each as its own .xlsx: an openpyxl tracker and an XlsxWriter one with tables.
        write_tracker(src / "libreoffice.xlsx", inspections=INSPECTIONS)
        xlsxwriter_tracker(src / "libreoffice-tables.xlsx")
        res = soffice("xlsx", [src / "libreoffice.xlsx", src / "libreoffice-tables.xlsx"], root / "lo", root / "profile")
        for name in LO_CASES:
            assert (root / "lo" / f"{name}.xlsx").exists(), res.stderr
            made[name] = root / "lo" / f"{name}.xlsx"
    cases = {}
    for name, path in made.items():
        (root / name).mkdir()
        before = root / name / "before" / path.name
        before.parent.mkdir()
        shutil.copy(path, before)
        after = shutil.copy(path, root / name / path.name)
        cases[name] = (before, Path(after))
    done = run_all({name: run_job(after) for name, (_, after) in cases.items()})
    csv_dir = None
    if SOFFICE:
        csv_dir = root / "csv"
        soffice(CSV_ALL_SHEETS, [after for name, (_, after) in cases.items() if name != "crowded"], csv_dir,
                root / "profile")
    return {name: Case(before, after, done[name], csv_dir) for name, (before, after) in cases.items()}


def case(written, name) -> Case:
    if name not in written:
        pytest.skip("LibreOffice (soffice) is not installed")
    return written[name]


def logged_rows(ws) -> list[int]:
    return [r for r in range(1, ws.max_row + 1) if isinstance(ws.cell(r, 1).value, datetime)]


def col(ws, header: str, row: int = 1) -> int:
    return next(c.column for c in ws[row] if c.value == header)


@pytest.mark.parametrize("name", CASES)
def test_the_run_writes_the_tools_cells(written, name):
    c = case(written, name)
    assert c.res.returncode in (0, 1) and "Traceback" not in c.res.stderr + c.res.stdout, c.res.stderr
    wb = openpyxl.load_workbook(c.after)
    ins = wb["Inspections"]
    ids = [ins.cell(r, col(ins, "Inspection ID")).value for r in range(2, 2 + len(INSPECTIONS))]
    assert all(str(i).startswith("OFS-") for i in ids) and len(set(ids)) == len(INSPECTIONS), ids
    assert all(ins.cell(r, col(ins, "Status")).value for r in range(2, 2 + len(INSPECTIONS)))
    log = wb["Email log"]
    sent = [log.cell(r, 1).value for r in logged_rows(log)]
    assert sent and all(v == SENT_AT for v in sent)


@pytest.mark.parametrize("name", CASES)
def test_only_the_tools_cells_change(written, name):
    c = case(written, name)
    before, after = cells(c.before), cells(c.after)
    assert outside_tool(before, after) == []
    if name != "libreoffice":  # the note in a tool column survives
        assert after["Email log"][(NOTE_ROW, 1)][0] == NOTE


@pytest.mark.parametrize("name", WITH_TABLES)
def test_tables_stay_valid_totals_row_last_note_not_swallowed(written, name):
    c = case(written, name)
    assert table_problems(c.after) == []
    seen = {t.sheet: t for t in tables(c.after)}
    was = {t.sheet: t for t in tables(c.before)}
    assert set(seen) == set(was) == {"Inspections", "Email log", *(GRAFTS if name == "excel-parts" else ())}
    for sheet in set(seen) - {"Email log"}:
        assert seen[sheet].ref == was[sheet].ref  # no row added, none lost
    log = openpyxl.load_workbook(c.after)["Email log"]
    rows = logged_rows(log)
    c1, r1, c2, r2 = range_boundaries(seen["Email log"].ref)
    assert seen["Email log"].totals == 1 and rows == list(range(2, 2 + len(rows)))
    assert r2 == rows[-1] + 1 and log.cell(r2, 1).value == "Total"  # the totals row moved down, still last
    assert str(log.cell(r2, c2).value).upper().startswith("=SUBTOTAL(")
    assert r2 < NOTE_ROW and log.cell(NOTE_ROW, 1).value == NOTE  # the note below is not inside the table


def test_a_note_right_below_a_totals_row_is_never_written_over(written):
    c = written["crowded"]
    out = c.res.stdout + c.res.stderr
    assert c.res.returncode == 1 and "Traceback" not in out
    said = [l for l in out.splitlines() if "'Email log'" in l and "row 4" in l]
    assert len(said) == 1, out  # one line, saying where
    assert cells(c.after)["Email log"] == cells(c.before)["Email log"]  # waits rather than move or cover the note
    assert {t.sheet: t.ref for t in tables(c.after)}["Email log"] == "A1:H3"


def test_excel_authored_sheets_and_tables_in_a_tracker_are_left_byte_for_byte(written):
    c = case(written, "excel-parts")
    with zipfile.ZipFile(c.before) as zb, zipfile.ZipFile(c.after) as za:
        for sheet in GRAFTS:
            part = sheet_part(c.before, sheet)
            assert sheet_part(c.after, sheet) == part
            rels = part.replace("worksheets/", "worksheets/_rels/") + ".rels"
            table = "xl/tables/" + re.search(r'Target="../tables/([^"]+)"', zb.read(rels).decode()).group(1)
            for name in (part, rels, table):
                assert za.read(name) == zb.read(name), f"{name} ({sheet}) was rewritten"
    wb = openpyxl.load_workbook(c.after)
    ws = wb["Excel table08"]
    assert ws["C14"].value == "Total" and ws["F14"].value == "=SUBTOTAL(103,[Column4])"


@pytest.mark.parametrize("name", ("xlsxwriter", "xlsxwriter-1904", "xlsxwriter-inline"))
def test_shared_formulas_and_inline_strings_survive(written, name):
    c = case(written, name)
    part = sheet_part(c.after, "Inspections")
    with zipfile.ZipFile(c.before) as zb, zipfile.ZipFile(c.after) as za:
        old, new = zb.read(sheet_part(c.before, "Inspections")).decode(), za.read(part).decode()
    assert old.count('t="shared"') == new.count('t="shared"') == len(INSPECTIONS)
    assert re.search(r'<f t="shared" ref="[A-Z]+2:[A-Z]+3" si="0">', new)
    if name.endswith("inline"):
        assert 't="inlineStr"' in old
        ws = openpyxl.load_workbook(c.after)["Inspections"]
        assert ws.cell(1, col(ws, USER_COLUMNS[0])).value == USER_COLUMNS[0]
        assert ws.cell(3, col(ws, USER_COLUMNS[0])).value == "ring the head first (2)"


def test_1904_dates_are_written_in_1904(written):
    c = case(written, "xlsxwriter-1904")
    wb = openpyxl.load_workbook(c.after)
    assert wb.epoch == CALENDAR_MAC_1904
    with zipfile.ZipFile(c.after) as z:
        xml = z.read(sheet_part(c.after, "Email log")).decode()
    serial = float(re.search(r'<c r="A2"[^>]*>(?:<f>[^<]*</f>)?<v>([^<]+)</v>', xml).group(1))
    assert abs(serial - (SENT_AT - datetime(1904, 1, 1)).total_seconds() / 86400) < 1e-6  # not 1462 days off
    ins = wb["Inspections"]
    assert ins.cell(2, col(ins, "Contact plan sent")).value == SENT_AT
    assert ins.cell(2, col(ins, "Notified at")).value == INSPECTIONS[0]["Notified at"]


@needs_lo
@pytest.mark.parametrize("name", CASES)
def test_the_file_opens_in_libreoffice_after_the_run(written, name):
    c = case(written, name)
    ins = lo_csv(c.csv_dir, c.after.stem, "Inspections")
    log = lo_csv(c.csv_dir, c.after.stem, "Email log")
    assert ins is not None and log is not None, f"LibreOffice could not open {c.after.name}"
    head = ins[0]
    wb = openpyxl.load_workbook(c.after)
    ws = wb["Inspections"]
    for r in range(2, 2 + len(INSPECTIONS)):
        row = dict(zip(head, ins[r - 1]))
        assert row["Inspection ID"] == ws.cell(r, col(ws, "Inspection ID")).value and row["Status"]
        assert lo_datetime(row["Contact plan sent"]) == SENT_AT
    when = [lo_datetime(r[0]) for r in log[1:] if re.match(r"\d+/\d+/\d{4} ", r[0] if r else "")]
    assert when and all(w == SENT_AT for w in when)  # LibreOffice, reading independently, agrees on the dates
    assert len(when) == len(logged_rows(wb["Email log"]))
    if name == "excel-parts":
        grid = lo_csv(c.csv_dir, c.after.stem, "Excel table08")
        assert grid is not None and grid[2][2:6] == ["Column1", "Column2", "Column3", "Column4"]
        assert grid[13][2] == "Total"


def test_a_second_run_on_an_xlsxwriter_tracker_writes_nothing(written, tmp_path):
    c = case(written, "xlsxwriter-1904")
    path = Path(shutil.copy(c.after, tmp_path / c.after.name))
    shutil.copytree(c.after.parent / ".ofsted-tracker", tmp_path / ".ofsted-tracker")
    before = path.read_bytes()
    res = run_all({"again": run_job(path)})["again"]
    assert res.returncode in (0, 1) and "Traceback" not in res.stderr, res.stderr
    assert "already up to date" in res.stdout and path.read_bytes() == before, res.stdout


# ---------------------------------------------------------------- the header row under a title

SEARCHED = reader.HEADER_SEARCH_ROWS
HEADER_ROWS = (2, 5, 7, 12, SEARCHED + 5)  # the last one beyond the rows searched


@pytest.fixture(scope="module")
def headed(tmp_path_factory) -> dict[int, Case]:
    """Inspections with a title and notes above the header, which is on row n."""
    root = tmp_path_factory.mktemp("header_rows")
    cases = {}
    for n in HEADER_ROWS:
        (root / str(n)).mkdir()
        path = write_tracker(root / str(n) / "tracker.xlsx", inspections=[inspection()])
        wb = openpyxl.load_workbook(path)
        ws = wb["Inspections"]
        ws.insert_rows(1, n - 1)
        ws["A1"] = "Inspections 2026-27"
        for r in range(2, n):
            ws.cell(r, 1, f"Note {r}: type each new inspection on the next empty row")
        wb.save(path)
        before = root / str(n) / "before.xlsx"
        shutil.copy(path, before)
        cases[n] = (before, path)
    # Header on row 1 but a required column deleted: a problem of the header row itself.
    (root / "missing").mkdir()
    path = write_tracker(root / "missing" / "tracker.xlsx", inspections=[inspection()])
    wb = openpyxl.load_workbook(path)
    wb["Inspections"].delete_cols(col(wb["Inspections"], "Start date"))
    wb.save(path)
    cases["missing"] = (Path(shutil.copy(path, root / "missing" / "before.xlsx")), path)
    done = run_all({n: run_job(after) for n, (_, after) in cases.items()})
    return {n: Case(b, a, done[n], None) for n, (b, a) in cases.items()}


def _found_and_written_below(c: Case, n: int) -> None:
    assert c.res.returncode in (0, 1) and "Traceback" not in c.res.stderr, c.res.stderr
    assert outside_tool(cells(c.before), cells(c.after), {"Inspections": n}) == []  # nothing above or in the header
    ws = openpyxl.load_workbook(c.after)["Inspections"]
    assert str(ws.cell(n + 1, col(ws, "Inspection ID", n)).value).startswith("OFS-")
    assert ws.cell(n + 1, col(ws, "Status", n)).value


@pytest.mark.parametrize("n", [2, 5, 7])
def test_a_header_under_a_title_is_found_and_nothing_written_above_it(headed, n):
    _found_and_written_below(headed[n], n)


@pytest.mark.parametrize("n", [12, SEARCHED + 5])
def test_a_header_beyond_the_search_is_found_or_the_sheet_left_alone_and_the_search_said(headed, n):
    c = headed[n]
    assert c.res.returncode in (0, 1) and "Traceback" not in c.res.stderr, c.res.stderr
    before, after = cells(c.before), cells(c.after)
    if str(after["Inspections"].get((n + 1, 1), ("",))[0]).startswith("OFS-"):
        _found_and_written_below(c, n)
        return
    assert after["Inspections"] == before["Inspections"]  # not found: nothing written to the sheet
    problems = openpyxl.load_workbook(c.after)["Problems"]
    said = [" ".join(str(v) for v in row if v is not None) for row in problems.iter_rows(values_only=True)
            if "Inspections" in row]
    assert any(re.search(r"first \d+ rows", s) and "header" in s.lower() for s in said), said


def test_a_missing_required_column_leaves_the_header_row_alone(headed):
    c = headed["missing"]
    assert c.res.returncode == 1 and "Traceback" not in c.res.stderr, c.res.stderr
    problems = list(openpyxl.load_workbook(c.after)["Problems"].iter_rows(values_only=True))
    assert any(r[1:3] == ("error", "Inspections") and r[4] == "Start date" for r in problems)  # said there
    assert outside_tool(cells(c.before), cells(c.after), {"Inspections": 1}) == []


# ---------------------------------------------------------------- Excel-authored files

EXCEL_FILES = sorted(FIXTURES.glob("*.xlsx"))
RUN_ON = "table08.xlsx"  # `run` takes the same path to the same refusal: once is enough


@pytest.fixture(scope="module")
def excel_authored(tmp_path_factory) -> dict[tuple[str, str], tuple[Done, bytes, bytes]]:
    root = tmp_path_factory.mktemp("excel_authored")
    jobs, paths = {}, {}
    for f in EXCEL_FILES:
        for command in ("validate", "run") if f.name == RUN_ON else ("validate",):
            (root / f"{f.stem}-{command}").mkdir()
            path = Path(shutil.copy(f, root / f"{f.stem}-{command}" / f.name))
            paths[(f.name, command)] = path
            jobs[(f.name, command)] = [command, path] + (["--now", NOW] if command == "run" else [])
    done = run_all(jobs)
    return {k: (done[k], EXCEL_FILES[[f.name for f in EXCEL_FILES].index(k[0])].read_bytes(), paths[k].read_bytes())
            for k in jobs}


def test_the_excel_authored_fixtures_are_small_and_really_excels():
    assert len(EXCEL_FILES) >= 4
    for f in EXCEL_FILES:
        assert f.stat().st_size < 50_000
        with zipfile.ZipFile(f) as z:
            app = z.read("docProps/app.xml").decode()
        assert "<Application>Microsoft Excel</Application>" in app, f.name


@pytest.mark.parametrize("fixture,command", [(f.name, "validate") for f in EXCEL_FILES] + [(RUN_ON, "run")])
def test_an_excel_authored_non_tracker_is_one_clear_line_and_left_alone(excel_authored, fixture, command):
    res, original, after = excel_authored[(fixture, command)]
    assert "Traceback" not in res.stderr + res.stdout
    lines = res.stderr.strip().splitlines()
    assert res.returncode == 4 and len(lines) == 1, res.stderr
    assert "'Inspections'" in lines[0] and "no sheet" in lines[0] and "internal error" not in lines[0]
    assert after == original  # not a byte changed
