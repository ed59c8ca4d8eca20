"""The write-back streams a sheet part: read from the package a chunk at a time, its rows kept in
a temporary file, written into the new package as it goes. The bytes written do not depend on
how the part was cut into chunks (rows split across chunks, odd layouts that take the full
parse), the whole part is never held in memory, and every temporary file goes, a failed save
included, leaving the tracker as it was."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tracemalloc
import zipfile

import openpyxl
import pytest

from automation.errors import WorkbookError, WorkbookNoRoom
from automation.workbook import package as pkg
from automation.workbook import rowbytes
from automation.workbook.writer import SheetEdit, apply_edits
from tests.conftest import inspection, write_tracker
from tests.test_workbook_safety import part, rewrite

EDITS = {(3, 2): "written", (5, 1): 17, (9, 2): "added below", (2, 40): "far right"}


def tracker(tmp_path, name="t.xlsx", rows=6):
    return write_tracker(tmp_path / name, inspections=[inspection(urn=f"10000{i % 3 + 1}", Notes=f"note {i}")
                                                       for i in range(rows)])


def sheet_part(path, name="Inspections") -> str:
    with zipfile.ZipFile(path) as z:
        return pkg.sheet_parts(z)[name]


def parts(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {i.filename: z.read(i) for i in z.infolist()}


def written_with_chunk(tmp_path, monkeypatch, source, chunk: int, edits) -> dict[str, bytes]:
    """The parts after the edits, with the writer reading and writing `chunk` bytes at a time."""
    path = tmp_path / f"chunk{chunk}.xlsx"
    path.write_bytes(source.read_bytes())
    monkeypatch.setattr(rowbytes, "CHUNK", chunk)
    apply_edits(path, [SheetEdit("Inspections", dict(cells)) for cells in edits])
    return parts(path)


def same_whatever_the_chunk(tmp_path, monkeypatch, source, edits=(EDITS,)) -> dict[str, bytes]:
    """Every chunk size gives the same parts as the default (rows cut anywhere, even byte by byte)."""
    default = written_with_chunk(tmp_path, monkeypatch, source, rowbytes.CHUNK, edits)
    for chunk in (1, 7, 100, 4096):
        assert written_with_chunk(tmp_path, monkeypatch, source, chunk, edits) == default, chunk
    return default


def test_rows_cut_across_chunks_give_the_same_part_and_the_rest_untouched(tmp_path, monkeypatch):
    source = tracker(tmp_path)
    before = parts(source)
    after = same_whatever_the_chunk(tmp_path, monkeypatch, source)
    name = sheet_part(source)
    assert {n for n in before if before[n] != after[n]} == {name}, "only the edited sheet part changes"
    path = tmp_path / "chunk1.xlsx"  # the last one written: byte by byte
    ws = openpyxl.load_workbook(path)["Inspections"]
    assert [ws.cell(r, c).value for r, c in EDITS] == list(EDITS.values())
    assert ws.cell(4, 1).value == openpyxl.load_workbook(source)["Inspections"].cell(4, 1).value
    old_rows = dict(re.findall(rb'<row r="(\d+)"(.*?)</row>', before[name], re.S))
    new_rows = dict(re.findall(rb'<row r="(\d+)"(.*?)</row>', after[name], re.S))
    assert [n for n in old_rows if old_rows[n] != new_rows[n]] == [b"2", b"3", b"5"]  # the rows written


@pytest.mark.parametrize("layout", ["spaced", "self-closed", "out of order", "rich text", "prefixed", "empty"])
def test_unusual_layouts_give_the_same_part_whatever_the_chunk(tmp_path, monkeypatch, layout):
    source = tracker(tmp_path, "source.xlsx")
    name = sheet_part(source)
    xml = part(source, name)
    if layout == "spaced":  # white space between the rows, as a pretty-printer leaves it
        xml = xml.replace(b"<row ", b"\n  <row ").replace(b"</sheetData>", b"\n</sheetData>")
    elif layout == "self-closed":  # an empty row written as <row .../>, between rows with cells
        xml = xml.replace(b"</sheetData>", b'<row r="30" spans="1:3"/></sheetData>')
        xml = re.sub(rb'(<row r="7")', rb'<row r="6" ht="20" customHeight="1"/>\1', xml.replace(
            re.search(rb'<row r="6".*?</row>', xml, re.S).group(0), b""), count=1)
    elif layout == "out of order":  # rows 4 and 5 swapped: found by their numbers, not by bisection
        four, five = (re.search(rb'<row r="%d".*?</row>' % n, xml, re.S).group(0) for n in (4, 5))
        assert four + five in xml
        xml = xml.replace(four + five, five + four)
    elif layout == "rich text":  # "<color" in a row: the pattern decides that every cell has its reference
        rich = (b'<c r="Z4" t="inlineStr"><is><r><rPr><color rgb="FFFF0000"/></rPr><t>red</t></r></is></c>')
        xml = re.sub(rb'(<row r="4".*?)(</row>)', lambda m: m.group(1) + rich + m.group(2), xml, count=1, flags=re.S)
    elif layout == "prefixed":  # not laid out as Excel writes it: the whole part is parsed
        xml = xml.replace(f'xmlns="{pkg.NS["m"]}"'.encode(), f'xmlns:x="{pkg.NS["m"]}"'.encode())
        xml = re.sub(rb"<(/?)(?!\?)(\w+)([\s>/])", rb"<\1x:\2\3", xml)
    else:  # no rows at all
        xml = re.sub(rb"<sheetData>.*</sheetData>", b"<sheetData/>", xml, flags=re.S)
    assert xml != part(source, name), "the layout is in place"
    if layout == "self-closed":
        assert b'<row r="6" ht="20" customHeight="1"/><row r="7"' in xml
    rewrite(source, {name: xml})
    edits = ({(3, 2): "written", (4, 2): "four", (5, 2): "five", (9, 2): "added below"},) if layout != "empty" \
        else ({(1, 1): "URN", (2, 2): "x"},)
    after = same_whatever_the_chunk(tmp_path, monkeypatch, source, edits)
    ws = openpyxl.load_workbook(tmp_path / "chunk1.xlsx")["Inspections"]
    for (r, c), value in edits[0].items():
        assert ws.cell(r, c).value == value
    if layout == "rich text":
        assert ws["Z4"].value == "red"
    if layout == "out of order":
        assert re.findall(rb'<row r="(\d+)"', after[name])[3:6] == [b"5", b"4", b"6"], "kept as the user has it"
    if layout in ("spaced", "self-closed"):
        numbers = re.findall(rb'<row r="(\d+)"', after[name])
        assert numbers == sorted(numbers, key=int)


def test_two_edits_of_one_sheet_in_one_save_are_two_saves_in_one(tmp_path, monkeypatch):
    source = tracker(tmp_path, "source.xlsx")
    first, second = {(3, 2): "first", (9, 1): "new"}, {(3, 3): "second", (9, 2): "row"}
    together = same_whatever_the_chunk(tmp_path, monkeypatch, source, (first, second))
    path = tmp_path / "apart.xlsx"
    path.write_bytes(source.read_bytes())
    apply_edits(path, [SheetEdit("Inspections", dict(first))])
    apply_edits(path, [SheetEdit("Inspections", dict(second))])
    assert together == parts(path)


def big_tracker(tmp_path, rows: int):
    """A tracker whose Inspections part has `rows` rows (copies of a written row, renumbered)."""
    path = tracker(tmp_path, "big.xlsx", rows=2)
    name = sheet_part(path)
    xml = part(path, name)
    row = re.search(rb'<row r="2".*?</row>', xml, re.S).group(0)
    row = row.replace(b"</row>", b'<c r="BA2" t="inlineStr"><is><t>' + b"a long note " * 80 + b"</t></is></c></row>")
    body = b"".join(re.sub(rb'( r="[A-Z]*)2"', lambda m: m.group(1) + b"%d\"" % n, row) for n in range(2, rows + 2))
    xml = re.sub(rb'<row r="2".*</row>', lambda m: body, xml, count=1, flags=re.S)
    rewrite(path, {name: xml})
    return path, len(xml)


def test_the_whole_sheet_part_is_never_held_in_memory(tmp_path, monkeypatch):
    path, size = big_tracker(tmp_path, 2000)
    assert size > 2_000_000
    monkeypatch.setattr(rowbytes, "CHUNK", 64 * 1024)
    tracemalloc.start()
    try:
        apply_edits(path, [SheetEdit("Inspections", {(3, 2): "written", (2003, 1): "added"})])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Reading the part whole (as before) took its size at least, twice over while it was unpacked.
    assert peak < size / 2, (peak, size)
    ws = openpyxl.load_workbook(path, read_only=True)["Inspections"]
    got = {(r, c): ws.cell(r, c).value for r, c in ((3, 2), (2003, 1), (1500, 3))}
    assert got == {(3, 2): "written", (2003, 1): "added", (1500, 3): "100001"}


def test_every_temporary_file_goes_after_a_save_and_after_a_refused_one(tmp_path, monkeypatch):
    class Counted(rowbytes.RowFile):
        made: list = []

        def __init__(self):
            super().__init__()
            Counted.made.append(self)

    monkeypatch.setattr(rowbytes, "RowFile", Counted)
    Counted.made = []
    path = tracker(tmp_path)
    apply_edits(path, [SheetEdit("Inspections", {(3, 2): "x"}), SheetEdit("Inspections", {(4, 2): "y"}),
                       SheetEdit("Follow-ups", {(2, 1): "z"})])
    assert len(Counted.made) == 3 and all(f.fh.closed for f in Counted.made)
    Counted.made = []
    wb = openpyxl.load_workbook(path)
    wb["Inspections"].cell(12, 1).value = "a note below the data"
    wb.save(path)
    before = path.read_bytes()
    with pytest.raises(WorkbookNoRoom, match="row 12"):
        apply_edits(path, [SheetEdit("Follow-ups", {(2, 1): "z"}),
                           SheetEdit("Inspections", {(12, 2): "new"}, append_from=8)])
    assert len(Counted.made) == 2 and all(f.fh.closed for f in Counted.made)
    assert path.read_bytes() == before, "the tracker is left as it was"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".~ofsted-")] == []


@pytest.mark.parametrize("seed", range(6))
def test_rows_read_added_and_dropped_anywhere_land_where_they_belong(tmp_path, seed):
    """Rows written between, inside and after runs of rows not read (and a truncation), against
    the same edits made by openpyxl: every cell as expected, the rows in order, the rest as they were."""
    import random
    rng = random.Random(seed)
    path = tracker(tmp_path, rows=40)
    name = sheet_part(path)
    xml = part(path, name)
    gone = set(rng.sample(range(3, 42), 10))  # gaps: rows the sheet does not have
    xml = re.sub(rb'<row r="(\d+)".*?</row>', lambda m: b"" if int(m.group(1)) in gone else m.group(0), xml, flags=re.S)
    rewrite(path, {name: xml})
    ws = openpyxl.load_workbook(path)["Inspections"]
    expected = {(c.row, c.column): c.value for row in ws.iter_rows() for c in row if c.value is not None}
    cells = {(rng.randrange(2, 50), rng.randrange(1, 12)): f"v{k}" for k in range(25)}
    keep = rng.choice([None, rng.randrange(20, 45)])
    if keep is not None:
        cells = {(r, c): v for (r, c), v in cells.items() if r <= keep}
        expected = {(r, c): v for (r, c), v in expected.items() if r <= keep}
    expected.update(cells)
    apply_edits(path, [SheetEdit("Inspections", dict(cells), truncate_after=keep)])
    ws = openpyxl.load_workbook(path)["Inspections"]
    got = {(c.row, c.column): c.value for row in ws.iter_rows() for c in row if c.value is not None}
    assert {k: str(v) for k, v in got.items()} == {k: str(v) for k, v in expected.items()}
    after = part(path, name)
    numbers = [int(n) for n in re.findall(rb'<row r="(\d+)"', after)]
    assert numbers == sorted(set(numbers))
    untouched = {n for n in re.findall(rb'<row r="(\d+)"', xml)} - {str(r).encode() for r, _ in cells}
    for n in untouched:
        if keep is None or int(n) <= keep:
            old = re.search(rb'<row r="%s".*?</row>' % n, xml, re.S).group(0)
            assert old in after, n


SAVE_PEAK = """
import json, sys
from pathlib import Path
from automation.workbook.writer import SheetEdit, apply_edits
def status_kb(key):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(key + ":"))
path, last = Path(sys.argv[1]), int(sys.argv[2])
before = status_kb("VmRSS")
apply_edits(path, [SheetEdit("Inspections", {(3, 2): "written", (last + 1, 1): "added"})])
print(json.dumps({"grew_kb": status_kb("VmHWM") - before}))
"""
# VmHWM, not ru_maxrss: a child's ru_maxrss keeps the parent's size at fork (pytest's, here).


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc/self/status is Linux's")
def test_what_a_save_adds_does_not_grow_with_the_sheet(tmp_path):
    """Resident memory, so libxml2's own allocations count (tracemalloc sees only Python's): a
    save that parsed or held the whole part would grow with it, 10 times the rows here."""
    grew = {}
    for rows in (1000, 10000):
        folder = tmp_path / str(rows)
        folder.mkdir()
        path, size = big_tracker(folder, rows)
        out = subprocess.run([sys.executable, "-c", SAVE_PEAK, str(path), str(rows + 1)], capture_output=True,
                             text=True, timeout=300)
        assert out.returncode == 0, out.stderr
        grew[rows] = (json.loads(out.stdout)["grew_kb"], size)
    (small, _), (large, large_size) = grew[1000], grew[10000]
    assert large_size > 10_000_000
    # The whole part in memory once would be over 10 MB more; streaming keeps it to chunks and indexes.
    assert large - small < large_size / 1024 / 4, grew


def test_a_spooled_sheet_cut_short_is_one_line_and_the_tracker_is_left_as_it_was(tmp_path, monkeypatch):
    """The rows a save spools to the temporary folder come back short (the folder cleared, a disk
    fault): the save stops with one line naming the folder, nothing half-written is left."""
    path, _ = big_tracker(tmp_path, 300)
    before = path.read_bytes()

    def cut(self, a, b):
        self.fh.seek(a)
        yield self.fh.read(min(100, b - a))
        raise EOFError("a sheet part's temporary copy is cut short")

    monkeypatch.setattr(rowbytes.RowFile, "pieces", cut)
    with pytest.raises(WorkbookError) as exc:
        apply_edits(path, [SheetEdit("Inspections", {(3, 2): "written"})])
    line = str(exc.value)
    assert "was not changed" in line and "temporary folder" in line and "\n" not in line
    assert path.read_bytes() == before
    assert not list(tmp_path.glob(".~ofsted-*"))
