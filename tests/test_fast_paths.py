"""The shortcuts that make a big run cheaper give the same answers as the long way: the
follow-ups' day index against the calendar stepping day by day, and a write planned once
for the dry-run count and the save."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

import openpyxl

from automation.calendar import LONDON, WorkingCalendar
from automation.config import parse_config
from automation.followups import DayIndex
from automation.mail.transport import MemoryTransport
from automation.run import run
from automation.workbook import store as store_mod
from tests.conftest import inspection, write_tracker

TODAY = date(2026, 11, 19)
HOLIDAYS = ((date(2026, 7, 22), date(2026, 9, 2)), (date(2025, 12, 20), date(2026, 1, 4)),
            (date(2026, 10, 26), date(2026, 10, 30)))


def test_the_day_index_agrees_with_the_calendar_everywhere_and_beyond_its_span():
    cal = WorkingCalendar(school_holidays=HOLIDAYS)
    days = DayIndex(cal, TODAY)
    rng = random.Random(7)
    for _ in range(5000):
        d = TODAY + timedelta(days=rng.randint(-1600, 1600))  # past the index's span both ways too
        n, school = rng.randint(-70, 70), rng.random() < 0.5
        assert days.add_working_days(d, n, school) == cal.add_working_days(d, n, school), (d, n, school)
        assert days.on_or_after(d, school) == cal.on_or_after(d, school), (d, school)
    # Bank holidays and both ends of a school holiday, exactly.
    assert days.add_working_days(date(2026, 12, 24), 1) == date(2026, 12, 29)
    assert days.add_working_days(date(2026, 7, 21), 1, school=True) == date(2026, 9, 3)
    assert days.add_working_days(date(2026, 9, 3), -1, school=True) == date(2026, 7, 21)
    assert days.on_or_after(date(2026, 10, 26), school=True) == date(2026, 11, 2)


def test_the_follow_ups_sheet_is_planned_once_for_the_count_and_the_save(tmp_path, monkeypatch):
    path = write_tracker(tmp_path / "tracker.xlsx", inspections=[inspection(), inspection(urn="100002")])
    calls = []
    real = store_mod._follow_ups
    monkeypatch.setattr(store_mod, "_follow_ups", lambda sheet, update: calls.append(1) or real(sheet, update))
    cfg = parse_config({"mail": {"transport": "outbox"}}, "test")
    result = run(path, cfg, datetime(2026, 11, 19, 10, 0, tzinfo=LONDON), transport=MemoryTransport())
    assert result.cells_written > 0 and len(calls) == 1
    ws = openpyxl.load_workbook(path)["Follow-ups"]
    assert ws.max_row > 1  # after the inspection: its actions listed, from the one plan
