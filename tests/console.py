"""The real console script, as a scheduler or an officer starts it: a process of its own."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(sys.executable).with_name("ofsted-tracker")
CLI = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "automation.cli"]


def cli(*args, cwd: Path) -> subprocess.CompletedProcess:
    """Run `ofsted-tracker ARGS` in `cwd`; its output, and its exit status as the scheduler sees it."""
    return subprocess.run([*CLI, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=120)
