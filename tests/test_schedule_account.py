"""`ofsted-tracker schedule` as a subprocess: the Windows task runs whether or not its account
is logged on (a stored password, never /NP), says what IT must do, and points at the run log
that every run writes (there is no Windows here: the printed text is what is tested)."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

from tests.conftest import inspection, write_tracker

SCRIPT = Path(sys.executable).with_name("ofsted-tracker")
CLI = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "automation.cli"]


def cli(*args, cwd: Path, **env) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=120,
                          env={**os.environ, **env})


def schtasks(out: str) -> list[str]:
    [line] = [x.strip() for x in out.splitlines() if x.strip().startswith("schtasks /Create")]
    return line.split(" ")


def test_the_task_runs_logged_on_or_not_as_the_given_account(tmp_path):
    path = write_tracker(tmp_path / "t.xlsx")
    done = cli("schedule", path, "--account", r"LA\svc-ofsted", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    words = schtasks(done.stdout)
    assert words[words.index("/RU") + 1] == r"LA\svc-ofsted" and words[words.index("/RP") + 1] == "*"
    assert words[-1] == "/F" and "/NP" not in words and "/IT" not in words
    out = done.stdout
    assert r"schtasks asks once for LA\svc-ofsted's password" in out
    assert r"runs whether or not LA\svc-ofsted is logged on (Task Scheduler keeps the password)" in out
    assert "'Log on as a batch job' right" in out and "UNC paths" in out
    assert r'schtasks /Change /TN "ofsted-tracker t" /RU LA\svc-ofsted /RP *' in out
    assert r"runas /user:LA\svc-ofsted cmd" in out and "keyring set ofsted-tracker" in out
    assert "(schtasks /NP)" in out  # says why not


def test_default_account_is_the_signed_in_user(tmp_path):
    path = write_tracker(tmp_path / "t.xlsx")
    done = cli("schedule", path, cwd=tmp_path, USERNAME="jo.bloggs", USERDOMAIN="LA")
    words = schtasks(done.stdout)
    assert words[words.index("/RU") + 1:words.index("/RU") + 4] == [r"LA\jo.bloggs", "/RP", "*"]


def test_built_in_account_has_no_password_to_give(tmp_path):
    path = write_tracker(tmp_path / "t.xlsx")
    done = cli("schedule", path, "--account", "SYSTEM", cwd=tmp_path)
    words = schtasks(done.stdout)
    assert words[-3:] == ["/RU", "SYSTEM", "/F"] and "/RP" not in words
    assert "password" not in done.stdout.split("Windows (Task Scheduler)")[1].split("\n")[0]
    assert "whether or not anyone is logged on." in done.stdout


def test_the_printed_log_is_the_one_the_run_writes(tmp_path):
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection()])
    out = cli("schedule", path, "--account", r"LA\svc-ofsted", cwd=tmp_path).stdout
    lines = out.splitlines()
    log = Path(lines[lines.index("Every run appends what it did, each problem and its exit code to the run log:") + 1].strip())
    assert f"It runs pythonw, which shows nothing: each run is in the log {log}." in out
    assert "t.log.1 ... t.log.5" in out
    assert not log.exists()
    assert cli("run", path, "--now", "2026-11-16T12:20", cwd=tmp_path).returncode == 0
    assert " run start: " in log.read_text(encoding="utf-8")
    # cron: the run's output is in that log; stderr goes to a file beside it.
    [cron] = [x.strip() for x in lines if x.strip().startswith("*/15")]
    argv = shlex.split(cron.split(" ", 5)[5])
    assert argv[-4:] == [">", "/dev/null", "2>>", str(log.with_name("t.errors.log"))]


def test_folders_written_outside_the_trackers_folder_are_named(tmp_path):
    (tmp_path / "share").mkdir()
    path = write_tracker(tmp_path / "share" / "t.xlsx")
    conf = tmp_path / "config.toml"
    state = tmp_path / "elsewhere" / "state"
    conf.write_text(f'[paths]\nstate_dir = "{state.as_posix()}"\n', encoding="utf-8")
    out = cli("schedule", path, "--config", conf, "--account", r"LA\svc-ofsted", cwd=tmp_path).stdout
    assert rf"Give LA\svc-ofsted read and write access to {path.parent} and to {state}." in out
    assert f"  {state / 't.log'}" in out.splitlines()
