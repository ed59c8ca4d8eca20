"""The config loader without pydantic: loading a config imports no pydantic (it cost every command
~19 MB and a quarter of a second), and what the typed schema did is still done the same way —
strict types, clocks written as "HH:MM", "every run" spellings, the first wrong key in the schema's
order whatever order the file wrote them in, and plain text in the validated settings."""

from __future__ import annotations

import subprocess
import sys
from datetime import time
from pathlib import Path

import pytest

from automation.config import load_config
from automation.errors import ConfigError
from automation.oversight.settings import refresh_time


def _file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _refusal(tmp_path: Path, text: str) -> str:
    path = _file(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    msg = str(err.value)
    assert msg.startswith(f"{path}: ") and "\n" not in msg, msg
    return msg.removeprefix(f"{path}: ")


def test_loading_a_config_imports_no_pydantic(tmp_path):
    path = _file(tmp_path, '[mail]\ntransport = "smtp"\n[mail.smtp]\nport = 2525\n[working_hours]\nstart = 09:00:00\n')
    code = ("import sys\nfrom pathlib import Path\nfrom automation.config import load_config\n"
            f"cfg = load_config(Path({str(path)!r}))\n"
            "print(cfg.section('mail.smtp')['port'], cfg.day_start, sorted(m for m in sys.modules if 'pydantic' in m))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["2525", "09:00:00", "[]"]


def test_the_version_imports_no_pydantic():
    code = ("import sys\nfrom automation.cli import main\nsys.argv = ['ofsted-tracker', '--version']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if 'pydantic' in m))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["ofsted-tracker", "0.1.0", "[]"]


def test_clocks_are_kept_as_plain_hh_mm_text(tmp_path):
    cfg = load_config(_file(tmp_path, '[working_hours]\nstart = 08:05:59\nend = "9:05"\n'
                                      '[schedule]\nstart = "6:00"\n[reminders]\nsend_after = 07:00:00.5\n'))
    hours = cfg.section("working_hours")
    assert hours == {"start": "08:05", "end": "09:05"} and cfg.day_start == time(8, 5) and cfg.day_end == time(9, 5)
    assert cfg.section("schedule")["start"] == "06:00" and cfg.section("reminders")["send_after"] == "07:00"
    assert all(type(v) is str for v in (*hours.values(), cfg.section("schedule")["start"]))  # text, not a subclass


@pytest.mark.parametrize("written", ['"every run"', '"Every-Run"', '" every   RUN "', '"EVERY-run"'])
def test_every_run_is_understood_however_it_is_spelt(tmp_path, written):
    cfg = load_config(_file(tmp_path, f"[reports]\noversight_refresh_at = {written}\n"))
    assert cfg.section("reports")["oversight_refresh_at"] == "every run" and refresh_time(cfg) is None


def test_a_refresh_time_is_a_clock(tmp_path):
    cfg = load_config(_file(tmp_path, "[reports]\noversight_refresh_at = 05:30:00\n"))
    assert cfg.section("reports")["oversight_refresh_at"] == "05:30" and refresh_time(cfg) == time(5, 30)
    assert refresh_time(load_config(None)) == time(6, 0)


@pytest.mark.parametrize("text, words", [
    ('[mail.smtp]\nport = "587"\n', "key 'mail.smtp.port' = '587' should be a port number like 587 — correct it."),
    ("[mail.smtp]\nport = true\n", "key 'mail.smtp.port' = True should be a port number like 587"),
    ("[mail.smtp]\nport = 587.0\n", "key 'mail.smtp.port' = 587.0 should be a port number like 587"),
    ("[mail.smtp]\nport = 65536\n", "key 'mail.smtp.port' = 65536 should be a port number like 587"),
    ("[workbook]\nmax_part_mb = true\n", "key 'workbook.max_part_mb' = True should be a number of megabytes"),
    ("[workbook]\nmax_part_mb = nan\n", "key 'workbook.max_part_mb' = nan should be a number of megabytes"),
    ("[mail.smtp]\nrate_per_minute = -0.5\n", "key 'mail.smtp.rate_per_minute' = -0.5 should be messages a minute"),
    ("[sharepoint]\nlease_minutes = 0\n", "key 'sharepoint.lease_minutes' = 0 should be a whole number of minutes, 1 or more"),
    ("[schedule]\nevery_minutes = 7\n", "key 'schedule.every_minutes' = 7 should be a number of minutes that divides an hour"),
    ("[schedule]\nevery_minutes = true\n", "key 'schedule.every_minutes' = True should be a number of minutes"),
    ('[working_hours]\nstart = "08:30:00"\n', "key 'working_hours.start' = '08:30:00' should be a time like \"17:00\""),
    ('[working_hours]\nstart = "25:00"\n', "key 'working_hours.start' = '25:00' should be a time like \"17:00\""),
    ("[working_hours]\nstart = 8\n", "key 'working_hours.start' = 8 should be a time like \"17:00\""),
    ('[working_hours]\nstart = "99999999999999999999:00"\n', "should be a time like \"17:00\" — correct it."),
    ('[reports]\noversight_refresh_at = "everyrun"\n', "should be a time like \"06:00\", or \"every run\" — correct it."),
    ('[mail.ews]\nserver_version = "15.x"\n', "key 'mail.ews.server_version' = '15.x' should be a version like \"15.1\""),
    ('[mail]\nschool_reply_to = "office"\n', "key 'mail.school_reply_to' = 'office' should be \"sim\", \"ai\", \"sender\""),
    ('[mail.ews]\nauth = "ntml"\n', "key 'mail.ews.auth' = 'ntml' should be basic, ntlm or oauth — did you mean 'ntlm'?"),
    ('[mail.graph]\nauthority = "login.microsoftonline.com"\n', "key 'mail.graph.authority' = 'login.microsoftonline.com' "
                                                                 "should be a URL starting https://"),
    ('[mail.smtp]\nhost = " "\n', "key 'mail.smtp.host' = ' ' should be a host name or address in quotes"),
    ('[mail]\nallowed_domains = ["la.example.org", 3]\n',
     "key 'mail.allowed_domains' should be a list of strings, like [\"la.example.org\"], not ['la.example.org', 3]"),
])
def test_values_are_taken_exactly_as_written(tmp_path, text, words):
    assert words in _refusal(tmp_path, text)


def test_values_that_pass_are_kept(tmp_path):
    cfg = load_config(_file(tmp_path, '[mail]\nschool_reply_to = " AI "\n[mail.ews]\nserver_version = "15.1"\n'
                                      '[mail.graph]\nauthority = ""\ngraph_url = "http://127.0.0.1:1/v1.0"\n'
                                      '[schedule]\nevery_minutes = 20\n[workbook]\nmax_part_mb = 50\n'))
    assert cfg.section("mail")["school_reply_to"] == " AI " and cfg.section("mail.ews")["server_version"] == "15.1"
    graph = cfg.section("mail.graph")
    assert graph["authority"] == "https://login.microsoftonline.com" and graph["graph_url"] == "http://127.0.0.1:1/v1.0"
    assert cfg.section("schedule")["every_minutes"] == 20 and cfg.section("workbook")["max_part_mb"] == 50
    assert cfg.section("sharepoint")["scopes"] == ["Files.ReadWrite.All"]


@pytest.mark.parametrize("lines", [['port = "587"', 'host = ""'], ['host = ""', 'port = "587"']])
def test_of_two_wrong_values_the_one_reported_is_the_first_in_the_schema(tmp_path, lines):
    msg = _refusal(tmp_path, "[mail.smtp]\n" + "\n".join(lines) + "\n")
    assert msg.startswith("key 'mail.smtp.host' = ''"), msg


@pytest.mark.parametrize("order", [("mail", "workbook"), ("workbook", "mail")])
def test_across_tables_too(tmp_path, order):
    tables = {"mail": '[mail]\nschool_reply_to = "office"\n[mail.smtp]\nport = 0\n',
              "workbook": "[workbook]\nmax_part_mb = 0\n"}
    msg = _refusal(tmp_path, "".join(tables[t] for t in order))
    assert msg.startswith("key 'mail.school_reply_to' = 'office'"), msg
