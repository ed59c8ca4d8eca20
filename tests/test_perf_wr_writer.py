"""The writer's cheaper per-cell work gives the same cells: a new cell takes the style of the
nearest styled cell above it (rows just written included) or its column's, a row whose cells
are out of column order is written without a second cell for a column, a sheet with rich text
is still edited row by row, and the dry-run count and the save are planned once between them."""

from __future__ import annotations

import re
import zipfile
from dataclasses import replace
from datetime import datetime

import openpyxl
from openpyxl.styles import Font, NamedStyle

from automation.errors import Problem
from automation.update import TrackerUpdate
from automation.workbook import package as pkg
from automation.workbook import schema
from automation.workbook.store import WorkbookStore
from automation.workbook.writer import SheetEdit, apply_edits
from tests.conftest import inspection, write_tracker
from tests.test_workbook_safety import part, rewrite


def sheet_part(path, name="Inspections") -> str:
    with zipfile.ZipFile(path) as z:
        return pkg.sheet_parts(z)[name]


def test_new_cells_take_the_nearest_style_above_or_their_columns(tmp_path):
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection(), inspection(), inspection()])
    wb = openpyxl.load_workbook(path)
    ws = wb["Inspections"]
    ws.cell(2, 20).font = Font(bold=True)  # T2: bold; T3 empty; T4 italic
    ws.cell(4, 21).font = Font(italic=True)  # U4 italic, nothing in U above it
    wb.add_named_style(NamedStyle("struck", font=Font(strike=True)))
    ws.column_dimensions["V"].font = Font(strike=True)  # V: a column style, no cell styled
    wb.save(path)
    apply_edits(path, [SheetEdit("Inspections", cells={(5, 20): "a", (5, 21): "b", (5, 22): "c",
                                                       (6, 20): "d", (6, 21): "e", (3, 20): "f"})])
    ws = openpyxl.load_workbook(path)["Inspections"]
    assert ws.cell(3, 20).font.b and ws.cell(5, 20).font.b and ws.cell(6, 20).font.b  # from T2, through T3 and T5
    assert ws.cell(5, 21).font.i and ws.cell(6, 21).font.i  # from U4, then the U5 just written
    assert not ws.cell(5, 20).font.i and not ws.cell(5, 21).font.b
    assert ws.cell(5, 22).font.strike  # the column's style
    assert [ws.cell(r, c).value for r, c in ((5, 20), (5, 21), (5, 22), (6, 20), (6, 21), (3, 20))] == list("abcdef")


def test_a_row_with_its_cells_out_of_order_gets_no_second_cell_for_a_column(tmp_path):
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection(), inspection()])
    name = sheet_part(path)
    xml = part(path, name)
    row = re.search(rb'<row r="2".*?</row>', xml, re.S).group(0)
    cells = re.findall(rb"<c .*?(?:/>|</c>)", row, re.S)
    shuffled = row[:row.index(cells[0])] + b"".join([cells[2], cells[0], cells[1], *cells[3:]]) + b"</row>"
    rewrite(path, {name: xml.replace(row, shuffled)})
    col = pkg.split_ref(re.search(rb'r="([A-Z]+\d+)"', cells[0]).group(1).decode())[1]
    apply_edits(path, [SheetEdit("Inspections", cells={(2, col): "written", (2, 30): "new"})])
    written = re.search(rb'<row r="2".*?</row>', part(path, name), re.S).group(0)
    refs = re.findall(rb'<c r="([A-Z]+)2"', written)
    assert len(refs) == len(set(refs)), refs
    ws = openpyxl.load_workbook(path)["Inspections"]
    assert ws.cell(2, col).value == "written" and ws.cell(2, 30).value == "new"


def test_a_sheet_with_rich_text_is_still_edited_row_by_row(tmp_path):
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection(), inspection(), inspection()])
    name = sheet_part(path)
    xml = part(path, name)
    rich = (b'<c r="Z3" t="inlineStr"><is><r><rPr><color rgb="FFFF0000"/><b/></rPr><t>red</t></r>'
            b'<r><t> and plain</t></r></is></c>')
    xml = re.sub(rb'(<row r="3".*?)(</row>)', lambda m: m.group(1) + rich + m.group(2), xml, count=1, flags=re.S)
    rewrite(path, {name: xml})
    untouched = re.search(rb'<row r="3".*?</row>', xml, re.S).group(0)
    apply_edits(path, [SheetEdit("Inspections", cells={(2, 2): "x", (4, 2): "y"})])
    after = part(path, name)
    assert untouched in after, "the row not written is copied byte for byte"
    ws = openpyxl.load_workbook(path)["Inspections"]
    assert ws.cell(2, 2).value == "x" and ws.cell(4, 2).value == "y" and ws["Z3"].value == "red and plain"


def test_the_dry_run_count_and_the_save_plan_once_and_see_a_changed_update(tmp_path, monkeypatch):
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection()])
    store = WorkbookStore(path)
    store.load()
    one = Problem("error", "Inspections", 2, "URN", "999991", "no school has URN 999991", "correct the URN")
    update = TrackerUpdate(found_at=datetime(2026, 11, 16, 12, 0), problems=[one])
    from automation.workbook import store as store_module
    made = []
    real = store_module._problems
    monkeypatch.setattr(store_module, "_problems", lambda sheet, upd: made.append(1) or real(sheet, upd))
    width = len(schema.PROBLEMS.headers())
    assert store.pending(update) == width
    assert store.pending(update) == width and len(made) == 1, "planned once"
    update.problems.append(replace(one, row=3, value="999992"))  # the caller changes its update after the count
    assert store.save(update) == 2 * width and len(made) == 2, "planned again for what changed"
    ws = openpyxl.load_workbook(path)["Problems"]
    assert [ws.cell(r, 6).value for r in (2, 3)] == ["999991", "999992"]


def test_parts_the_tool_does_not_touch_are_copied_packed_as_they_are(tmp_path):
    made = write_tracker(tmp_path / "made.xlsx", inspections=[inspection(), inspection()],
                         extra_sheets={"My figures": [["Term", "Count"], ["Autumn", 3]]})
    path = tmp_path / "t.xlsx"
    # Packed harder than the writer packs (as another program might): unpacking and packing
    # again would change every part's bytes.
    with zipfile.ZipFile(made) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info))
    with zipfile.ZipFile(path) as z:
        before = {i.filename: (i.CRC, i.compress_size, z.read(i)) for i in z.infolist()}

    def packed(p, name):
        with open(p, "rb") as fh, zipfile.ZipFile(fh) as z:
            info = z.getinfo(name)
            fh.seek(info.header_offset + 26)
            skip = int.from_bytes(fh.read(2), "little") + int.from_bytes(fh.read(2), "little")
            fh.seek(info.header_offset + 30 + skip)
            return fh.read(info.compress_size)
    source = {name: packed(path, name) for name in before}
    apply_edits(path, [SheetEdit("Inspections", cells={(2, 2): "written"})])
    with zipfile.ZipFile(path) as z:
        assert z.testzip() is None, "every part's CRC checks"
        after = {i.filename: (i.CRC, i.compress_size, z.read(i)) for i in z.infolist()}
    edited = sheet_part(path)
    assert set(after) == set(before) and after[edited][2] != before[edited][2]
    for name in before:
        if name != edited:
            assert after[name] == before[name] and packed(path, name) == source[name], name
    assert openpyxl.load_workbook(path)["Inspections"].cell(2, 2).value == "written"
