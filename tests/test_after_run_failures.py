"""A learning-review checklist or oversight workbook that cannot be written is not just a
summary line: the run's exit status says an officer must look (the next run tries again)."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import inspection, write_tracker


def test_an_oversight_workbook_that_cannot_be_written_makes_the_run_exit_1(tmp_path):
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection()])
    (tmp_path / "reports").write_text("a file where the reports folder should be")
    done = subprocess.run([sys.executable, "-m", "automation.cli", "run", str(path), "--now", "2026-11-16T12:20"],
                          capture_output=True, text=True, timeout=120)
    assert "Oversight workbook not updated" in done.stdout, done.stdout + done.stderr
    assert done.returncode == 1
