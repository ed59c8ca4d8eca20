"""The Inspections sheet shows which school each URN is, refreshed every run, and a row whose
School names another school than its URN's is held back: a wrong but existing URN must never
email the wrong school."""

from __future__ import annotations

import subprocess
import sys

import openpyxl

from tests.conftest import inspection, write_tracker


def run(path, now="2026-11-16T12:20"):
    return subprocess.run([sys.executable, "-m", "automation.cli", "run", str(path), "--now", now],
                          capture_output=True, text=True, timeout=120)


def column(path, header):
    ws = openpyxl.load_workbook(path)["Inspections"]
    col = [c.value for c in ws[1]].index(header)
    return [row[col].value for row in ws.iter_rows(min_row=2)]


def test_the_run_writes_the_school_beside_the_urn(tmp_path):
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection(), inspection(urn="100002")])
    assert run(path).returncode in (0, 1)
    assert column(path, "School") == ["Acorn Primary School (Maintained)", "Beech Academy (Academy)"]


def test_a_school_that_does_not_match_the_urn_stops_the_row(tmp_path):
    # The admin meant Beech (typed its name) but typed Acorn's URN.
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection(urn="100001", School="Beech Academy")])
    done = run(path)
    assert done.returncode == 1
    assert not list(tmp_path.glob("outbox/*.eml"))  # nothing went to either school
    ws = openpyxl.load_workbook(path)["Problems"]
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=2)]
    assert any("URN 100001 is Acorn Primary School, but the row's School says 'Beech Academy'" in str(r) for r in rows)
    assert column(path, "Status")[0].startswith("Problem: URN")
    assert column(path, "School") == ["Beech Academy"]  # left as typed until someone decides


def test_a_shortened_name_typed_by_the_admin_is_accepted(tmp_path):
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection(urn="100001", School="Acorn Primary")])
    assert run(path).returncode in (0, 1)
    assert column(path, "School") == ["Acorn Primary School (Maintained)"]
    assert list((tmp_path / "outbox").glob("*.eml"))
