"""Long wrapped text on the Problems and Follow-ups sheets gets a row height, so it reads in
LibreOffice (which does not grow a row for wrapped text written without one) as in Excel."""

from __future__ import annotations

import subprocess
import sys

import openpyxl

from tests.conftest import inspection, write_tracker


def test_problem_rows_are_tall_enough_for_their_text(tmp_path):
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection(urn="999999"), inspection()])
    wb = openpyxl.load_workbook(path)  # widths as the template gives them
    for letter in "ABCDEFGHIJ":
        wb["Problems"].column_dimensions[letter].width = 30
    wb.save(path)
    done = subprocess.run([sys.executable, "-m", "automation.cli", "run", str(path), "--now", "2026-11-16T12:20"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    ws = openpyxl.load_workbook(path)["Problems"]
    widths = {k: d.width for k, d in ws.column_dimensions.items() if d.width}
    long_rows = [r for r in range(2, ws.max_row + 1)
                 if any(isinstance(c.value, str) and widths.get(c.column_letter)
                        and len(c.value) > 1.2 * widths[c.column_letter] for c in ws[r])]
    assert long_rows, "the test needs a problem whose text wraps"
    for r in long_rows:
        assert (ws.row_dimensions[r].height or 0) >= 30, r
