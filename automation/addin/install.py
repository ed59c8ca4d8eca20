"""Installing the add-in for one Windows user: the .xlam into Excel's XLSTART folder,
and the add-in's xlwings configuration (which Python to run, and where it is)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from automation.addin.build import ADDIN_NAME
from automation.addin.vba import PROJECT_NAME
from automation.errors import TrackerError


def xlstart_dir() -> Path:
    """Excel's per-user start-up folder: add-ins there load with every Excel."""
    appdata = os.environ.get("APPDATA")
    if not appdata:
        raise TrackerError("APPDATA is not set, so Excel's XLSTART folder cannot be found — pass --xlstart.")
    return Path(appdata) / "Microsoft" / "Excel" / "XLSTART"


def conf_lines(interpreter: Path, pythonpath: list[Path]) -> list[str]:
    """xlwings' config file format (VBA Write #): "KEY","VALUE" per line."""
    values = {"INTERPRETER_WIN": str(interpreter), "PYTHONPATH": ";".join(str(p) for p in pythonpath),
              # a shared folder's stray .py files must not shadow the product's modules
              "ADD_WORKBOOK_TO_PYTHONPATH": "False", "SHOW CONSOLE": "False"}
    for k, v in values.items():
        if '"' in v:
            raise TrackerError(f"{k} {v!r} contains a double quote, which xlwings' config cannot hold — use another path.")
    return [f'"{k}","{v}"' for k, v in values.items()]


def install(xlam: Path, interpreter: Path, pythonpath: list[Path], xlstart: Path | None = None,
            user_dir: Path | None = None, config: Path | None = None, platform: str = sys.platform) -> list[str]:
    """Copy the add-in and write its configuration; returns what was done, in plain words."""
    if not platform.startswith("win"):
        raise TrackerError("`addin install` is for Windows. On a Mac, see 'The Excel ribbon add-in' in the README; "
                           "elsewhere, use the command line or the scheduled run.")
    if not Path(xlam).is_file():
        raise TrackerError(f"There is no add-in at {xlam} — run `ofsted-tracker addin build` first.")
    xlstart = Path(xlstart) if xlstart else xlstart_dir()
    user_dir = Path(user_dir) if user_dir else Path.home() / f".{PROJECT_NAME}"
    xlstart.mkdir(parents=True, exist_ok=True)
    user_dir.mkdir(parents=True, exist_ok=True)
    target = xlstart / ADDIN_NAME
    tmp = target.with_suffix(".tmp")
    shutil.copyfile(xlam, tmp)
    try:
        tmp.replace(target)
    except PermissionError:
        tmp.unlink(missing_ok=True)
        raise TrackerError(f"{target} is in use — close Excel and run `ofsted-tracker addin install` again.")
    conf = user_dir / f"{PROJECT_NAME}.conf"
    conf.write_text("\r\n".join(conf_lines(interpreter, pythonpath)) + "\r\n", encoding="cp1252")
    done = [f"Add-in copied to {target} (Excel loads it at start: restart Excel).",
            f"Add-in settings written to {conf} (Python: {interpreter})."]
    if config:
        shutil.copyfile(config, user_dir / "config.toml")
        done.append(f"{config} copied to {user_dir / 'config.toml'} (used when no config.toml is beside the tracker).")
    return done
