"""A tracker kept on the Graph drive stand-in (tests/standins/graph_drive.py), run as a
scheduler runs it: the real `ofsted-tracker` console script, real msal and requests, the
service account signed in once with `graph login` (device code, approved by the stand-in)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.console import cli

LA = "Example County Council"


def _toml(value) -> str:
    return json.dumps(str(value))  # a TOML basic string: paths and URLs need no more than JSON's escaping


def local_config(path: Path, outbox: Path, more: str = "") -> Path:
    """A config for the same tracker run from a local file: messages to `outbox`."""
    path.write_text(f'[la]\nname = {_toml(LA)}\n\n[mail]\ntransport = "outbox"\noutbox_dir = {_toml(outbox)}\n'
                    + more, encoding="utf-8")
    return path


def sharepoint_config(path: Path, drive, local_folder: Path, outbox: Path, more: str = "", max_wait: float = 3) -> Path:
    """A config naming the stand-in's tracker by its browser URL, state and generated files in local_folder;
    throttling (429/503 with Retry-After) waited out for at most max_wait seconds a request."""
    local_config(path, outbox)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(f"""
[sharepoint]
tracker = {_toml(drive.web_url)}
tenant_id = {_toml(drive.tenant)}
client_id = {_toml(drive.client_id)}
authority = {_toml(drive.base)}
graph_url = {_toml(drive.base_url)}
ca_bundle = {_toml(drive.ca_bundle)}
local_folder = {_toml(local_folder)}
allow_unencrypted_cache = true
max_wait_seconds = {max_wait:g}
""" + more)
    return path


def sign_in(cfg: Path, cwd: Path) -> None:
    """`ofsted-tracker graph login` once, as IT does for the service account."""
    p = cli("graph", "login", "--config", cfg, cwd=cwd)
    assert p.returncode == 0, p.stdout + p.stderr


def run(cfg: Path, cwd: Path, now: str, *more, tracker=None):
    """`ofsted-tracker run [tracker] --config cfg --now now`: the tracker from the config unless given."""
    return cli("run", *([tracker] if tracker else []), "--config", cfg, "--now", now, *more, cwd=cwd)


def local_root(local_folder: Path, drive) -> Path:
    """Where this machine keeps the SharePoint tracker's state and generated files (by its item id)."""
    return local_folder / drive.item_id
