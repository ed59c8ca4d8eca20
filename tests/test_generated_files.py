"""Files the tool makes from tracker text, through the real console script: a hand-typed
Inspection ID cannot place a file outside its folder, a school name or lead inspector that
looks like a formula stays text in every generated workbook, and any school name gives a
safe file name inside its folder."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest

from automation.safefiles import file_in, name_part, put
from automation.errors import UnsafeFileName
from automation.workbook.writer import SheetEdit, apply_edits
from tests.conftest import SCHOOLS, inspection, write_tracker

ROOT = Path(__file__).resolve().parents[1]
IID = "OFS-100001-20261116"
LAST_DAY = "2026-11-18T08:00"  # a Full inspection's last day on site: the feedback form is written
LINK = '=HYPERLINK("http://x.example.org","click")'
CMD = "=cmd|' /C calc'!A0"
FORMULA_XML = re.compile(rb"<(?:\w+:)?f[ >/]")


def cli(*args: str) -> subprocess.CompletedProcess:
    """The console script as a subprocess (python -m automation.cli, the same entry point)."""
    return subprocess.run([sys.executable, "-m", "automation.cli", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


def as_typed_text(path: Path, sheet: str, header: str, values: dict[int, str]) -> None:
    """Make cells hold text that starts with '=' (what Excel keeps for '=... typed with an apostrophe)."""
    wb = openpyxl.load_workbook(path)
    ws = wb[sheet]
    col = [c.value for c in ws[1]].index(header) + 1
    for row, text in values.items():
        put(ws.cell(row, col), text)
    wb.save(path)


def problems(path: Path) -> list[dict]:
    rows = list(openpyxl.load_workbook(path)["Problems"].iter_rows(values_only=True))
    return [dict(zip(rows[0], r)) for r in rows[1:]]


def all_files(top: Path) -> set[Path]:
    return {p for p in top.rglob("*") if p.is_file()}


def test_inspection_id_that_climbs_out_of_the_folder_is_a_problem_and_writes_nothing(tmp_path):
    home = tmp_path / "a" / "b" / "c"
    home.mkdir(parents=True)
    tracker = write_tracker(home / "tracker.xlsx", inspections=[
        inspection(**{"Lead inspector": "Ivy Inspector"}),
        inspection(urn="100002", **{"Inspection ID": "../../../X"}),
    ])
    got = cli("run", str(tracker), "--now", LAST_DAY)
    assert got.returncode == 1, got.stdout + got.stderr
    assert "Traceback" not in got.stderr

    [bad] = [p for p in problems(tracker) if p["Value"] == "../../../X"]
    assert (bad["Severity"].lower(), bad["Sheet"], str(bad["Row"]), bad["Column"]) == \
        ("error", "Inspections", "3", "Inspection ID")
    assert "letters, digits and hyphens" in bad["Problem"] and "clear the cell" in bad["What to do"]
    # Nothing escaped: every file the runs made is inside the tracker's folder.
    assert {p for p in all_files(tmp_path) if home not in p.parents} == set()
    assert not [p for p in all_files(tmp_path) if "X" in p.name.split(" ")[0]]
    # The good row still ran: its plan went and its feedback form was written.
    forms = sorted((home / "forms").glob("*.xlsx"))
    assert [f.name for f in forms] == [f"{IID} Acorn Primary School feedback form.xlsx"]
    outbox = [p.read_bytes() for p in home.rglob("*.eml")]
    assert outbox and all(b"../../../X" not in m and b"Beech Academy" not in m for m in outbox)
    ws = openpyxl.load_workbook(tracker)["Inspections"]
    col = [c.value for c in ws[1]].index("Inspection ID") + 1
    assert ws.cell(2, col).value == IID and ws.cell(3, col).value == "../../../X"  # left for the officer


def _formula_cells(path: Path) -> list[str]:
    """Every cell of every sheet that is a formula, by address (empty when all is text)."""
    wb = openpyxl.load_workbook(path)
    return [f"{ws.title}!{c.coordinate}" for ws in wb.worksheets for row in ws.iter_rows() for c in row
            if c.data_type == "f" or (isinstance(c.value, str) and c.value.startswith("=") and c.data_type != "s")]


def _texts(path: Path) -> set[str]:
    wb = openpyxl.load_workbook(path)
    return {c.value for ws in wb.worksheets for row in ws.iter_rows() for c in row
            if isinstance(c.value, str) and c.data_type == "s"}


def _xml_formulas(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as z:
        return [n for n in z.namelist() if n.startswith("xl/worksheets/") and n.endswith(".xml")
                and FORMULA_XML.search(z.read(n))]


def test_text_that_looks_like_a_formula_stays_text_in_every_generated_workbook(tmp_path):
    schools = [{**SCHOOLS[0], "School name": LINK, "District": "=1+1"}, SCHOOLS[1]]
    tracker = write_tracker(tmp_path / "tracker.xlsx", schools=schools,
                            inspections=[inspection(**{"Lead inspector": CMD, "Learning review": "Requested"})])
    as_typed_text(tracker, "Schools", "School name", {2: LINK})
    as_typed_text(tracker, "Schools", "District", {2: "=1+1"})
    as_typed_text(tracker, "Inspections", "Lead inspector", {2: CMD})
    assert not _xml_formulas(tracker)  # the tracker holds text, as an officer's typed value would be

    got = cli("run", str(tracker), "--now", LAST_DAY)
    assert got.returncode == 0, got.stdout + got.stderr
    got = cli("review", str(tracker), IID, "--now", LAST_DAY, "--replace")
    assert got.returncode == 0, got.stdout + got.stderr
    got = cli("oversight", str(tracker), "--now", LAST_DAY)
    assert got.returncode == 0, got.stdout + got.stderr

    [form] = (tmp_path / "forms").glob("*.xlsx")
    [review] = (tmp_path / "reviews").glob("*.xlsx")
    [oversight] = (tmp_path / "reports").glob("*oversight.xlsx")
    assert {LINK, CMD} <= _texts(form) and LINK in _texts(review) and LINK in _texts(oversight)
    assert "=1+1" in _texts(oversight)
    for path in (form, review, oversight, tracker):
        assert _formula_cells(path) == [], path.name
        assert _xml_formulas(path) == [], path.name
    assert form.parent == tmp_path / "forms" and form.name.startswith(f"{IID} ")


SLASHES = "../St. Mary's C/E: Primary ..\\ School"
LONG = "Our Lady of " + "Perpetual Succour and All the Holy Angels " * 12


def test_any_school_name_gives_a_safe_file_name_inside_its_folder(tmp_path):
    schools = [{**SCHOOLS[0], "School name": SLASHES}, {**SCHOOLS[1], "School name": LONG}]
    tracker = write_tracker(tmp_path / "tracker.xlsx", schools=schools, inspections=[
        inspection(**{"Learning review": "Requested"}), inspection(urn="100002", **{"Learning review": "Requested", "LA support accepted": "Yes"})])
    got = cli("run", str(tracker), "--now", LAST_DAY, "--dry-run", "--preview-dir", str(tmp_path / "previews"))
    assert got.returncode == 0, got.stdout + got.stderr
    got = cli("run", str(tracker), "--now", LAST_DAY)
    assert got.returncode == 0, got.stdout + got.stderr

    made = [*(tmp_path / "forms").glob("*.xlsx"), *(tmp_path / "reviews").glob("*.xlsx")]
    assert len(made) == 4
    for path in made:
        assert path.parent.parent == tmp_path and path.parent.name in ("forms", "reviews")
        assert re.match(r"OFS-10000[12]-20261116 ", path.name) and len(path.name) <= 150
        assert not set(path.name) & set('/\\:*?"<>|')
        assert openpyxl.load_workbook(path).worksheets  # a real workbook, readable
    assert any("St. Mary's C E Primary" in p.name for p in made) and any("Our Lady of Perpetual" in p.name for p in made)
    previews = list((tmp_path / "previews").iterdir())
    assert previews and all(p.parent == tmp_path / "previews" for p in previews)
    assert {p for p in all_files(tmp_path) if tmp_path not in p.parents} == set()


def test_file_in_refuses_a_name_that_is_not_a_file_in_the_folder(tmp_path):
    assert file_in(tmp_path, "../../x.xlsx").parent == tmp_path
    assert file_in(tmp_path, "a/b\\c:d.xlsx").parent == tmp_path
    long = file_in(tmp_path, "y" * 400 + ".xlsx")
    assert long.suffix == ".xlsx" and len(long.name) <= 200
    for bad in ("..", ".", " ", ""):
        with pytest.raises(UnsafeFileName, match="would not be inside"):
            file_in(tmp_path, bad)
    assert name_part("CON") != "CON" and name_part("a/../b") == "a .. b"


def test_put_keeps_numbers_and_dates_and_makes_text_inert(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    values = [CMD, "+1+2", "-3", "@SUM(A1)", "\tTab", "#N/A", 7, 2.5, datetime(2026, 11, 16, 12, 5), True, None, "ok\x01"]
    for i, v in enumerate(values, start=1):
        put(ws.cell(i, 1), v)
    wb.save(tmp_path / "x.xlsx")
    back = openpyxl.load_workbook(tmp_path / "x.xlsx").active
    got = [back.cell(i, 1) for i in range(1, len(values) + 1)]
    assert [c.data_type for c in got[:6]] == ["s"] * 6 and [c.value for c in got[:6]] == values[:6]
    assert got[6].value == 7 and got[7].value == 2.5 and got[8].value == datetime(2026, 11, 16, 12, 5)
    assert got[9].value is True and got[10].value is None and got[11].value == "ok"
    assert _xml_formulas(tmp_path / "x.xlsx") == []


def test_write_back_into_the_tracker_writes_formula_like_text_as_text(tmp_path):
    tracker = write_tracker(tmp_path / "tracker.xlsx", inspections=[inspection()])
    apply_edits(tracker, [SheetEdit("Follow-ups", {(2, 1): CMD, (2, 2): LINK, (2, 3): "+1+2"})])
    assert _xml_formulas(tracker) == []
    ws = openpyxl.load_workbook(tracker)["Follow-ups"]
    assert [(c.value, c.data_type) for c in ws[2][:3]] == [(CMD, "s"), (LINK, "s"), ("+1+2", "s")]


def test_the_add_in_sends_formula_like_text_to_excel_as_text():
    # Excel parses a value assigned through COM as if typed; a leading apostrophe makes it text
    # (the apostrophe itself is not part of the value Excel then holds and gives back).
    from automation.addin.grid import Grid, writes_for

    [w] = writes_for(SheetEdit("Follow-ups", {(2, 1): CMD, (2, 2): "+1", (2, 3): "Acorn", (2, 4): 7}),
                     Grid("Follow-ups", 1, 1, [["a", "b", "c", "d"]]))
    assert w.values == [["'" + CMD, "'+1", "Acorn", 7]]
