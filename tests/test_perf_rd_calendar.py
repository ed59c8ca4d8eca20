"""The working calendar answers bank holidays from one dict per year, built from the `holidays`
package's United Kingdom module run on its own: every day from 1990 to 2079 answers exactly as
the package's usual country_holidays("GB", subdiv="ENG") does, names included."""

from __future__ import annotations

from datetime import date, timedelta

import holidays
import pytest

from automation import calendar
from automation.calendar import WorkingCalendar


def _every_day_as_the_package_says(cal: WorkingCalendar) -> int:
    checked = 0
    for year in range(1990, 2080):
        fresh = holidays.country_holidays("GB", subdiv="ENG")  # asked about this year only, as a run would
        d = date(year, 1, 1)
        while d.year == year:
            assert cal.bank_holiday(d) == fresh.get(d), d
            assert cal.is_working_day(d) == (d.weekday() < 5 and d not in fresh), d
            d += timedelta(days=1)
            checked += 1
    return checked


def test_every_day_answers_as_the_holidays_package_does():
    cal = WorkingCalendar()
    assert type(cal._bank).__name__ == "UnitedKingdom"  # the module run on its own, not the whole package
    assert _every_day_as_the_package_says(cal) == 32872
    assert cal.bank_holiday(date(2026, 12, 25)) == "Christmas Day"
    assert cal.bank_holiday(date(2022, 9, 19))  # the Queen's funeral: a one-off the package knows


def test_a_package_laid_out_otherwise_is_used_the_usual_way(monkeypatch):
    def gone(_holidays):
        raise FileNotFoundError("no countries/united_kingdom.py")

    monkeypatch.setattr(calendar, "_uk_module", gone)
    cal = WorkingCalendar()
    assert type(cal._bank).__name__ == "GB"  # what country_holidays gives
    assert cal.add_working_days(date(2026, 12, 24), 1) == date(2026, 12, 29)  # over Christmas and Boxing Day


@pytest.mark.parametrize("start,n,school", [(date(2026, 12, 23), 3, False), (date(2027, 1, 4), -2, False),
                                            (date(2026, 10, 23), 2, True)])
def test_counting_working_days_is_unchanged(start, n, school):
    bank = holidays.country_holidays("GB", subdiv="ENG")
    half_term = ((date(2026, 10, 26), date(2026, 10, 30)),)
    cal = WorkingCalendar(school_holidays=half_term)

    def ok(d):
        return d.weekday() < 5 and d not in bank and not (school and any(a <= d <= b for a, b in half_term))

    d, left, step = start, n, 1 if n > 0 else -1
    while left:
        d += timedelta(days=step)
        if ok(d):
            left -= step
    assert cal.add_working_days(start, n, school) == d
