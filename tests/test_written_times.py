"""Times the tool writes are exact minutes: a serial rounded to 8 places read back as
06:15:59.999, which LibreOffice showed as a minute early."""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys

import openpyxl
import pytest

from tests.conftest import inspection, write_tracker


def test_contact_plan_sent_is_an_exact_minute(tmp_path):
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection()])
    done = subprocess.run([sys.executable, "-m", "automation.cli", "run", str(path), "--now", "2026-11-16T12:16"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode in (0, 1), done.stderr
    ws = openpyxl.load_workbook(path)["Inspections"]
    col = [c.value for c in ws[1]].index("Contact plan sent")
    sent = ws.cell(2, col + 1).value
    assert (sent.hour, sent.minute, sent.second, sent.microsecond) == (12, 16, 0, 0)
    if shutil.which("soffice") is None:
        pytest.skip("LibreOffice is not installed: the rendered check is skipped")
    subprocess.run(["soffice", "--headless", "--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,3",
                    "--outdir", str(tmp_path / "csv"), str(path)], capture_output=True, timeout=120, check=True)
    (shown,) = [p for p in (tmp_path / "csv").glob("*Inspections*.csv")]
    rows = list(csv.reader(shown.open(encoding="utf-8")))
    assert "12:16" in rows[1][col] and "12:15" not in rows[1][col]
