"""Test helpers for a tracker kept in SharePoint: the Graph stand-in (tests/standins/graph_drive.py)
over a real .xlsx, a config pointing the console script at it, and the service account signed in
through the real `ofsted-tracker graph login` (device code, approved at once by the stand-in)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import inspection, write_tracker
from tests.console import cli
from tests.standins.graph import CLIENT_ID, TENANT
from tests.standins.graph_drive import GraphDrive

NOW = "2026-11-16T13:05"


def write_config(path: Path, drive, local: Path, tracker: str | None = None, **more) -> Path:
    """config.toml for the drive: [sharepoint] with an unencrypted cache (no keyring on a test machine)."""
    keys = {"tracker": tracker or drive.web_url, "tenant_id": TENANT, "client_id": CLIENT_ID,
            "authority": drive.base, "graph_url": drive.base_url, "ca_bundle": drive.ca_bundle,
            "local_folder": str(local), "allow_unencrypted_cache": True, "max_wait_seconds": 5, **more}
    lines = ["[sharepoint]"] + [f"{k} = {_toml(v)}" for k, v in keys.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _toml(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'


def login(cfg: Path, cwd: Path):
    """`ofsted-tracker graph login` as the scheduler's account; fails the test if it does not sign in."""
    proc = cli("graph", "login", "--config", cfg, cwd=cwd)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def run(cfg: Path, cwd: Path, *more, now: str = NOW, env: dict | None = None):
    """`ofsted-tracker run --config cfg --now NOW` (the tracker from the config)."""
    import os
    import subprocess

    from tests.console import CLI

    args = [*CLI, "run", "--config", str(cfg), "--now", now, *map(str, more)]
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})


def item_folder(local: Path) -> Path:
    """The tracker's state folder on this machine (<local_folder>/<item id>/)."""
    return next(p for p in local.iterdir() if p.is_dir())


def outbox(local: Path) -> list[Path]:
    """The .eml files the run wrote (the outbox beside the tracker's identity)."""
    return sorted(item_folder(local).glob("outbox/**/*.eml"))


# The fixtures the SharePoint store and fault tests share: a one-row tracker alone in the
# drive's folder, the stand-in serving it, and a signed-in config.
@pytest.fixture
def tracker(tmp_path) -> Path:
    """A small tracker with one new inspection, alone in the drive's folder."""
    (tmp_path / "drive").mkdir()
    return write_tracker(tmp_path / "drive" / "Tracker.xlsx", inspections=[inspection()])


@pytest.fixture
def drive(tracker):
    with GraphDrive(tracker) as d:
        yield d


@pytest.fixture
def cfg(tmp_path, drive):
    path = write_config(tmp_path / "config.toml", drive, tmp_path / "sp")
    login(path, tmp_path)
    return path
