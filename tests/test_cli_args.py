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


def test_forms_says_only_what_it_did_with_forms(tmp_path):
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection()])
    done = cli("forms", path, "--now", "2026-11-16T12:20")
    assert done.returncode == 0, done.stderr
    assert "Feedback forms folder:" in done.stdout and "form(s) written" in done.stdout
    assert "Contact plans" not in done.stdout and "nothing to send" not in done.stdout


def test_summary_for_a_term_without_inspections_says_so_and_writes_nothing(tmp_path):
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection()])
    done = cli("summary", path, "--term", "2019-20 Autumn")
    assert done.returncode == 2
    assert "no inspections in 2019-20 Autumn" in done.stderr and "2026-27 Autumn" in done.stderr
    assert not list(tmp_path.rglob("HMI summary*"))


def test_review_with_an_unknown_id_lists_the_most_recent_ids(tmp_path):
    from datetime import datetime

    rows = [inspection(notified=datetime(2026, 11, 9, 9, 0), start=datetime(2026, 11, 10)),
            inspection(urn="100002", notified=datetime(2026, 11, 16, 9, 0), start=datetime(2026, 11, 17))]
    path = write_tracker(tmp_path / "t.xlsx", inspections=rows)
    assert cli("run", path, "--now", "2026-11-16T09:30").returncode in (0, 1)
    done = cli("review", path, "OFS-NOPE")
    assert done.returncode == 2
    hint = done.stderr.split("Recent ids:")[1]
    assert hint.index("OFS-100002-20261116") < hint.index("OFS-100001-20261109")


def test_mail_test_through_the_outbox_says_where_the_file_is(tmp_path):
    done = cli("mail", "test", "--to", "tester@la.example.org", "--outbox-base", tmp_path / "t.xlsx")
    assert done.returncode == 0, done.stderr
    (eml,) = (tmp_path / "outbox").glob("*.eml")
    assert str(eml.resolve()) in done.stdout


def test_a_file_that_is_not_a_workbook_gets_no_journal_or_lock(tmp_path):
    (tmp_path / "t.csv").write_text("URN,School name\n100001,Acorn\n")
    done = cli("run", tmp_path / "t.csv")
    assert done.returncode == 4 and "not an .xlsx workbook" in done.stderr
    state = tmp_path / ".ofsted-tracker"
    assert not list(state.glob("*.sqlite")) and not list(state.glob("*.lock"))


def test_an_empty_tracker_argument_is_a_usage_error_not_the_working_folder(tmp_path):
    done = cli("validate", "", cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "the tracker is empty" in done.stderr and "folder" not in done.stderr
