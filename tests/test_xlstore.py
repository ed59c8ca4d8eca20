"""The live-workbook store: the same RawWorkbook as the file reader, the same cells
written as the file store, and a number of Excel round trips that does not grow
with the tracker: both through the add-in's bulk macros ("bulk") and through xlwings
sheet by sheet, the fallback for an older add-in ("each")."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta

import openpyxl
import pytest
from conftest import SCHOOLS, inspection, write_tracker
from test_xlstore_double import FakeBook, _excel_value

from automation.addin.build import ADDIN_NAME
from automation.addin.xlstore import Grid, XlwingsStore, blocks
from automation.calendar import LONDON
from automation.errors import WorkbookError
from automation.mail.transport import MemoryTransport
from automation.run import run
from automation.workbook.reader import read_workbook

NOW = datetime(2026, 11, 16, 13, 5, tzinfo=LONDON)
WAYS = ["bulk", "each"]


def store(book, way: str) -> XlwingsStore:
    """The store as a click makes it: with the add-in's name (bulk macros) or without (older add-in)."""
    return XlwingsStore(book, ADDIN_NAME if way == "bulk" else None)


def two_inspections():
    return [inspection(),
            inspection(urn="100002", itype="Monitoring", notified=datetime(2026, 11, 16, 9, 0), start=datetime(2026, 11, 18),
                       **{"Concerns raised": "Yes", "Concern notes": "The head is worried about the lead inspector."})]


@pytest.mark.parametrize("way", WAYS)
def test_load_reads_what_the_file_reader_reads(tmp_path, way):
    path = write_tracker(tmp_path / "tracker.xlsx", inspections=two_inspections())
    book = FakeBook.from_file(path)
    raw = store(book, way).load()
    ref = read_workbook(path)
    assert set(raw.sheets) == set(ref.sheets)
    for name, sheet in ref.sheets.items():
        got = raw.sheets[name]
        assert (got.header_row, got.columns, got.rows) == (sheet.header_row, sheet.columns, sheet.rows), name
    # URNs are numbers in Excel (floats); they read back as whole numbers, like openpyxl's.
    assert raw.sheets["Schools"].rows[0][1]["URN"] == ref.sheets["Schools"].rows[0][1]["URN"]


@pytest.mark.parametrize("way", WAYS)
def test_a_title_above_the_table_and_a_blank_first_column(tmp_path, way):
    path = write_tracker(tmp_path / "tracker.xlsx", inspections=two_inspections())
    wb = openpyxl.load_workbook(path)
    ws = wb["Inspections"]
    ws.insert_rows(1)
    ws.insert_cols(1)
    ws["B1"] = "Inspections — autumn 2026"
    wb.save(path)
    book = FakeBook.from_file(path)
    got = store(book, way).load().sheets["Inspections"]
    ref = read_workbook(path).sheets["Inspections"]
    assert got.header_row == ref.header_row == 2
    assert got.columns == ref.columns and got.columns["Inspection ID"] == 2
    assert got.rows == ref.rows


@pytest.mark.parametrize("way", WAYS)
def test_a_run_on_the_open_workbook_writes_what_the_file_store_writes(tmp_path, cfg, way):
    src = write_tracker(tmp_path / "src.xlsx", inspections=two_inspections())
    (tmp_path / "file").mkdir()
    (tmp_path / "live").mkdir()
    on_disk = shutil.copy(src, tmp_path / "file" / "tracker.xlsx")
    live = shutil.copy(src, tmp_path / "live" / "tracker.xlsx")
    book = FakeBook.from_file(live)
    t_file, t_live = MemoryTransport(), MemoryTransport()
    r_file = run(on_disk, cfg, NOW, transport=t_file)
    r_live = run(live, cfg, NOW, transport=t_live, store=store(book, way))
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


@pytest.mark.parametrize("way", WAYS)
def test_problems_sheet_is_rewritten_in_one_block_and_the_rest_cleared(tmp_path, cfg, way):
    bad = [inspection(urn="999999"), inspection(urn="100002", itype="Nonsense")]
    path = write_tracker(tmp_path / "tracker.xlsx", inspections=bad)
    book = FakeBook.from_file(path)
    run(path, cfg, NOW, transport=MemoryTransport(), store=store(book, way))
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
    run(path, cfg, NOW, transport=MemoryTransport(), store=store(book, way))
    assert max(r for r, _ in problems) == 1
    if way == "each":
        assert book.xl.calls["range.clear_contents"] == 1
    else:  # one read and one write (with the clear in it), after finding the app
        assert dict(book.xl.calls) == {"book.app": 1, "macro()": 2}


@pytest.mark.parametrize("way", WAYS)
def test_missing_problems_sheet_is_added(tmp_path, cfg, way):
    path = write_tracker(tmp_path / "tracker.xlsx", inspections=[inspection(urn="999999")])
    wb = openpyxl.load_workbook(path)
    del wb["Problems"]
    wb.save(path)
    book = FakeBook.from_file(path)
    run(path, cfg, NOW, transport=MemoryTransport(), store=store(book, way))
    problems = book.by_name["Problems"]
    assert problems.cells[(1, 1)] == "Found at" and any(v == "999999" for v in problems.cells.values())


@pytest.mark.parametrize("way", WAYS)
def test_urn_typed_as_a_number_reads_as_a_whole_number(tmp_path, way):
    schools = [dict(SCHOOLS[0], URN=100001)]  # a number in the workbook
    path = write_tracker(tmp_path / "t.xlsx", schools=schools)
    raw = store(FakeBook.from_file(path), way).load()
    assert raw.sheets["Schools"].rows[0][1]["URN"] == 100001


def test_bulk_read_is_one_call_that_also_says_where_and_what_is_selected(tmp_path):
    path = write_tracker(tmp_path / "tracker.xlsx", inspections=two_inspections())
    book = FakeBook.from_file(path)
    book.select("Inspections", 3)
    st = store(book, "bulk")
    assert st.selection() == ("Inspections", 3) and st.path == path
    raw = st.load()  # what the selection's read fetched, served without asking Excel again
    assert dict(book.xl.calls) == {"book.app": 1, "macro()": 1}
    assert raw.sheets["Inspections"].rows == read_workbook(path).sheets["Inspections"].rows
    # COM stamps dates with a time zone: the store gives the cell's wall-clock time, as the file reader
    notified = raw.sheets["Inspections"].rows[1][1]["Notified at"]
    assert notified == datetime(2026, 11, 16, 9, 0) and notified.tzinfo is None and type(notified) is datetime


@pytest.mark.parametrize("way", WAYS)
def test_sheet_names_are_matched_as_the_file_reader_matches_them(tmp_path, way):
    path = write_tracker(tmp_path / "tracker.xlsx", inspections=two_inspections())
    wb = openpyxl.load_workbook(path)
    wb["Inspections"].title = "tmp"  # openpyxl numbers a title that differs only in case
    wb["tmp"].title = "INSPECTIONS"
    wb["Email log"].title = "Email  Log"
    wb.save(path)
    raw, ref = store(FakeBook.from_file(path), way).load(), read_workbook(path)
    assert set(raw.sheets) == set(ref.sheets) and raw.sheets["Email log"].name == "Email  Log"
    assert raw.sheets["Inspections"].rows == ref.sheets["Inspections"].rows
    assert raw.sheets["Inspections"].name == "INSPECTIONS"


def test_an_older_addin_takes_the_slower_way_once_and_says_why(tmp_path, cfg):
    path = write_tracker(tmp_path / "tracker.xlsx", inspections=two_inspections())
    book = FakeBook.from_file(path, addin=False)  # the add-in loaded in Excel has no bulk macros
    st = store(book, "bulk")
    result = run(path, cfg, NOW, transport=MemoryTransport(), store=st)
    assert result.saved and result.cells_written > 0
    assert book.xl.calls["macro()"] == 1  # tried once; then xlwings sheet by sheet, reads and writes
    assert book.xl.calls["range.value get"] == 8 and book.xl.calls["range.value set"] >= 1
    assert "older than ofsted-tracker" in st.note and "Cannot run the macro" in st.note
    assert "reinstall the add-in" in st.note
    # without the add-in's name (its dispatcher predates the macros), nothing is tried
    old = store(FakeBook.from_file(path), "each")
    old.load()
    assert "macro()" not in old.book.xl.calls and "older than ofsted-tracker" in old.note


def test_a_write_excel_refuses_is_reported_and_nothing_is_lost(tmp_path, cfg):
    path = write_tracker(tmp_path / "tracker.xlsx", inspections=two_inspections())
    book = FakeBook.from_file(path)
    book.protected.add("Inspections")
    t = MemoryTransport()
    result = run(path, cfg, NOW, transport=t, store=store(book, "bulk"))
    assert t.sent and not result.saved
    assert "protected sheet" in result.save_note and "Unprotect Sheet" in result.save_note
    assert "every email sent is in the journal" in result.save_note
    # once unprotected, the next run writes the updates and sends nothing again
    book.protected.clear()
    again = MemoryTransport()
    result = run(path, cfg, NOW, transport=again, store=store(book, "bulk"))
    assert result.saved and again.sent == [] and book.by_name["Inspections"].value_at(2, "Status")


def test_a_never_saved_workbook_is_refused_on_both_ways(tmp_path):
    path = write_tracker(tmp_path / "tracker.xlsx", inspections=two_inspections())
    for way in WAYS:
        with pytest.raises(WorkbookError, match="has not been saved yet"):
            store(FakeBook.from_file(path, fullname="Book1"), way).path


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
               xw.App: ("alert", "status_bar", "macro"),
               xw.main.Macro: ("__call__", "run")}
    for cls, names in surface.items():
        for name in names:
            assert hasattr(cls, name), f"{cls.__name__}.{name}"
    alert = inspect.signature(xw.App.alert).parameters
    assert {"prompt", "title", "buttons", "mode"} <= set(alert)
    assert "after" in inspect.signature(xw.main.Sheets.add).parameters
    # app.macro(name)(*args) is Application.Run(name, *args): one call to Excel, args as given
    calls = []

    class Impl:
        def run(self, macro, args):
            calls.append((macro, args))
            return "done"
    app = xw.App.__new__(xw.App)
    app.impl = Impl()
    assert app.macro("'OfstedTracker.xlam'!OfstedStore.OfstedReadSheets")(1, ["Schools"]) == "done"
    assert calls == [("'OfstedTracker.xlam'!OfstedStore.OfstedReadSheets", [1, ["Schools"]])]
