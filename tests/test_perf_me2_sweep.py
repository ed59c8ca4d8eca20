"""A run killed during a save leaves its half-written package (.~ofsted-*.xlsx) beside the tracker:
the next save removes it once it is an hour old, and never a younger one (another tracker in the
folder may be saving it now)."""

from __future__ import annotations

import os
import time

from tests.conftest import inspection, write_tracker
from tests.console import cli


def test_a_killed_saves_leftover_goes_and_a_young_one_stays(tmp_path, conf):
    path = write_tracker(tmp_path / "tracker.xlsx", inspections=[inspection()])
    stale, young = tmp_path / ".~ofsted-killed.xlsx", tmp_path / ".~ofsted-saving.xlsx"
    for f in (stale, young):
        f.write_bytes(b"PK\x03\x04 half a package")
    two_hours_ago = time.time() - 7200
    os.utime(stale, (two_hours_ago, two_hours_ago))
    before = path.read_bytes()
    p = cli("run", path, "--config", conf, "--now", "2026-11-16T13:00", cwd=tmp_path)
    assert p.returncode in (0, 1), p.stdout + p.stderr
    assert path.read_bytes() != before, "the run saved the tracker (that is when the folder is swept)"
    assert not stale.exists() and young.exists()
