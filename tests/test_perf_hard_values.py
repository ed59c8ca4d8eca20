"""Values that used to pass loading and then crash a command ("internal error", exit 2) or be read
as something else: infinite or huge numbers, clock texts int() happens to take, and conditions or
frameworks that say nothing. Each is now one refusal line at load time (exit 3), and the bounds
themselves still run."""

from __future__ import annotations

import re
import shutil
import tomllib
from pathlib import Path

import pytest

from automation.config import load_config
from automation.errors import ConfigError
from automation.paths import rules_dir
from tests.console import cli


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    """The product's own sample tracker (validate only reads it, so the tests share one)."""
    folder = tmp_path_factory.mktemp("sample")
    out = cli("sample", "t.xlsx", "--today", "2026-12-01", cwd=folder)
    assert out.returncode == 0, out.stderr
    return folder / "t.xlsx"


def _validate(tmp_path: Path, sample: Path, config: str):
    (tmp_path / "config.toml").write_text(config, encoding="utf-8")
    shutil.copy(sample, tmp_path / "t.xlsx")
    return cli("validate", "t.xlsx", "--config", "config.toml", cwd=tmp_path)


def _refused(tmp_path: Path, sample: Path, config: str) -> str:
    """The one line `validate` refuses the config (or its rules) with, exit 3 and nothing else said."""
    out = _validate(tmp_path, sample, config)
    assert out.returncode == 3, (out.returncode, out.stderr)
    assert out.stdout == "" and out.stderr.count("\n") == 1, out.stderr
    assert "internal error" not in out.stderr
    return out.stderr.rstrip("\n")


def _la_rules(tmp_path: Path, stem: str, edits: list[tuple[str, str]]) -> Path:
    """An LA's copy of one shipped rules file, each (pattern, replacement) applied once, in tmp_path/rules."""
    text = (rules_dir() / f"{stem}.toml").read_text(encoding="utf-8")
    for pattern, replacement in edits:
        edited = re.sub(pattern, replacement, text, count=1, flags=re.M)
        assert edited != text, pattern  # the shipped file still has the line the test edits
        text = edited
    folder = tmp_path / "rules"
    folder.mkdir(exist_ok=True)
    path = folder / f"{stem}.toml"
    path.write_text(text, encoding="utf-8")
    return path


RULES_CONFIG = '[paths]\nrules_dir = "rules"\n'


# ---- Config: numbers that are not finite, or too big for what the tool does with them ----

@pytest.mark.parametrize("config, line", [
    ("[workbook]\nmax_part_mb = inf\n",
     "key 'workbook.max_part_mb' = inf should be a number of megabytes above 0 and at most 100000, e.g. 200 — correct it."),
    ("[mail.smtp]\nrate_per_minute = inf\n",
     "key 'mail.smtp.rate_per_minute' = inf should be messages a minute from 0 to 10000, e.g. 30 (0 = no limit) — correct it."),
    ("[mail.graph]\ntimeout_seconds = inf\n",
     "key 'mail.graph.timeout_seconds' = inf should be a number of seconds above 0 and at most 86400 (a day), e.g. 60 — "
     "correct it."),
    ("[reminders]\nlookahead_working_days = 99999999999999999999999\n",
     "key 'reminders.lookahead_working_days' = 99999999999999999999999 should be a whole number of working days "
     "from 0 to 3650 — correct it."),
    ("[sharepoint]\nlease_minutes = 10081\n",
     "key 'sharepoint.lease_minutes' = 10081 should be a whole number of minutes from 1 to 10080 (a week) — correct it."),
])
def test_a_config_number_too_big_or_infinite_is_refused_at_validate(tmp_path, sample, config, line):
    assert _refused(tmp_path, sample, config) == "ofsted-tracker: config.toml: " + line


def _refusal(tmp_path: Path, text: str) -> str:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert "\n" not in str(err.value)
    return str(err.value).removeprefix(f"{path}: ")


@pytest.mark.parametrize("table, key, value, words", [
    ("workbook", "max_compression_ratio", "inf", "a number above 0 and at most 100000, e.g. 100"),
    ("workbook", "max_part_mb", "1e308", "a number of megabytes above 0 and at most 100000, e.g. 200"),
    ("mail.smtp", "timeout_seconds", "1e300", "a number of seconds above 0 and at most 86400 (a day), e.g. 60"),
    ("mail.ews", "confirm_every_seconds", "inf", "a number of seconds from 0 to 86400 (a day)"),
    ("mail.ews", "max_wait_seconds", "86400.5", "a number of seconds from 0 to 86400 (a day)"),
    ("mail.graph", "confirm_wait_seconds", "inf", "a number of seconds from 0 to 86400 (a day)"),
    ("mail.graph", "rate_per_minute", "10001", "messages a minute from 0 to 10000, e.g. 30 (0 = no limit)"),
    ("sharepoint", "timeout_seconds", "inf", "a number of seconds above 0 and at most 86400 (a day), e.g. 60"),
    ("sharepoint", "max_wait_seconds", "1e20", "a number of seconds from 0 to 86400 (a day)"),
    ("sharepoint", "lease_minutes", "99999999999999999999", "a whole number of minutes from 1 to 10080 (a week)"),
    ("reminders", "escalate_after_working_days", "3651", "a whole number of working days from 0 to 3650"),
])
def test_every_bounded_config_number_names_its_bound(tmp_path, table, key, value, words):
    written = tomllib.loads(f"v = {value}")["v"]  # the value as the loader sees it, shown by its repr
    assert _refusal(tmp_path, f"[{table}]\n{key} = {value}\n") == \
        f"key '{table}.{key}' = {written!r} should be {words} — correct it."


@pytest.mark.parametrize("text, line", [
    # Below the bound, nan and the wrong type keep the words they had: only the new refusals name the bound.
    ("[workbook]\nmax_part_mb = nan\n",
     "key 'workbook.max_part_mb' = nan should be a number of megabytes, e.g. 200 — correct it."),
    ("[mail.graph]\nmax_wait_seconds = -inf\n",
     "key 'mail.graph.max_wait_seconds' = -inf should be a number of seconds, 0 or more — correct it."),
    ("[reminders]\nlookahead_working_days = -1\n",
     "key 'reminders.lookahead_working_days' = -1 should be a whole number of working days — correct it."),
    ("[reminders]\nlookahead_working_days = \"5\"\n",
     "key 'reminders.lookahead_working_days' = '5' should be a whole number of working days — correct it."),
    ("[sharepoint]\nlease_minutes = 0\n",
     "key 'sharepoint.lease_minutes' = 0 should be a whole number of minutes, 1 or more — correct it."),
])
def test_values_below_a_bound_keep_their_words(tmp_path, text, line):
    assert _refusal(tmp_path, text) == line


def test_the_bounds_themselves_are_taken(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text("[reminders]\nlookahead_working_days = 3650\nescalate_after_working_days = 0\n"
                    "[sharepoint]\nlease_minutes = 10080\ntimeout_seconds = 86400\nmax_wait_seconds = 86400\n"
                    "[mail.smtp]\nrate_per_minute = 10000\ntimeout_seconds = 86400.0\n"
                    "[workbook]\nmax_part_mb = 100000\nmax_compression_ratio = 100000\n", encoding="utf-8")
    cfg = load_config(path)
    assert cfg.section("reminders")["lookahead_working_days"] == 3650 and cfg.section("mail.smtp")["rate_per_minute"] == 10000
    assert cfg.section("sharepoint")["lease_minutes"] == 10080 and cfg.section("workbook")["max_part_mb"] == 100000


# ---- Config: clock texts ----

@pytest.mark.parametrize("written", ["08:-0", "+8:30", " 8:30", "8:30 ", "\uff10\uff18:30", "08:3\u0660", "0_8:30",
                                     "9:5", "008:30", "8:300"])
def test_a_clock_is_h_mm_or_hh_mm_in_ascii_digits(tmp_path, sample, written):
    line = _refused(tmp_path, sample, f'[working_hours]\nstart = "{written}"\n')
    assert line == (f"ofsted-tracker: config.toml: key 'working_hours.start' = {written!r} "
                    "should be a time like \"17:00\" — correct it.")


@pytest.mark.parametrize("table, key", [("reminders", "send_after"), ("schedule", "start"), ("reports", "oversight_refresh_at")])
def test_every_clock_key_reads_clocks_the_same_way(tmp_path, table, key):
    assert f"key '{table}.{key}' = '+7:00' should be a time like" in _refusal(tmp_path, f'[{table}]\n{key} = "+7:00"\n')
    path = tmp_path / "ok.toml"
    path.write_text(f'[{table}]\n{key} = "7:05"\n', encoding="utf-8")
    assert load_config(path).section(table)[key] == "07:05"


# ---- Rules: whole numbers too big for dates and timers ----

@pytest.mark.parametrize("stem, edit, where", [
    ("contact_plan", (r"^working_hours = 2", "working_hours = 99999999999999999999"),
     "contact_plan.toml, [[step]] 1 ('acknowledge'), key 'working_hours': expected a whole number at most 1000, "
     "got 99999999999999999999"),
    ("follow_ups", (r"^months = 3", "months = 1201"),
     "follow_ups.toml, [[action]] 17 ('monitoring_category'), key 'months': expected a whole number at most 1200, got 1201"),
    ("date_sense", (r"^far_days = 60", "far_days = 3651"),
     "date_sense.toml, key 'far_days': expected a whole number at most 3650, got 3651"),
])
def test_a_rules_number_too_big_is_refused_at_validate(tmp_path, sample, stem, edit, where):
    path = _la_rules(tmp_path, stem, [edit])
    line = _refused(tmp_path, sample, RULES_CONFIG)
    assert line == f"ofsted-tracker: Rules file {path.parent}/{where} — correct it."


def test_a_series_reaching_past_the_bound_is_refused(tmp_path, sample):
    path = _la_rules(tmp_path, "follow_ups", [(r"^repeat = 6\nevery_working_days = 5", "repeat = 100\nevery_working_days = 100")])
    assert _refused(tmp_path, sample, RULES_CONFIG) == (
        f"ofsted-tracker: Rules file {path}, [[action]] 6 ('concern_checkin'): the series' last action is due 9905 working "
        "days after its anchor (working_days + (repeat - 1) × every_working_days), more than 3650 — correct it (compare "
        "with the shipped automation/rules/follow_ups.toml).")


def test_a_run_at_the_bounds_completes(tmp_path, sample):
    """The bounds are safe, not just refusals: a run with rules and config at them writes the tracker."""
    _la_rules(tmp_path, "contact_plan", [(r"^working_hours = 2", "working_hours = 1000"),
                                         (r"^working_days = 1", "working_days = 3650"),
                                         (r"^on_site_days = 2", "on_site_days = 30"),
                                         (r"^minutes = 30", "minutes = 1440")])
    _la_rules(tmp_path, "follow_ups", [(r"^months_after_last_day = 30", "months_after_last_day = 1200"),
                                       (r"^months = 3", "months = 1200"),
                                       (r"^repeat = 6\nevery_working_days = 5", "repeat = 100\nevery_working_days = 36")])
    _la_rules(tmp_path, "date_sense", [(r"^future_grace_minutes = 30", "future_grace_minutes = 1440"),
                                       (r"^neighbour_rows = 3", "neighbour_rows = 100"),
                                       (r"^far_days = 60", "far_days = 3650"), (r"^near_days = 14", "near_days = 3650")])
    (tmp_path / "config.toml").write_text(RULES_CONFIG + "[reminders]\nlookahead_working_days = 3650\n"
                                          "escalate_after_working_days = 3650\n", encoding="utf-8")
    shutil.copy(sample, tmp_path / "t.xlsx")
    out = cli("run", "t.xlsx", "--config", "config.toml", "--now", "2026-12-01T09:30", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "Tracker updated" in out.stdout + out.stderr


# ---- Rules: a framework without types, a condition that says nothing ----

def test_a_framework_without_types_is_refused(tmp_path, sample):
    path = _la_rules(tmp_path, "frameworks", [(r"^types = .*$", "types = []")])
    assert _refused(tmp_path, sample, RULES_CONFIG) == (
        f"ofsted-tracker: Rules file {path}, [frameworks.eif2024], key 'types': expected at least one entry, got none — "
        "add one (compare with the shipped automation/rules/frameworks.toml).")


EMPTY = "[] is a condition no inspection meets, so this would never apply — list the conditions it is for, or write {} " \
        "for every inspection."


@pytest.mark.parametrize("applies", ["[]", '{ all = ["la_involved", []] }', '["la_involved", [[]]]'])
def test_an_empty_list_as_a_condition_is_refused(tmp_path, sample, applies):
    path = _la_rules(tmp_path, "contact_plan", [(r'^applies = "la_involved"', f"applies = {applies}")])
    assert _refused(tmp_path, sample, RULES_CONFIG) == \
        f"ofsted-tracker: Rules file {path}, [[step]] 1 ('acknowledge'), key 'applies': {EMPTY}"


def test_an_empty_named_condition_is_refused(tmp_path, sample):
    path = _la_rules(tmp_path, "conditions", [(r"^la_involved = .*$", "la_involved = []")])
    assert _refused(tmp_path, sample, RULES_CONFIG) == \
        f"ofsted-tracker: Rules file {path}, [conditions], key 'la_involved': {EMPTY}"


@pytest.mark.parametrize("applies", ["{}", "{ all = [] }"])
def test_an_empty_table_keeps_its_documented_meaning(tmp_path, sample, applies):
    # conditions.py: "absent or {}: every inspection"; {all = []} is every one of none, the same.
    _la_rules(tmp_path, "contact_plan", [(r'^applies = "la_involved"', f"applies = {applies}")])
    out = _validate(tmp_path, sample, RULES_CONFIG)
    assert out.returncode == 0, out.stderr
    assert "0 error(s)" in out.stdout


@pytest.mark.parametrize("facet", ["governance", "not_governance"])
def test_a_facet_with_no_words_is_refused(tmp_path, sample, facet):
    # governance = [] matches no school, not_governance = [] every one: either way a slip, said at load.
    _la_rules(tmp_path, "contact_plan", [(r'^applies = "la_involved"', f"applies = {{ {facet} = [] }}")])
    line = _refused(tmp_path, sample, RULES_CONFIG)
    assert f"{facet} = [] names no word, so the condition says nothing" in line and "\n" not in line
