"""The service account's delegated sign-in: `graph login` (device code), the cache kept on this
machine (encrypted, or unencrypted mode 0600 only when the config says so), a silent refresh on
every run, and one line with exit 10 when there is no usable sign-in."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from tests.conftest import inspection, write_tracker
from tests.console import cli
from tests.graph_helpers import login, run, write_config
from tests.standins.graph_drive import GraphDrive


@pytest.fixture
def drive(tmp_path):
    (tmp_path / "drive").mkdir()
    with GraphDrive(write_tracker(tmp_path / "drive" / "Tracker.xlsx", inspections=[inspection()])) as d:
        yield d


def _encryption_available() -> bool:
    from msal_extensions import build_encrypted_persistence

    try:
        build_encrypted_persistence(str(Path("/nonexistent-dir-for-probe") / "x.bin"))
        return True
    except Exception:
        return False


def test_login_shows_the_page_and_code_and_keeps_the_cache_for_this_account_only(tmp_path, drive):
    cfg = write_config(tmp_path / "config.toml", drive, tmp_path / "sp")
    proc = login(cfg, tmp_path)
    assert f"open {drive.base}/devicelogin and enter the code " in proc.stdout
    assert "Signed in as dsl@school.example" in proc.stdout
    cache = tmp_path / "sp" / "graph-sign-in.bin"
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    status = cli("graph", "status", "--config", cfg, cwd=tmp_path)
    assert status.returncode == 0 and "dsl@school.example" in status.stdout, status.stdout + status.stderr


@pytest.mark.skipif(_encryption_available(), reason="this machine can encrypt the cache")
def test_without_encryption_the_cache_is_refused_unless_the_config_allows_it(tmp_path, drive):
    cfg = write_config(tmp_path / "config.toml", drive, tmp_path / "sp", allow_unencrypted_cache=False)
    proc = cli("graph", "login", "--config", cfg, cwd=tmp_path)
    assert proc.returncode == 9, proc.stdout + proc.stderr
    assert "allow_unencrypted_cache = true" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert drive.state.count("POST devicecode") == 0, "no sign-in started"


def test_no_sign_in_on_this_machine_is_one_line_and_exit_10(tmp_path, drive):
    cfg = write_config(tmp_path / "config.toml", drive, tmp_path / "sp")
    proc = run(cfg, tmp_path)
    assert proc.returncode == 10, proc.stdout + proc.stderr
    assert "ofsted-tracker graph login" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_an_expired_access_token_is_refreshed_silently(tmp_path, drive):
    cfg = write_config(tmp_path / "config.toml", drive, tmp_path / "sp")
    login(cfg, tmp_path)
    drive.expire_access_tokens()
    proc = run(cfg, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert drive.state.count("POST token") >= 2, "the refresh token was used"
    logs = "".join(p.read_text(encoding="utf-8") for p in (tmp_path / "sp").rglob("*.log"))
    assert logs and not any(t in logs for t in drive.state.access_tokens | drive.state.refresh_tokens)


def test_logout_forgets_the_sign_in(tmp_path, drive):
    cfg = write_config(tmp_path / "config.toml", drive, tmp_path / "sp")
    login(cfg, tmp_path)
    out = cli("graph", "logout", "--config", cfg, cwd=tmp_path)
    assert out.returncode == 0 and "Signed out dsl@school.example" in out.stdout, out.stdout + out.stderr
    status = cli("graph", "status", "--config", cfg, cwd=tmp_path)
    assert status.returncode == 10 and "graph login" in status.stdout
