"""What reading a tracker does not import (each costs megabytes on every command): the run lock's
filelock until a lock is taken, and the `holidays` package's ~250 other countries."""

from __future__ import annotations

import subprocess
import sys


def _modules_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys\nprint('\\n'.join(sys.modules))"],
                         capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_opening_a_session_module_takes_no_lock_library():
    mods = _modules_after("import automation.session")
    assert "automation.session" in mods and "filelock" not in mods


def test_a_working_calendar_loads_the_united_kingdom_alone():
    mods = _modules_after("from datetime import date\nfrom automation.calendar import WorkingCalendar\n"
                          "assert not WorkingCalendar().is_working_day(date(2026, 12, 25))")
    assert "holidays" in mods
    assert not any(m.startswith("holidays.countries.") for m in mods)  # not even the package's own copy of the UK
