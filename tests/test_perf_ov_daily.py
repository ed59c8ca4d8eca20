"""The scheduled run refreshes the oversight workbook at most once a day: the first run after
[reports] oversight_refresh_at whose inputs changed (or whenever the file is missing); "every run"
keeps the old rule; a skipped run never puts the refresh off; `ofsted-tracker oversight` always
rebuilds. All through the console script, with --now on the LA's clock."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest

from tests.conftest import inspection, write_tracker
from tests.console import cli

UPDATED = "Oversight workbook updated"
PAST = inspection(itype="Graded", notified=datetime(2025, 3, 3, 10, 5), start=datetime(2025, 3, 4),
                  **{"Contact plan sent": datetime(2025, 3, 3, 10, 30)})


def setup(tmp_path: Path, reports: str = "") -> tuple[Path, Path]:
    path = write_tracker(tmp_path / "t.xlsx", inspections=[PAST])
    conf = tmp_path / "config.toml"
    conf.write_text('[la]\nname = "Example County Council"\n[mail]\ntransport = "outbox"\n'
                    + (f"[reports]\n{reports}\n" if reports else ""), encoding="utf-8")
    return path, conf


def run(path: Path, conf: Path, now: str) -> subprocess.CompletedProcess:
    out = cli("run", path, "--config", conf, "--now", now, cwd=path.parent)
    assert out.returncode == 0, out.stdout + out.stderr
    return out


def report(path: Path) -> Path:
    return path.parent / "reports" / f"{path.stem} oversight.xlsx"


def figures_at(path: Path) -> str:
    """The Dashboard's 'Figures at dd/mm/yyyy hh:mm' line."""
    wb = openpyxl.load_workbook(report(path))
    try:
        line = wb["Dashboard"]["A2"].value
        assert wb["Inspections"].oddFooter.left.text == line.split(",")[0]  # printed pages say it too
        return line.split(",")[0]
    finally:
        wb.close()


def district_shown(path: Path) -> str:
    wb = openpyxl.load_workbook(report(path), read_only=True)
    try:
        rows = list(wb["Inspections"].iter_rows(values_only=True))
        return rows[1][rows[0].index("District")]
    finally:
        wb.close()


def set_district(path: Path, district: str) -> None:
    """An officer's edit of the tracker: a figure the oversight workbook groups by."""
    wb = openpyxl.load_workbook(path)
    ws = wb["Schools"]
    col = [c.value for c in ws[1]].index("District") + 1
    ws.cell(2, col, district)
    wb.save(path)


def test_the_first_run_after_the_refresh_time_rebuilds_later_runs_that_day_do_not_next_day_again(tmp_path):
    path, conf = setup(tmp_path)  # the default refresh time, 06:00
    out = run(path, conf, "2026-11-19T05:00")
    assert UPDATED in out.stdout, "no workbook yet: the first run makes one, whatever the time"
    assert figures_at(path) == "Figures at 19/11/2026 05:00"

    set_district(path, "North")
    before = report(path).read_bytes()
    out = run(path, conf, "2026-11-19T05:30")  # changed, but refreshed since yesterday's 06:00
    assert "Oversight workbook" not in out.stdout, out.stdout  # not due: not a word about it
    assert report(path).read_bytes() == before

    out = run(path, conf, "2026-11-19T06:05")
    assert UPDATED in out.stdout, out.stdout
    assert figures_at(path) == "Figures at 19/11/2026 06:05" and district_shown(path) == "North"

    set_district(path, "South")
    before = report(path).read_bytes()
    for now in ("2026-11-19T09:00", "2026-11-19T16:45"):
        out = run(path, conf, now)
        assert "Oversight workbook" not in out.stdout, (now, out.stdout)
    assert report(path).read_bytes() == before and district_shown(path) == "North"

    out = run(path, conf, "2026-11-20T06:15")  # the next day (the day alone moves overdue counts)
    assert UPDATED in out.stdout, out.stdout
    assert figures_at(path) == "Figures at 20/11/2026 06:15" and district_shown(path) == "South"


def test_a_missing_workbook_is_rebuilt_by_the_next_run_even_when_nothing_else_changed(tmp_path):
    path, conf = setup(tmp_path)
    for now in ("2026-11-19T09:00", "2026-11-19T09:15", "2026-11-19T09:30"):
        run(path, conf, now)  # settles: the last of these changes nothing (and may be skipped)
    report(path).unlink()
    out = run(path, conf, "2026-11-19T10:00")
    assert "Nothing changed since the run at" not in out.stdout and UPDATED in out.stdout, out.stdout
    assert report(path).is_file() and figures_at(path) == "Figures at 19/11/2026 10:00"


def test_every_run_setting_rebuilds_whenever_the_inputs_changed(tmp_path):
    path, conf = setup(tmp_path, 'oversight_refresh_at = "every run"')
    assert UPDATED in run(path, conf, "2026-11-19T09:00").stdout
    for district, now in (("North", "2026-11-19T09:15"), ("South", "2026-11-19T09:30")):
        set_district(path, district)
        out = run(path, conf, now)
        assert UPDATED in out.stdout, out.stdout
        assert district_shown(path) == district
    wb = openpyxl.load_workbook(report(path))
    assert "by every run in which anything changed" in wb["Dashboard"]["A2"].value
    before = report(path).read_bytes()
    out = run(path, conf, "2026-11-19T09:45")  # nothing changed
    assert "Oversight workbook" not in out.stdout and report(path).read_bytes() == before


def test_a_skipped_run_never_puts_off_the_daily_refresh(tmp_path):
    path, conf = setup(tmp_path, 'oversight_refresh_at = "05:15"')
    for now in ("2026-11-18T20:00", "2026-11-18T20:01", "2026-11-18T20:02"):
        run(path, conf, now)
    assert figures_at(path) == "Figures at 18/11/2026 20:00"
    out = run(path, conf, "2026-11-19T00:05")  # the day boundary: a full run; the refresh is not due yet
    assert "Nothing changed since the run at" not in out.stdout and "Oversight workbook" not in out.stdout, out.stdout
    out = run(path, conf, "2026-11-19T05:00")
    assert "Nothing changed since the run at" in out.stdout and "before 05:15" in out.stdout, out.stdout
    out = run(path, conf, "2026-11-19T05:15")
    assert "Nothing changed since the run at" not in out.stdout and UPDATED in out.stdout, out.stdout
    assert figures_at(path) == "Figures at 19/11/2026 05:15"
    wb = openpyxl.load_workbook(report(path))
    assert "once a day by the first run after 05:15" in wb["Dashboard"]["A2"].value


def test_the_oversight_command_rebuilds_whenever_asked_and_the_run_then_leaves_it(tmp_path):
    path, conf = setup(tmp_path)
    run(path, conf, "2026-11-19T07:00")
    out = cli("oversight", path, "--config", conf, "--now", "2026-11-19T11:00", cwd=tmp_path)
    assert out.returncode == 0 and "Oversight workbook written" in out.stdout, out.stdout + out.stderr
    assert figures_at(path) == "Figures at 19/11/2026 11:00"
    set_district(path, "East")
    out = cli("oversight", path, "--config", conf, "--now", "2026-11-19T11:05", cwd=tmp_path)
    assert out.returncode == 0 and district_shown(path) == "East"
    before = report(path).read_bytes()
    out = run(path, conf, "2026-11-19T11:15")
    assert "Oversight workbook" not in out.stdout and report(path).read_bytes() == before


def test_a_run_that_does_not_rebuild_never_loads_the_workbook_builder(tmp_path):
    path, conf = setup(tmp_path)
    run(path, conf, "2026-11-19T07:00")
    set_district(path, "North")  # a full run, not a skip
    out = subprocess.run([sys.executable, "-X", "importtime", "-m", "automation", "run", str(path), "--config",
                          str(conf), "--now", "2026-11-19T07:15"], cwd=tmp_path, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Nothing changed since the run at" not in out.stdout and "Oversight workbook" not in out.stdout, out.stdout
    imported = {line.rsplit("|", 1)[-1].strip() for line in out.stderr.splitlines() if line.startswith("import time:")}
    assert "automation.run" in imported
    # openpyxl (about 15 MB and 0.3 s to import) is for building workbooks: none is built here.
    assert not imported & {"automation.oversight.workbook", "automation.oversight.sheetxml", "openpyxl"}


@pytest.mark.parametrize("value", ['"daily"', '"25:00"', "6"])
def test_a_bad_refresh_time_is_a_config_error_naming_the_key(tmp_path, value):
    path, conf = setup(tmp_path, f"oversight_refresh_at = {value}")
    out = cli("run", path, "--config", conf, "--now", "2026-11-19T07:00", cwd=tmp_path)
    assert out.returncode == 3, out.stdout + out.stderr  # a config error, as for every key
    assert "reports.oversight_refresh_at" in out.stdout + out.stderr and '"every run"' in out.stdout + out.stderr
    assert not report(path).exists()


def test_a_toml_time_is_accepted(tmp_path):
    path, conf = setup(tmp_path, "oversight_refresh_at = 05:30:00")
    run(path, conf, "2026-11-19T05:00")
    wb = openpyxl.load_workbook(report(path))
    assert "once a day by the first run after 05:30" in wb["Dashboard"]["A2"].value
