"""The Problems sheet is a to-do list that stays put: a problem still found keeps its row and
its Found at (when it was first found), a settled one goes and the rows below it move up, a
new one is added at the end. A run that finds one new problem writes that one row, not the
whole sheet again; and the sheet always lists exactly the problems the run found."""

from __future__ import annotations

import re
import zipfile
from collections import Counter
from datetime import datetime

import openpyxl

from automation.calendar import LONDON
from automation.mail.transport import MemoryTransport
from automation.run import run
from automation.workbook import package as pkg
from tests.conftest import inspection, write_tracker
from tests.console import cli

T1, T2, T3 = "2026-11-16T12:20", "2026-11-16T12:35", "2026-11-16T12:50"


def problems_part(path) -> bytes:
    with zipfile.ZipFile(path) as z:
        return z.read(pkg.sheet_parts(z)["Problems"])


def rows_of(xml: bytes) -> dict[int, bytes]:
    return {int(m.group(1)): m.group(0) for m in re.finditer(rb'<row r="(\d+)".*?</row>', xml, re.S)}


def problem_rows(path) -> list[tuple]:
    ws = openpyxl.load_workbook(path)["Problems"]
    return [r for r in ws.iter_rows(min_row=2, values_only=True) if any(v not in (None, "") for v in r)]


def set_urn(path, row: int, urn: str) -> None:
    wb = openpyxl.load_workbook(path)
    ws = wb["Inspections"]
    ws.cell(row, [c.value for c in ws[1]].index("URN") + 1).value = urn
    wb.save(path)


def add_inspection(path, urn: str) -> None:
    wb = openpyxl.load_workbook(path)
    ws = wb["Inspections"]
    headers = [c.value for c in ws[1]]
    row = ws.max_row + 1
    for h, v in inspection(urn=urn).items():
        ws.cell(row, headers.index(h) + 1).value = v
    wb.save(path)


def unknown(rows, urn: str) -> list[tuple]:
    return [r for r in rows if urn in str(r)]


def test_a_new_problem_writes_its_own_row_and_leaves_the_others_as_they_were(tmp_path):
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection(urn="999991"), inspection(urn="999992")])
    assert cli("run", path, "--now", T1, cwd=tmp_path).returncode == 1
    add_inspection(path, "999993")
    before_rows, before_xml = problem_rows(path), rows_of(problems_part(path))
    assert len(unknown(before_rows, "999991")) == len(unknown(before_rows, "999992")) == 1
    done = cli("run", path, "--now", T2, cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    after_rows, after_xml = problem_rows(path), rows_of(problems_part(path))
    assert after_rows[:len(before_rows)] == before_rows, "the problems still found keep their rows and Found at"
    assert all(after_xml[n] == before_xml[n] for n in before_xml), "and their rows are not even rewritten"
    new = after_rows[len(before_rows):]
    assert len(new) == 1 and "999993" in str(new[0]) and new[0][0] == datetime(2026, 11, 16, 12, 35)
    assert {r[0] for r in before_rows} == {datetime(2026, 11, 16, 12, 20)}


def test_a_settled_problem_goes_and_the_rows_below_move_up_with_their_found_at(tmp_path):
    path = tmp_path / "t.xlsx"
    assert cli("sample", path, "--today", "2026-11-16", cwd=tmp_path).returncode == 0
    ws = openpyxl.load_workbook(path)["Inspections"]
    typed = ws.cell(3, [c.value for c in ws[1]].index("URN") + 1).value
    for row in (2, 3, 4):
        set_urn(path, row, f"99999{row}")
    assert cli("run", path, "--now", T1, cwd=tmp_path).returncode == 1
    first = problem_rows(path)
    assert all(len(unknown(first, f"99999{row}")) == 1 for row in (2, 3, 4))
    set_urn(path, 3, typed)  # the admin corrects the middle one
    assert cli("run", path, "--now", T2, cwd=tmp_path).returncode == 1
    second = problem_rows(path)
    assert not unknown(second, "999993")
    assert second == [r for r in first if "999993" not in str(r)][:len(second)], "the others in order, as found"
    assert unknown(second, "999994")[0][0] == datetime(2026, 11, 16, 12, 20), "moved up, still found at T1"
    table = openpyxl.load_workbook(path)["Problems"].tables["ProblemsTable"].ref
    assert int(table.split(":")[1][1:]) == 1 + len(problem_rows(path)), "the table ends with the list"
    xml = problems_part(path)
    assert max(rows_of(xml)) == 1 + len(second), "no row left over below the list"


def test_the_sheet_always_lists_exactly_the_problems_the_run_found(tmp_path, cfg):
    path = write_tracker(tmp_path / "t.xlsx", inspections=[
        inspection(urn="999991"), inspection(urn="100001", itype="Nonsense"), inspection(urn="999992")])
    steps = [
        lambda: None,
        lambda: add_inspection(path, "999993"),  # one more
        lambda: set_urn(path, 2, "100001"),  # the first one settled
        lambda: (set_urn(path, 4, "100002"), add_inspection(path, "999994")),  # one settled, one new
    ]
    previous: list[tuple] = []
    for k, step in enumerate(steps):
        step()
        now = datetime(2026, 11, 16, 12, 20 + 5 * k, tzinfo=LONDON)
        result = run(path, cfg, now, transport=MemoryTransport())
        assert result.saved
        found = [(p.severity, p.sheet, p.row if p.row is not None else None, p.column or None, p.value or None,
                  p.message, p.fix) for p in result.update.problems]
        listed = [tuple(r[1:8]) for r in problem_rows(path)]
        assert Counter(listed) == Counter(found), "every problem found is listed once, and nothing else"
        # Those listed before keep their order and their Found at; the new ones follow, as found.
        still = [r for r in previous if r[1:8] in found]
        assert problem_rows(path)[:len(still)] == still
        assert all(r[0] == now.replace(tzinfo=None) for r in problem_rows(path)[len(still):])
        previous = problem_rows(path)


def test_an_unchanged_list_writes_nothing_and_reworded_advice_only_its_rows(tmp_path, cfg):
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection(urn="999991"), inspection(urn="999992")])
    first = run(path, cfg, datetime(2026, 11, 16, 12, 20, tzinfo=LONDON), transport=MemoryTransport())
    assert first.saved and first.cells_written
    bytes_before = path.read_bytes()
    again = run(path, cfg, datetime(2026, 11, 16, 12, 35, tzinfo=LONDON), transport=MemoryTransport())
    assert again.cells_written == 0 and path.read_bytes() == bytes_before
    # An officer overwrote one problem's advice: the next run puts back that row only.
    wb = openpyxl.load_workbook(path)
    ws = wb["Problems"]
    ws.cell(3, [c.value for c in ws[1]].index("What to do") + 1).value = "ignore this"
    wb.save(path)
    before = rows_of(problems_part(path))
    third = run(path, cfg, datetime(2026, 11, 16, 12, 50, tzinfo=LONDON), transport=MemoryTransport())
    after = rows_of(problems_part(path))
    assert [n for n in before if before[n] != after[n]] == [3]
    assert third.cells_written == len(openpyxl.load_workbook(path)["Problems"][1])  # that row, whole
    assert problem_rows(path)[1][0] == datetime(2026, 11, 16, 12, 20), "it keeps when it was first found"
    assert "ignore this" not in str(problem_rows(path))


def test_a_value_with_a_character_the_file_cannot_hold_is_still_recognised(tmp_path):
    from tests.test_workbook_safety import part, rewrite

    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection(itype="Nonsense"), inspection(urn="100002")])
    with zipfile.ZipFile(path) as z:
        names = pkg.sheet_parts(z)
    # Excel keeps a control character typed or pasted into a cell as _x0007_; it reads back as one.
    inspections, schools = names["Inspections"], names["Schools"]
    rewrite(path, {inspections: part(path, inspections).replace(b">Nonsense<", b">Non_x0007_sense<"),
                   schools: part(path, schools).replace(b">Beech Academy<", b">Beech_x0007_ Academy<")})
    assert cli("run", path, "--now", T1, cwd=tmp_path).returncode == 1
    assert any("Nonsense" in str(r) for r in problem_rows(path))  # written without it
    ws = openpyxl.load_workbook(path)["Inspections"]
    assert "Beech Academy (Academy)" in [c.value for c in ws[3]], "the School column too"
    done = cli("run", path, "--now", T2, "--force", cwd=tmp_path)
    assert "Tracker already up to date" in done.stdout, done.stdout + done.stderr
