"""A run with nothing changed and nothing due stops in milliseconds (exit 0, one line, logged);
any change to its inputs, a later day, --force, --dry-run or an earlier failed run: a full run."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from tests.conftest import inspection, write_tracker

SCRIPT = Path(sys.executable).with_name("ofsted-tracker")
CLI = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "automation.cli"]
EVENING = "2026-11-19T20:0"  # after working hours and the schedule window: only midnight is ahead


def cli(*args, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=120)


def skipped(out: subprocess.CompletedProcess) -> bool:
    return "skipped" in out.stdout and "Nothing changed since the run at" in out.stdout


@pytest.fixture
def settled(tmp_path):
    """A tracker of one inspection long past, run until a run changes nothing (so the next may
    skip). In place: a tracker moved elsewhere is never skipped."""
    old = inspection(itype="Graded", notified=datetime(2025, 3, 3, 10, 5), start=datetime(2025, 3, 4),
                     **{"Contact plan sent": datetime(2025, 3, 3, 10, 30)})
    path = write_tracker(tmp_path / "t.xlsx", inspections=[old])
    conf = tmp_path / "config.toml"
    conf.write_text('[la]\nname = "Example County Council"\n[mail]\ntransport = "outbox"\n', encoding="utf-8")
    for minute in (0, 1, 2):
        out = cli("run", path, "--config", conf, "--now", f"{EVENING}{minute}", cwd=tmp_path)
        assert out.returncode == 0, out.stdout + out.stderr
        if (tmp_path / ".ofsted-tracker" / "t.last-run.json").exists():
            return path, conf
    pytest.fail("three runs in a row kept changing their own inputs: " + out.stdout)


def test_unchanged_run_is_skipped_quickly_and_logged_unless_forced(settled, tmp_path):
    path, conf = settled
    before = path.read_bytes()
    # The skip opens no workbook: the script (console script's module, importtime on) never
    # imports a workbook reader or the templates. Speed itself is bench/bench_perf.py's (a).
    out = subprocess.run([sys.executable, "-X", "importtime", "-m", "automation", "run", str(path), "--config",
                          str(conf), "--now", f"{EVENING}5"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and skipped(out), out.stdout + out.stderr
    assert len(out.stdout.strip().splitlines()) == 1 and "before 20/11/2026 00:00" in out.stdout
    assert path.read_bytes() == before
    log = (tmp_path / ".ofsted-tracker" / "t.log").read_text(encoding="utf-8")
    assert "Nothing changed since the run at" in log.splitlines()[-2]
    imported = {line.rsplit("|", 1)[-1].strip() for line in out.stderr.splitlines() if line.startswith("import time:")}
    assert imported and not imported & {"python_calamine", "openpyxl", "jinja2", "lxml"}, \
        sorted(imported & {"python_calamine", "openpyxl", "jinja2", "lxml"})
    # --force and --dry-run never skip; and the fingerprint survives them, so the next run still may.
    for flag in ("--force", "--dry-run"):
        out = cli("run", path, "--config", conf, "--now", f"{EVENING}6", flag, cwd=tmp_path)
        assert out.returncode == 0 and not skipped(out), (flag, out.stdout)
    out = cli("run", path, "--config", conf, "--now", f"{EVENING}7", cwd=tmp_path)
    assert out.returncode == 0 and skipped(out), out.stdout


@pytest.mark.parametrize("change", ["touch tracker", "edit config", "next day"])
def test_a_change_or_a_day_boundary_means_a_full_run(settled, tmp_path, change):
    path, conf = settled
    now = f"{EVENING}5"
    if change == "touch tracker":
        st = path.stat()
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    elif change == "edit config":
        conf.write_text(conf.read_text(encoding="utf-8") + '[reminders]\nsend_after = "08:00"\n', encoding="utf-8")
    else:
        now = "2026-11-20T00:05"
    out = cli("run", path, "--config", conf, "--now", now, cwd=tmp_path)
    assert out.returncode == 0 and not skipped(out), out.stdout + out.stderr


def test_a_run_that_needed_attention_is_never_skipped(tmp_path):
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection(urn="999999", notified=datetime(2025, 3, 3, 10, 5),
                                                                     start=datetime(2025, 3, 4))])
    codes = []
    for minute in (0, 1, 2):
        out = cli("run", path, "--now", f"{EVENING}{minute}", cwd=tmp_path)
        codes.append(out.returncode)
        assert not skipped(out), out.stdout
    assert codes == [1, 1, 1]  # the unknown URN keeps showing in the exit code
    assert not (tmp_path / ".ofsted-tracker" / "t.last-run.json").exists()
