"""`ofsted-tracker schedule` prints the Task Scheduler command and the cron line
(the printed text is tested; --install runs schtasks on Windows only)."""

from __future__ import annotations

import os
import shlex
import sys

import pytest

from automation.cli import main
from automation.config import parse_config
from automation.errors import ConfigError
from automation.schedule import cron_line, schedule_settings, schtasks_argv
from tests.conftest import write_tracker


def test_prints_schtasks_and_cron(tmp_path, capsys):
    path = write_tracker(tmp_path / "my tracker.xlsx")
    assert main(["schedule", str(path)]) == 0
    out = capsys.readouterr().out
    [win] = [line.strip() for line in out.splitlines() if line.strip().startswith("schtasks /Create")]
    assert '/TN "ofsted-tracker my tracker"' in win
    assert "/SC WEEKLY /D MON,TUE,WED,THU,FRI /ST 07:00 /RI 15 /DU 0012:00 /RU " in win and win.endswith(" /RP * /F")
    assert f'-m automation run \\"{path.resolve()}\\"' in win  # quoted inside /TR: the path has a space
    [cron] = [line.strip() for line in out.splitlines() if line.strip().startswith("*/15")]
    fields = cron.split(" ", 5)
    assert fields[:5] == ["*/15", "7-18", "*", "*", "1-5"]
    argv = shlex.split(fields[5])
    # The log's folder is made first (it does not exist before the first run).
    assert argv[:3] == ["mkdir", "-p", str(path.resolve().parent / ".ofsted-tracker")] and argv[3] == "&&"
    argv = argv[4:]
    assert argv[:5] == [sys.executable, "-m", "automation", "run", str(path.resolve())]
    # The run writes its own log; cron keeps stdout quiet and stderr beside that log.
    assert argv[-4:-2] == [">", "/dev/null"] and argv[-2] == "2>>"
    assert argv[-1] == str(path.resolve().parent / ".ofsted-tracker" / "my tracker.errors.log")


def test_config_changes_the_schedule_and_is_passed_to_the_run(tmp_path, capsys):
    path = write_tracker(tmp_path / "t.xlsx")
    conf = tmp_path / "config.toml"
    conf.write_text('[schedule]\nevery_minutes = 30\nstart = "06:30"\nend = "18:00"\n', encoding="utf-8")
    assert main(["schedule", str(path), "--config", str(conf)]) == 0
    out = capsys.readouterr().out
    assert "/ST 06:30 /RI 30 /DU 0011:30" in out and f"--config {conf.resolve()}\" /SC" in out
    assert "*/30 6-17 * * 1-5 " in out and f"--config {conf.resolve()}" in out


def test_schedule_pieces(tmp_path):
    s = schedule_settings(parse_config({"schedule": {"every_minutes": 20, "end": "17:00"}}, "cfg.toml"))
    argv = ["C:\\Program Files\\Python\\pythonw.exe", "-m", "automation", "run", "C:\\LA\\tracker.xlsx"]
    win = schtasks_argv(tmp_path / "tracker.xlsx", argv, s)
    assert win[win.index("/TR") + 1] == '"C:\\Program Files\\Python\\pythonw.exe" -m automation run C:\\LA\\tracker.xlsx'
    assert win[win.index("/DU") + 1] == "0010:00"
    assert cron_line(["/usr/bin/python3", "-m", "automation", "run", "/srv/t.xlsx"], tmp_path / "log", s).startswith(
        f"*/20 7-16 * * 1-5 mkdir -p {tmp_path} && /usr/bin/python3 -m automation run /srv/t.xlsx > /dev/null 2>> ")


@pytest.mark.parametrize("section, key", [({"every_minutes": 7}, "schedule.every_minutes"), ({"start": "seven"}, "schedule.start"),
                                          ({"start": "19:00", "end": "07:00"}, "end 07:00 is not after start 19:00")])
def test_bad_schedule_settings_say_which_key(section, key):
    with pytest.raises(ConfigError, match=key):
        schedule_settings(parse_config({"schedule": section}, "cfg.toml"))


@pytest.mark.skipif(os.name == "nt", reason="on Windows --install really creates a task")
def test_install_elsewhere_explains_and_fails(tmp_path, capsys):
    path = write_tracker(tmp_path / "t.xlsx")
    assert main(["schedule", str(path), "--install"]) == 2
    err = capsys.readouterr().err
    assert "Windows only" in err and "crontab -e" in err


def test_missing_workbook_is_an_error(tmp_path, capsys):
    assert main(["schedule", str(tmp_path / "nope.xlsx")]) == 2
    assert "There is no workbook" in capsys.readouterr().err
