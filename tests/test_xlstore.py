"""The live-workbook store: the same RawWorkbook as the file reader, the same cells
written as the file store, and a number of Excel round trips that does not grow
with the tracker."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta

import openpyxl
from conftest import SCHOOLS, inspection, write_tracker
from test_xlstore_double import FakeBook, _excel_value

from automation.addin.xlstore import Grid, XlwingsStore, blocks
from automation.calendar import LONDON
from automation.mail.transport import MemoryTransport
from automation.run import run
from automation.workbook.reader import read_workbook

NOW = datetime(2026, 11, 16, 13, 5, tzinfo=LONDON)


def two_inspections():
    return [inspection(),
            inspection(urn="100002", itype="Monitoring", notified=datetime(2026, 11, 16, 9, 0), start=datetime(2026, 11, 18),
                       **{"Concerns raised": "Yes", "Concern notes": "The head is worried about the lead inspector."})]


def test_load_reads_what_the_file_reader_reads(tmp_path):
    path = write_tracker(tmp_path / "tracker.xlsx", inspections=two_inspections())
    book = FakeBook.from_file(path)
    raw = XlwingsStore(book).load()
    ref = read_workbook(path)
    assert set(raw.sheets) == set(ref.sheets)
    for name, sheet in ref.sheets.items():
        got = raw.sheets[name]
        assert (got.header_row, got.columns, got.rows) == (sheet.header_row, sheet.columns, sheet.rows), name
    # URNs are numbers in Excel (floats); they read back as whole numbers, like openpyxl's.
    assert raw.sheets["Schools"].rows[0][1]["URN"] == ref.sheets["Schools"].rows[0][1]["URN"]


def test_a_title_above_the_table_and_a_blank_first_column(tmp_path):
    path = write_tracker(tmp_path / "tracker.xlsx", inspections=two_inspections())
    wb = openpyxl.load_workbook(path)
    ws = wb["Inspections"]
    ws.insert_rows(1)
    ws.insert_cols(1)
    ws["B1"] = "Inspections — autumn 2026"
    wb.save(path)
    book = FakeBook.from_file(path)
    got = XlwingsStore(book).load().sheets["Inspections"]
    ref = read_workbook(path).sheets["Inspections"]
    assert got.header_row == ref.header_row == 2
    assert got.columns == ref.columns and got.columns["Inspection ID"] == 2
    assert got.rows == ref.rows


def test_a_run_on_the_open_workbook_writes_what_the_file_store_writes(tmp_path, cfg):
    src = write_tracker(tmp_path / "src.xlsx", inspections=two_inspections())
    (tmp_path / "file").mkdir()
    (tmp_path / "live").mkdir()
    on_disk = shutil.copy(src, tmp_path / "file" / "tracker.xlsx")
    live = shutil.copy(src, tmp_path / "live" / "tracker.xlsx")
    book = FakeBook.from_file(live)
    t_file, t_live = MemoryTransport(), MemoryTransport()
    r_file = run(on_disk, cfg, NOW, transport=t_file)
    r_live = run(live, cfg, NOW, transport=t_live, store=XlwingsStore(book))
    assert r_live.saved and r_file.saved
    assert [m.message_id for m in t_live.sent] == [m.message_id for m in t_file.sent] and t_live.sent
    assert r_live.cells_written == r_file.cells_written > 0
    wb = openpyxl.load_workbook(on_disk, data_only=True)
    compared = 0
    for ws in wb.worksheets:
        fake = book.by_name[ws.title].cells
        expected = {(c.row, c.column): _excel_value(c.value) for row in ws.iter_rows() for c in row if c.value is not None}
        assert fake == expected, ws.title
        compared += len(expected)
    assert compared > 100
    # and the Status column says where each inspection is
    assert book.by_name["Inspections"].value_at(2, "Status")


def test_writes_are_blocks_not_cells():
    grid = Grid("Inspections", 1, 1, [["Inspection ID", "Status", "URN", "Contact plan sent"]] +
                [[f"ID{i}", "Old", "100001", None] for i in range(2, 1002)])
    cells = {(r, 2): "New" for r in range(2, 1002, 2)}  # every other row changes
    cells[(500, 4)] = datetime(2026, 11, 16, 13, 5)
    cells[(3, 1)] = "ID3b"
    out = list(blocks(cells, grid))
    assert len(out) == 2  # columns 1-2 together, column 4 alone
    (top, left), block = out[0]
    assert (top, left) == (2, 1) and len(block) == 999
    assert block[0] == ["ID2", "New"] and block[1] == ["ID3b", "Old"]  # unchanged cells keep what was read
    assert out[1] == ((500, 4), [[datetime(2026, 11, 16, 13, 5)]])


def test_problems_sheet_is_rewritten_in_one_block_and_the_rest_cleared(tmp_path, cfg):
    bad = [inspection(urn="999999"), inspection(urn="100002", itype="Nonsense")]
    path = write_tracker(tmp_path / "tracker.xlsx", inspections=bad)
    book = FakeBook.from_file(path)
    run(path, cfg, NOW, transport=MemoryTransport(), store=XlwingsStore(book))
    problems = book.by_name["Problems"].cells
    rows_before = max(r for r, _ in problems)
    assert rows_before >= 3
    # the officer fixes the rows: the next run leaves only the header
    sheet = book.by_name["Inspections"]
    urn_col = next(c for (r, c), v in sheet.cells.items() if r == 1 and v == "URN")
    type_col = next(c for (r, c), v in sheet.cells.items() if r == 1 and v == "Inspection type")
    sheet.cells[(2, urn_col)] = 100001.0
    sheet.cells[(3, type_col)] = "Full"
    book.xl.reset()
    run(path, cfg, NOW, transport=MemoryTransport(), store=XlwingsStore(book))
    assert max(r for r, _ in problems) == 1
    assert book.xl.calls["range.clear_contents"] == 1


def test_missing_problems_sheet_is_added(tmp_path, cfg):
    path = write_tracker(tmp_path / "tracker.xlsx", inspections=[inspection(urn="999999")])
    wb = openpyxl.load_workbook(path)
    del wb["Problems"]
    wb.save(path)
    book = FakeBook.from_file(path)
    run(path, cfg, NOW, transport=MemoryTransport(), store=XlwingsStore(book))
    problems = book.by_name["Problems"]
    assert problems.cells[(1, 1)] == "Found at" and any(v == "999999" for v in problems.cells.values())


def test_urn_typed_as_a_number_reads_as_a_whole_number(tmp_path):
    schools = [dict(SCHOOLS[0], URN=100001)]  # a number in the workbook
    path = write_tracker(tmp_path / "t.xlsx", schools=schools)
    raw = XlwingsStore(FakeBook.from_file(path)).load()
    assert raw.sheets["Schools"].rows[0][1]["URN"] == 100001


def big_tracker(path, n: int):
    """n inspections, two per school (a first and a later one, 30 weeks apart), spread
    over the same weeks of the 2024 framework whatever n is: 10 rows and 10,000 rows
    have the same mix of states, so the same kinds of cells change."""
    pairs = n // 2
    schools = [dict(SCHOOLS[0], URN=str(200000 + k), **{"School name": f"School {k}"}) for k in range(pairs)]

    def when(i):
        k, later = divmod(i, 2)
        return datetime(2024, 1, 8, 9, 0) + timedelta(days=7 * (k * 10 // pairs) + 210 * later)
    rows = [inspection(urn=str(200000 + i // 2), itype="Graded", notified=when(i),
                       start=when(i).replace(hour=0) + timedelta(days=1)) for i in range(n)]
    return write_tracker(path, schools=schools, inspections=rows)


def test_the_double_only_uses_what_xlwings_really_has():
    """Every name the store and the actions call on the double exists on real xlwings."""
    import inspect

    xw = __import__("pytest").importorskip("xlwings")
    surface = {xw.Book: ("fullname", "sheet_names", "sheets", "selection", "app"),
               xw.Sheet: ("used_range", "range", "name"),
               xw.Range: ("address", "options", "value", "clear_contents", "row", "sheet"),
               xw.main.Sheets: ("add", "__getitem__"),
               xw.App: ("alert", "status_bar")}
    for cls, names in surface.items():
        for name in names:
            assert hasattr(cls, name), f"{cls.__name__}.{name}"
    alert = inspect.signature(xw.App.alert).parameters
    assert {"prompt", "title", "buttons", "mode"} <= set(alert)
    assert "after" in inspect.signature(xw.main.Sheets.add).parameters
