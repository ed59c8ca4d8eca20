"""The streaming reader (rows a row at a time from calamine, sheet parts scanned in chunks) reads
what openpyxl reads, cell for cell, on the sample tracker and on a tracker laid out awkwardly;
and the chunked scan of a part finds the same formulas, error cells and merges as a whole-part scan."""

from __future__ import annotations

import zipfile
from datetime import date, datetime

import openpyxl
import pytest

from automation.rules import load_rules
from automation.workbook import cells, package, reader, schema
from automation.workbook.raw import Formula
from automation.workbook.reader import read_workbook
from automation.workbook.sample import build_sample
from tests.conftest import inspection, write_tracker


def openpyxl_sheet(path, spec, header_row):
    """(row number, header -> value) below the header as openpyxl reads them, blanks left out."""
    ws = openpyxl.load_workbook(path)[spec.name]
    head = {}
    for c in ws[header_row]:
        if isinstance(c.value, str) and c.value.strip() in spec.headers():
            head[c.value.strip()] = c.column
    out = {}
    for n in range(header_row + 1, ws.max_row + 1):
        row = {}
        for h, col in head.items():
            cell = ws.cell(n, col)
            v = Formula(str(cell.value)) if cell.data_type == "f" else cell.value
            if v is not None and not (isinstance(v, str) and not v.strip()):
                row[h] = v
        out[n] = row
    return out


def assert_same_as_openpyxl(path):
    raw = read_workbook(path)
    assert raw.sheets, "nothing was read"
    for name, sheet in raw.sheets.items():
        spec = schema.BY_NAME[name]
        ours = {n: c for n, c in sheet.rows}
        theirs = openpyxl_sheet(path, spec, sheet.header_row)
        for n, row in theirs.items():
            assert ours.get(n, {}) == row, (name, n)
            assert {h: type(v) for h, v in ours.get(n, {}).items()} == {h: type(v) for h, v in row.items()}, (name, n)
        assert not {n for n, c in ours.items() if c} - set(theirs), name  # nothing read that openpyxl lacks
    return raw


def test_the_sample_tracker_reads_as_openpyxl_reads_it(tmp_path):
    path = build_sample(tmp_path / "sample.xlsx", load_rules(None), date(2026, 11, 19))
    raw = assert_same_as_openpyxl(path)
    assert len(raw.sheets["Inspections"].rows) > 10 and raw.sheets["Schools"].rows


def test_a_table_starting_in_column_c_below_a_title_reads_as_openpyxl_reads_it(tmp_path):
    rows = [inspection(urn=f"1000{i:02d}", notified=datetime(2026, 11, 2 + i, 9, 0), start=datetime(2026, 11, 3 + i),
                       **{"Lead inspector": f"HMI {i}", "Concerns raised": "Yes" if i % 2 else ""}) for i in range(12)]
    path = write_tracker(tmp_path / "t.xlsx", inspections=rows)
    wb = openpyxl.load_workbook(path)
    for name in ("Inspections", "Follow-ups", "Schools"):
        ws = wb[name]
        ws.insert_cols(1, 2)  # columns A and B blank: calamine's rows start at column C
        ws.insert_rows(1, 3)
        ws["C1"] = f"{name} — Example County"
    ws = wb["Inspections"]
    head = {c.value: c.column for c in ws[4] if c.value}
    ws.cell(7, head["URN"], "=Schools!C5")  # a formula
    ws.cell(8, head["Lead inspector"]).value = "#N/A"
    ws.cell(8, head["Lead inspector"]).data_type = "e"  # an error cell
    ws.merge_cells(start_row=9, start_column=head["Nominee"], end_row=9, end_column=head["Nominee"] + 1)
    wb.save(path)
    raw = assert_same_as_openpyxl(path)
    sheet = raw.sheets["Inspections"]
    assert sheet.header_row == 4 and sheet.columns["URN"] == head["URN"]
    cells_of = dict(sheet.rows)
    assert cells_of[7]["URN"] == Formula("=Schools!C5") and cells_of[8]["Lead inspector"] == "#N/A"
    assert len(sheet.merged) == 1 and sheet.merged[0].endswith("9")


def _whole_scan(path, part):
    with zipfile.ZipFile(path) as z:
        data = z.read(part)
    return cells.special_cells(data, part), [m.decode() for m in reader._MERGE.findall(data)]


@pytest.mark.parametrize("chunk", [7, 64, 300, 1 << 20])
@pytest.mark.parametrize("formulas", [False, True])
def test_the_chunked_scan_finds_what_a_whole_part_scan_finds(tmp_path, monkeypatch, chunk, formulas):
    rows = [inspection(urn=f"1000{i:02d}", notified=datetime(2026, 11, 2, 9, i), start=datetime(2026, 11, 3))
            for i in range(30)]
    path = write_tracker(tmp_path / "t.xlsx", inspections=rows)
    wb = openpyxl.load_workbook(path)
    ws = wb["Inspections"]
    for r in range(3, 30, 3):  # merges all through the part, some across a chunk's edge
        ws.merge_cells(start_row=r, start_column=7, end_row=r, end_column=8)
    if formulas:
        ws.cell(25, 3, "=Schools!A2")
        ws.cell(26, 7).value = "#REF!"
        ws.cell(26, 7).data_type = "e"
    wb.save(path)
    with zipfile.ZipFile(path) as z:
        part = package.sheet_parts(z)["Inspections"]
        whole = _whole_scan(path, part)
        monkeypatch.setattr(reader, "_CHUNK", chunk)
        got = reader.scan_part(z, part)
    assert (got.special, got.merges) == whole
    assert len(got.merges) == 9 and bool(got.special) is formulas
    assert got.cells == 31 * len(schema.INSPECTIONS.columns)  # its <dimension>: the header and 30 rows


def test_a_mark_in_cell_text_is_not_taken_for_a_formula(tmp_path):
    # The tool's own keys read "OFS-…:feedback_form": text, never a formula.
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection(**{"Lead inspector": 'a:f> <f> t="e"'})])
    raw = read_workbook(path)
    assert dict(raw.sheets["Inspections"].rows)[2]["Lead inspector"] == 'a:f> <f> t="e"'
