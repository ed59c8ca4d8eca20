"""The service account's delegated sign-in: `graph login` (device code), the cache kept on this
machine (encrypted, or unencrypted mode 0600 only when the config says so), a silent refresh on
every run, and one line with exit 10 when there is no usable sign-in."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
from pathlib import Path

import pytest

from tests.conftest import inspection, write_tracker
from tests.console import CLI, cli
from tests.graph_helpers import item_folder, login, run, write_config
from tests.standins.graph_drive import GraphDrive
from tests.standins.smtp import _free_port

# Each drives the real console script against the stand-in, often run after run: CI and
# scripts/test.sh run them; a developer's plain `pytest` leaves them out.
pytestmark = pytest.mark.slow


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
    line = proc.stderr.strip()
    assert "Windows or macOS" in line and "libsecret" in line, line
    assert "apt install" not in line and "PyGObject" not in line, "our own words, not the library's"
    assert not (tmp_path / "sp").exists() or not any((tmp_path / "sp").iterdir()), "a refused login leaves no file"


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


def _one_line(proc) -> str:
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stdout + proc.stderr
    return lines[0]


def test_login_says_when_the_cache_is_kept_unencrypted(tmp_path, drive):
    cfg = write_config(tmp_path / "config.toml", drive, tmp_path / "sp")  # allow_unencrypted_cache = true
    out = login(cfg, tmp_path).stdout
    if _encryption_available():
        assert "kept (encrypted)" in out, out
    else:
        assert "kept UNENCRYPTED (allow_unencrypted_cache = true; readable by this account only)" in out, out
        assert "(encrypted)" not in out


@pytest.mark.parametrize("why", ["refresh_revoked", "mfa_required", "conditional_access"])
def test_status_really_uses_the_sign_in_and_fails_as_the_run_does(tmp_path, drive, why):
    cfg = write_config(tmp_path / "config.toml", drive, tmp_path / "sp")
    login(cfg, tmp_path)
    ok = cli("graph", "status", "--config", cfg, cwd=tmp_path)
    assert ok.returncode == 0 and "the sign-in works" in ok.stdout, ok.stdout + ok.stderr
    assert drive.state.count("GET me") == 1, "one cheap Graph call as the account"
    drive.revoke_refresh_tokens(why)  # the cached access token still works for up to an hour
    status = cli("graph", "status", "--config", cfg, cwd=tmp_path)
    assert status.returncode == 10, status.stdout + status.stderr
    assert "the sign-in works" not in status.stdout
    drive.expire_access_tokens()  # the run meets the revocation once its access token lapses
    proc = run(cfg, tmp_path)
    assert proc.returncode == 10, proc.stdout + proc.stderr
    assert _one_line(status) == _one_line(proc), "status says what the run says"
    assert "ofsted-tracker graph login" in _one_line(status)


def test_an_unreachable_graph_names_the_host_and_a_short_reason(tmp_path, drive):
    cfg = write_config(tmp_path / "config.toml", drive, tmp_path / "sp")
    login(cfg, tmp_path)
    port = _free_port()  # nothing listens there
    cfg = write_config(tmp_path / "config.toml", drive, tmp_path / "sp", graph_url=f"https://127.0.0.1:{port}/v1.0")
    proc = run(cfg, tmp_path)
    assert proc.returncode == 9, proc.stdout + proc.stderr
    line = _one_line(proc)
    assert f"cannot reach 127.0.0.1:{port} (connection refused) — " in line, line
    assert "NewConnectionError" not in line and "HTTPSConnection" not in line, line


def test_an_unreachable_sign_in_service_names_the_host_and_a_short_reason(tmp_path, drive):
    port = _free_port()
    cfg = write_config(tmp_path / "config.toml", drive, tmp_path / "sp", authority=f"https://127.0.0.1:{port}")
    proc = cli("graph", "login", "--config", cfg, cwd=tmp_path)
    assert proc.returncode == 9, proc.stdout + proc.stderr
    line = _one_line(proc)
    assert f"cannot reach the sign-in service at 127.0.0.1:{port} (connection refused) — " in line, line
    assert "NewConnectionError" not in line, line


def test_a_locked_tracker_says_the_next_run_once(tmp_path, drive):
    cfg = write_config(tmp_path / "config.toml", drive, tmp_path / "sp")
    login(cfg, tmp_path)
    drive.state.faults.append(("POST createSession", 423))
    proc = run(cfg, tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    note = next(ln for ln in proc.stdout.splitlines() if "Tracker NOT updated" in ln)
    assert note.count("next run") == 1, note


@pytest.mark.skipif(os.name == "nt", reason="SIGINT stands in for Ctrl-C on POSIX")
def test_ctrl_c_during_login_says_the_sign_in_was_cancelled(tmp_path, drive):
    drive.state.auto_approve = False  # the person has not entered the code yet: login waits
    cfg = write_config(tmp_path / "config.toml", drive, tmp_path / "sp")
    proc = subprocess.Popen([*CLI, "graph", "login", "--config", str(cfg)], cwd=tmp_path, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        first = proc.stdout.readline()
        assert "enter the code" in first, first
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, out + err
    assert err.strip() == "ofsted-tracker: Sign-in cancelled; nothing changed.", err
    assert not (tmp_path / "sp" / "graph-sign-in.bin").exists(), "nothing kept"


def test_release_without_a_tracker_is_a_config_problem(tmp_path, drive):
    cfg = write_config(tmp_path / "config.toml", drive, tmp_path / "sp")
    cfg.write_text("\n".join(ln for ln in cfg.read_text(encoding="utf-8").splitlines()
                             if not ln.startswith("tracker = ")) + "\n", encoding="utf-8")
    proc = cli("graph", "release", "--config", cfg, cwd=tmp_path)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "[sharepoint] tracker" in _one_line(proc)


def test_the_run_log_names_the_sharepoint_tracker_and_the_configs_full_path(tmp_path, drive):
    cfg = write_config(tmp_path / "config.toml", drive, tmp_path / "sp")
    login(cfg, tmp_path)
    proc = run("config.toml", tmp_path)  # as a scheduler might give it: a bare name
    assert proc.returncode == 0, proc.stdout + proc.stderr
    log = next(item_folder(tmp_path / "sp").rglob("*.log")).read_text(encoding="utf-8")
    start = next(ln for ln in log.splitlines() if " run start: " in ln)
    assert f"tracker {drive.web_url};" in start, start
    assert f"config {cfg.resolve()};" in start, start
    assert "Tracker.xlsx;" not in start.split("tracker ", 1)[1].split(";")[0].rsplit("/", 1)[0], start
