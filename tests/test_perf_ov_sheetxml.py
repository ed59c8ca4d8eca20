"""The Inspections rows written once per distinct value are the very text written cell by cell
(which test_oversight_sheetxml.py checks against openpyxl's own bytes)."""

from __future__ import annotations

from datetime import date, datetime

from automation.oversight.sheetxml import _row, _rows_xml


def test_rows_written_once_per_value_are_the_same_text_as_cell_by_cell():
    rows = [["OFS-1", "Alpha & <Beta>", 1, 1.0, -0.0, 0.0, None, datetime(2026, 11, 16, 8, 5), "Yes", 2.96],
            ["OFS-2", " leading", 1.0, 1, 0.0, -0.0, "", date(2026, 11, 17), "Yes", None],
            ["OFS-3", "=SUM(A1:A2)", 10 ** 20, 1e-7, float("nan"), 3, "a\x01b", None, "Line\r\nbreak", 2.96],
            ["OFS-4", "Alpha & <Beta>", 1, 1.0]]  # a short row, and values seen before
    fast = _rows_xml(rows, 3, 7)
    assert fast == "".join(_row(r, values, 7) for r, values in enumerate(rows, start=3))
    # -0.0 == 0.0 (and hashes alike), yet openpyxl writes them differently: never one cached text.
    assert '<c r="E3" t="n"><v>-0</v></c><c r="F3" t="n"><v>0</v></c>' in fast
    assert '<c r="E4" t="n"><v>0</v></c><c r="F4" t="n"><v>-0</v></c>' in fast
    assert fast.count("<row ") == 4 and '<c r="H3" s="7" t="n">' in fast
