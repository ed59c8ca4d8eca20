"""Command-line arguments as people type them: UK dates, wrong file kinds, a platform that
cannot do what was asked — each a usage line or a one-line refusal, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import openpyxl

from tests.conftest import inspection, write_tracker


def cli(*args, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "automation.cli", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, timeout=120)


def test_now_in_uk_form_is_accepted_and_a_bad_one_is_a_usage_error(tmp_path):
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection()])
    ok = cli("run", path, "--now", "16/11/2026 13:05", "--dry-run")
    assert ok.returncode in (0, 1), ok.stderr
    assert "run at 16/11/2026 13:05" in ok.stdout
    bad = cli("run", path, "--now", "2026-16-11 13:05")
    assert bad.returncode == 2
    assert "2026-11-16T13:05 or 16/11/2026 13:05" in bad.stderr and "Traceback" not in bad.stderr


def test_sample_takes_a_uk_today_and_refuses_a_name_that_is_not_xlsx(tmp_path):
    done = cli("sample", tmp_path / "s.xlsx", "--today", "16/11/2026")
    assert done.returncode == 0, done.stderr
    assert openpyxl.load_workbook(tmp_path / "s.xlsx").sheetnames[:1]
    bad_day = cli("sample", tmp_path / "t.xlsx", "--today", "31/02/2026")
    assert bad_day.returncode == 2 and "is not a date" in bad_day.stderr
    csv = cli("sample", tmp_path / "x.csv")
    assert csv.returncode == 4 and "should end in .xlsx" in csv.stderr
    assert not (tmp_path / "x.csv").exists() and not (tmp_path / "t.xlsx").exists()


def test_addin_build_with_excel_off_windows_builds_nothing_and_says_so(tmp_path):
    out = tmp_path / "dist"
    done = cli("addin", "build", "--out", out, "--with-excel")
    assert done.returncode == 2
    assert "nothing was built" in done.stderr and "Built" not in done.stdout
    assert not out.exists()


def test_a_missing_extra_gives_the_install_command_for_a_checkout():
    from automation.errors import MissingExtra

    checkout = Path(__file__).resolve().parents[1]
    assert f"pip install -e '{checkout}[graph]'" in str(MissingExtra("msal", "graph", "Sending through Graph"))
