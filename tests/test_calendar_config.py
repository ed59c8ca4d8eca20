"""Working days and hours (bank holidays, school holidays, summer time) and configuration."""

from __future__ import annotations

import os
from datetime import date, datetime, time
from pathlib import Path

import pytest

from automation.calendar import LONDON, WorkingCalendar
from automation.config import load_config, parse_config
from automation.errors import ConfigError, WorkbookLocked
from automation.workbook.writer import SheetEdit, apply_edits
from tests.conftest import write_tracker

REPO = Path(__file__).resolve().parents[1]


def test_working_days_skip_weekends_and_bank_holidays():
    cal = WorkingCalendar()
    assert cal.add_working_days(date(2026, 12, 24), 1) == date(2026, 12, 29)  # Christmas + Boxing Day (observed)
    assert cal.add_working_days(date(2026, 5, 22), 1) == date(2026, 5, 26)  # spring bank holiday Monday
    assert cal.working_days_between(date(2026, 11, 20), date(2026, 11, 27)) == 5
    assert "Summer Bank Holiday" in cal.bank_holiday(date(2026, 8, 31))
    assert cal.bank_holiday(date(2026, 8, 28)) is None


def test_school_days_skip_school_holidays_too():
    cal = WorkingCalendar(school_holidays=((date(2026, 10, 26), date(2026, 10, 30)),))
    assert cal.add_working_days(date(2026, 10, 23), 1) == date(2026, 10, 26)
    assert cal.add_working_days(date(2026, 10, 23), 1, school=True) == date(2026, 11, 2)


def test_working_hours_across_a_weekend_and_the_clock_change():
    cal = WorkingCalendar(time(8, 30), time(17, 0))
    # Friday 23 Oct 2026 16:00 BST + 2 working hours = Monday 26 Oct 09:30 GMT.
    got = cal.add_working_hours(datetime(2026, 10, 23, 16, 0, tzinfo=LONDON), 2)
    assert got == datetime(2026, 10, 26, 9, 30, tzinfo=LONDON) and got.utcoffset().total_seconds() == 0
    assert cal.working_hours_between(datetime(2026, 10, 23, 16, 0, tzinfo=LONDON), got) == 2.0


def test_example_config_parses_and_defaults_apply():
    cfg = load_config(REPO / "config.example.toml")
    assert cfg.transport == "outbox" and cfg.sender == "ofsted.support@la.example.org"
    assert cfg.day_start == time(8, 30) and cfg.allowed_domains == ()
    assert load_config(None).source == "embedded default"


@pytest.mark.parametrize("data, words", [
    ({"mail": {"sender": "nobody"}}, "'mail.sender'"),
    ({"working_hours": {"start": "9am"}}, "'working_hours.start'"),
    ({"working_hours": {"start": "17:00", "end": "09:00"}}, "is not after start"),
    ({"mail": {"allowed_domains": "la.example.org"}}, "'mail.allowed_domains' should be a list"),
    ({"mail": {"smtp": {"security": "tls"}}}, "'mail.smtp.security'"),
    ({"mail": {"graph": {"client_secret": "s3cret"}}}, "'mail.graph.client_secret' holds a secret"),
])
def test_config_errors_name_the_file_and_key(data, words):
    with pytest.raises(ConfigError) as exc:
        parse_config(data, "council.toml")
    assert str(exc.value).startswith("council.toml") and words in str(exc.value)
    assert "s3cret" not in str(exc.value)


def test_read_only_tracker_is_not_written(tmp_path, monkeypatch):
    path = write_tracker(tmp_path / "t.xlsx")
    before = path.read_bytes()
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if mode == os.W_OK else real(p, mode))
    with pytest.raises(WorkbookLocked, match="read-only"):
        apply_edits(path, [SheetEdit("Inspections", {(2, 1): "X"})])
    assert path.read_bytes() == before
