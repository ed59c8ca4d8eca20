"""The tracker kept in SharePoint: `ofsted-tracker run` (a process of its own) reads and writes it
through the real msal + requests stack against the Graph stand-in, whose .xlsx is checked with openpyxl."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import openpyxl
import pytest

from tests.conftest import inspection, write_tracker
from tests.console import cli
from tests.graph_helpers import cfg, drive, tracker  # noqa: F401 (the shared fixtures)
from tests.graph_helpers import item_folder, login, outbox, run, write_config
from tests.standins.graph_drive import GraphDrive

# Each drives the real console script against the stand-in, often run after run: CI and
# scripts/test.sh run them; a developer's plain `pytest` leaves them out.
pytestmark = pytest.mark.slow


def _column(ws, header: str) -> int:
    return next(c.column for c in ws[1] if c.value == header)


def test_a_run_sends_and_writes_the_tool_cells_into_the_real_workbook(tmp_path, drive, cfg, tracker):
    proc = run(cfg, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Tracker updated" in proc.stdout
    assert outbox(tmp_path / "sp"), "the contact plan went (to the outbox)"
    wb = openpyxl.load_workbook(tracker)
    ws = wb["Inspections"]
    iid = ws.cell(2, _column(ws, "Inspection ID")).value
    assert iid and iid.startswith("OFS-100001-")
    assert ws.cell(2, _column(ws, "Status")).value
    sent = ws.cell(2, _column(ws, "Contact plan sent")).value
    assert isinstance(sent, datetime), "a date goes as a serial with a date format: openpyxl reads a datetime"
    log = wb["Email log"]
    assert log.max_row > 1 and log.cell(2, _column(log, "Message ID")).value
    assert "Problems" in wb.sheetnames
    assert drive.state.errors == []
    # Only the tool's cells were written, in a persistent session, in $batch: a handful of round trips.
    assert drive.state.count("POST createSession") == 1 and drive.state.count("POST closeSession") == 1
    assert drive.state.count("PATCH range") <= 12
    # State on this machine, keyed by the drive item id; the name as first seen.
    here = item_folder(tmp_path / "sp")
    assert here.name == drive.item_id
    assert (here / ".ofsted-tracker" / "Tracker.journal.sqlite").exists()


def test_text_is_sent_as_text_never_a_formula_or_a_number(tmp_path, tracker):
    # Typed as text: Excel would turn "12%" into 0.12 and "=1+2" into a formula, were it sent bare.
    write_tracker(tracker, inspections=[inspection(itype="12%"), inspection(urn="100002", itype="1e3")])
    with GraphDrive(tracker) as d:
        path = write_config(tmp_path / "config.toml", d, tmp_path / "sp")
        login(path, tmp_path)
        proc = run(path, tmp_path)
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    ws = openpyxl.load_workbook(tracker)["Problems"]
    values = [ws.cell(r, _column(ws, "Value")).value for r in range(2, ws.max_row + 1)]
    assert "12%" in values and "1e3" in values, values


def test_a_co_authors_edit_between_read_and_write_survives(tmp_path, drive, cfg, tracker):
    ws = openpyxl.load_workbook(tracker)["Inspections"]
    status = f"{openpyxl.utils.get_column_letter(_column(ws, 'Status'))}2"
    # Typed in Excel for the web after the run read the tracker and before it wrote (its session opens).
    drive.coauthor_edit("Inspections", status, "Officer's own note", when="POST createSession")
    proc = run(cfg, tmp_path)
    assert drive.state.coauthor_fired
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"Inspections' {status}: changed by someone" in proc.stdout
    wb = openpyxl.load_workbook(tracker)
    assert wb["Inspections"][status].value == "Officer's own note"
    assert wb["Inspections"].cell(2, _column(wb["Inspections"], "Inspection ID")).value, "the other cells went"
    log = (item_folder(tmp_path / "sp") / ".ofsted-tracker" / "Tracker.log").read_text(encoding="utf-8")
    assert "left for the next run" in log


def test_an_unchanged_run_costs_a_request_or_two(tmp_path, drive, cfg):
    first = run(cfg, tmp_path, now="2026-11-16T18:05")
    assert first.returncode == 0, first.stdout + first.stderr
    settle = run(cfg, tmp_path, now="2026-11-16T18:20")  # reads afresh after the write, writes nothing
    assert settle.returncode == 0, settle.stdout + settle.stderr
    before = len(drive.state.requests)
    third = run(cfg, tmp_path, now="2026-11-16T18:35")
    assert "skipped" in third.stdout, third.stdout + third.stderr
    graph = [k for k in drive.state.requests[before:] if "openid" not in k and "token" not in k]
    assert len([k for k in graph if k == "POST $batch" or "$batch" not in k]) <= 3, graph


def test_validate_and_run_take_the_url_on_the_command_line(tmp_path, drive, cfg):
    proc = cli("validate", drive.share_url, "--config", cfg, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Tracker.xlsx: " in proc.stdout
    proc = cli("run", f"drive:{drive.drive_id}/item:{drive.item_id}", "--config", cfg, "--now", "2026-11-16T13:05",
               "--dry-run", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert drive.state.count("PATCH range") == 0, "a dry run writes nothing"


def test_the_graph_store_is_a_tracker_store(tmp_path):
    from automation.graph.client import GraphClient
    from automation.graph.store import GraphWorkbookStore
    from automation.workbook.protocol import TrackerStore

    store = GraphWorkbookStore("drive:b!abc/item:01XYZ", GraphClient("https://127.0.0.1:9/v1.0", lambda f: "t", None),
                               tmp_path)
    (tmp_path / "01XYZ").mkdir()
    (tmp_path / "01XYZ" / "tracker-name.txt").write_text("Tracker.xlsx", encoding="utf-8")
    assert isinstance(store, TrackerStore)  # (Python 3.11 reads .identity to tell: known here, no request)
    assert store.identity == tmp_path / "01XYZ" / "Tracker.xlsx", "no request needed once the name is known"


def _problem_rows(path: Path) -> list[tuple]:
    ws = openpyxl.load_workbook(path)["Problems"]
    return [r for r in ws.iter_rows(min_row=2, values_only=True) if any(v not in (None, "") for v in r)]


def test_the_problems_table_grows_and_shrinks_with_no_stale_rows(tmp_path):
    (tmp_path / "drive").mkdir()
    path = tmp_path / "drive" / "Tracker.xlsx"
    assert cli("sample", path, "--today", "2026-11-16", cwd=tmp_path).returncode == 0
    wb = openpyxl.load_workbook(path)
    ws = wb["Inspections"]
    col = _column(ws, "Inspection type")
    for row in (2, 3, 4):
        ws.cell(row, col).value = f"bad type {row}"
    wb.save(path)
    with GraphDrive(path) as d:
        cfg = write_config(tmp_path / "config.toml", d, tmp_path / "sp")
        login(cfg, tmp_path)
        first = run(cfg, tmp_path)
        assert first.returncode == 1, first.stdout + first.stderr
        three = _problem_rows(path)
        assert len([r for r in three if "bad type" in str(r)]) == 3
        first_found = [r for r in three if "bad type 2" in str(r)][0][0]
        table = openpyxl.load_workbook(path)["Problems"].tables["ProblemsTable"].ref
        assert int(table.split(":")[1][1:]) >= 1 + len(three), "rows added through the table: it grew"
        d.edit("Inspections", f"{openpyxl.utils.get_column_letter(col)}3", "Full")
        d.edit("Inspections", f"{openpyxl.utils.get_column_letter(col)}4", "Full")
        second = run(cfg, tmp_path, now="2026-11-16T13:20")
        assert second.returncode == 1, second.stdout + second.stderr
        one = _problem_rows(path)
        assert len([r for r in one if "bad type" in str(r)]) == 1, one
        kept = [r for r in one if r[0] != datetime(2026, 11, 16, 13, 20)]
        assert len(kept) == 1 and "bad type 2" in str(kept[0]) and kept[0][0] == first_found, \
            "no row left from the first run but the problem still found, which keeps its Found at"
        assert d.state.errors == []


def test_a_missing_problems_sheet_is_made(tmp_path, tracker):
    wb = openpyxl.load_workbook(tracker)
    del wb["Problems"]
    wb["Inspections"].cell(2, _column(wb["Inspections"], "Inspection type")).value = "not a type"  # a problem to list
    wb.save(tracker)
    with GraphDrive(tracker) as d:
        cfg = write_config(tmp_path / "config.toml", d, tmp_path / "sp")
        login(cfg, tmp_path)
        proc = run(cfg, tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    ws = openpyxl.load_workbook(tracker)["Problems"]
    assert ws.cell(1, 1).value == "Found at" and ws.max_row >= 2
