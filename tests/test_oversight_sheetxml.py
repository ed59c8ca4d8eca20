"""The oversight workbook's Inspections rows written straight as sheet XML are the very bytes
openpyxl writes for the same cells (so a reader sees the same workbook)."""

from __future__ import annotations

import dataclasses
import zipfile
from datetime import datetime

import openpyxl

from automation.calendar import LONDON
from automation.oversight.figures import Facts
from automation.oversight.workbook import DETAIL, build_oversight
from automation.safefiles import put_at

NOW = datetime(2026, 11, 19, 9, 30, tzinfo=LONDON)


def _facts() -> list[Facts]:
    base = Facts("OFS-1", "Alpha & <Beta> School", "100001", "2026-27 Autumn", "North", "Sam Sim", "Renewed", "Full",
                 "Not yet recorded", datetime(2026, 11, 16, 8, 5, tzinfo=LONDON), "In time", 1.25, 2, 1, 0,
                 True, False, 3, 1, "Requested")
    odd = [dict(inspection_id="OFS-2", school=" leading space", ack_hours=None, review="", concerns=False),
           dict(inspection_id="OFS-3", school="=SUM(A1:A2)", district="a\x01b", ack="Late", ack_hours=40.0),
           dict(inspection_id="OFS-4", school="Line\r\nbreak", urn="100004", kit_met=0, review="Complete")]
    return [base] + [dataclasses.replace(base, notified_at=datetime(2026, 11, 17 + i, 9, 0, tzinfo=LONDON), **o)
                     for i, o in enumerate(odd)]


def _sheet_xml(path, n: int) -> bytes:
    with zipfile.ZipFile(path) as z:
        return z.read(f"xl/worksheets/sheet{n}.xml")


def test_spliced_rows_are_what_openpyxl_writes(rules, tmp_path):
    facts = _facts()
    book = build_oversight(facts, rules, NOW, "Test LA", "tracker.xlsx")
    assert len(book.rows) == len(facts) - 1  # the first row is openpyxl's own
    book.save(tmp_path / "fast.xlsx")

    # The same workbook with every row through openpyxl's cells, as before.
    plain = build_oversight(facts, rules, NOW, "Test LA", "tracker.xlsx")
    for r, values in enumerate(plain.rows, start=3):
        for c, v in enumerate(values, start=1):
            cell = put_at(plain.detail, r, c, v)
            if isinstance(v, datetime):
                cell.number_format = "dd/mm/yyyy hh:mm"
    plain.book.save(tmp_path / "plain.xlsx")

    index = plain.book.worksheets.index(plain.detail) + 1
    assert _sheet_xml(tmp_path / "fast.xlsx", index) == _sheet_xml(tmp_path / "plain.xlsx", index)
    ws = openpyxl.load_workbook(tmp_path / "fast.xlsx")["Inspections"]
    assert ws.max_row == len(facts) + 1 and ws.auto_filter.ref == f"A1:T{len(facts) + 1}"
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    col = {attr: i for i, (_, attr, _) in enumerate(DETAIL)}
    assert rows[2][col["school"]] == "=SUM(A1:A2)" and rows[2][col["district"]] == "ab"  # text, never a formula
    assert rows[1][col["ack_hours"]] is None and rows[1][col["school"]] == " leading space"
    assert rows[3][col["notified_at"]] == datetime(2026, 11, 19, 9, 0)
    assert ws.cell(5, col["notified_at"] + 1).number_format == "dd/mm/yyyy hh:mm"


def test_one_inspection_needs_no_splice(rules, tmp_path):
    book = build_oversight(_facts()[:1], rules, NOW, "Test LA", "tracker.xlsx")
    assert book.rows == []
    book.save(tmp_path / "one.xlsx")
    ws = openpyxl.load_workbook(tmp_path / "one.xlsx")["Inspections"]
    assert ws.max_row == 2 and ws["A2"].value == "OFS-1"
