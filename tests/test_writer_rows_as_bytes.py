"""The writer reads only the rows it edits: every other row of a sheet part is copied byte for
byte (a whole tree of a big sheet took over 100 MB), rows added between them land in order,
and a sheet part laid out unusually is still edited, the sure way, or refused as before."""

from __future__ import annotations

import re
from datetime import datetime

import openpyxl
import pytest

from automation.errors import WorkbookError
from automation.workbook import package as pkg
from automation.workbook.writer import SheetEdit, apply_edits
from tests.conftest import inspection, write_tracker
from tests.test_workbook_safety import part, rewrite

MAIN = pkg.NS["m"]


def tracker(tmp_path, rows: int = 6):
    return write_tracker(tmp_path / "tracker.xlsx",
                         inspections=[inspection(urn=f"10000{i % 3 + 1}", Notes=f"note {i}") for i in range(rows)])


def inspections_part(path) -> str:
    with __import__("zipfile").ZipFile(path) as z:
        return pkg.sheet_parts(z)["Inspections"]


def rows_of(xml: bytes) -> dict[int, bytes]:
    return {int(m.group(1)): m.group(0) for m in re.finditer(rb'<row r="(\d+)".*?</row>', xml, re.S)}


def cell(path, row: int, col: int):
    return openpyxl.load_workbook(path)["Inspections"].cell(row, col).value


def urn(path, row: int):
    ws = openpyxl.load_workbook(path)["Inspections"]
    return ws.cell(row, next(c.column for c in ws[1] if c.value == "URN")).value


def test_rows_not_written_keep_their_bytes(tmp_path):
    path = tracker(tmp_path)
    name = inspections_part(path)
    before = rows_of(part(path, name))
    apply_edits(path, [SheetEdit("Inspections", cells={(4, 2): "written", (9, 1): "added"})])
    after = rows_of(part(path, name))
    assert [n for n in before if before[n] != after[n]] == [4]  # only the row written was re-made
    assert cell(path, 4, 2) == "written" and cell(path, 9, 1) == "added"
    assert list(after) == sorted(after)  # the new row 9 after the others


def test_a_row_added_into_a_gap_lands_between_rows_left_as_bytes(tmp_path):
    path = tracker(tmp_path)
    name = inspections_part(path)
    xml = part(path, name)
    gap = re.sub(rb'<row r="4".*?</row>', b"", xml, flags=re.S)  # rows 1-3 and 5-7: row 4 missing
    rewrite(path, {name: gap})
    apply_edits(path, [SheetEdit("Inspections", cells={(4, 1): "in the gap"})])
    numbers = [int(n) for n in re.findall(rb'<row r="(\d+)"', part(path, name))]
    assert numbers == sorted(numbers) and 4 in numbers
    assert cell(path, 4, 1) == "in the gap" and urn(path, 5) == "100001" and urn(path, 3) == "100002"


def test_a_sheet_part_with_a_namespace_prefix_is_edited_the_sure_way(tmp_path):
    path = tracker(tmp_path)
    name = inspections_part(path)
    xml = part(path, name).replace(f'xmlns="{MAIN}"'.encode(), f'xmlns:x="{MAIN}"'.encode())
    xml = re.sub(rb"<(/?)(?!\?)(\w+)([\s>/])", rb"<\1x:\2\3", xml)  # every element of the main namespace prefixed
    rewrite(path, {name: xml})
    apply_edits(path, [SheetEdit("Inspections", cells={(3, 2): datetime(2026, 11, 16, 9, 0)})])
    assert cell(path, 3, 2) == datetime(2026, 11, 16, 9, 0)


def test_a_cell_without_its_reference_is_refused_as_before(tmp_path):
    path = tracker(tmp_path)
    name = inspections_part(path)
    xml = re.sub(rb'<c r="[A-Z]+3"', b"<c", part(path, name), count=1)
    rewrite(path, {name: xml})
    with pytest.raises(WorkbookError, match="leaves cell references out"):
        apply_edits(path, [SheetEdit("Inspections", cells={(7, 2): "x"})])
