"""Working days and working hours in Europe/London: England & Wales bank holidays
(the `holidays` package) and the LA's school holidays (the Holidays sheet)."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    import holidays

LONDON = ZoneInfo("Europe/London")


def _bank_holidays():
    # Imported when a calendar is made, not with this module: commands that never count working
    # days (import-schools) need not pay for the package.
    import holidays

    try:
        return _uk_module(holidays).UnitedKingdom(subdiv="ENG")
    except Exception:  # another layout of the package: its usual door, which is all it costs
        return holidays.country_holidays("GB", subdiv="ENG")


@functools.cache
def _uk_module(holidays):
    """The package's United Kingdom module, run on its own (once a process): importing it the usual
    way runs holidays.countries, which imports all ~250 countries (8 MB and 0.17 s of every command)."""
    import importlib.util
    from pathlib import Path

    source = Path(holidays.__file__).parent / "countries" / "united_kingdom.py"
    spec = importlib.util.spec_from_file_location("holidays.countries.united_kingdom", source)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _bank_year(bank: holidays.HolidayBase, year: int) -> dict[date, str]:
    """The bank holidays falling in a year, with their names as `bank` gives them."""
    # The years either side too: a holiday observed on another day may fall across New Year.
    for y in (year - 1, year, year + 1):
        bank.get(date(y, 6, 1))  # the object fills a year's holidays when asked about any day of it
    return {d: bank.get(d) for d in bank if d.year == year}


@dataclass(frozen=True)
class WorkingCalendar:
    day_start: time = time(8, 30)
    day_end: time = time(17, 0)
    school_holidays: tuple[tuple[date, date], ...] = ()
    tz: ZoneInfo = LONDON
    _bank: holidays.HolidayBase = field(default_factory=_bank_holidays, compare=False, repr=False)

    # year -> {date: name}: the `holidays` object's own lookup is Python code run for every day a
    # plan counts (tens of thousands a run); a plain dict per year answers the same in C.
    _years: dict = field(default_factory=dict, compare=False, repr=False)

    def _year(self, year: int) -> dict:
        got = self._years.get(year)
        if got is None:
            got = self._years[year] = _bank_year(self._bank, year)
        return got

    def bank_holiday(self, d: date) -> str | None:
        """The bank holiday's name on a date, or None."""
        return self._year(d.year).get(d)

    def is_working_day(self, d: date) -> bool:
        """Monday to Friday and not an England & Wales bank holiday."""
        return d.weekday() < 5 and d not in self._year(d.year)

    def is_school_day(self, d: date) -> bool:
        """A working day outside the LA's school holidays."""
        return self.is_working_day(d) and not any(a <= d <= b for a, b in self.school_holidays)

    def _step(self, d: date, n: int, school: bool) -> date:
        ok = self.is_school_day if school else self.is_working_day
        step = 1 if n >= 0 else -1
        while n:
            d += timedelta(days=step)
            if ok(d):
                n -= step
        return d

    def add_working_days(self, d: date, n: int, school: bool = False) -> date:
        """The date n working (or school) days after d (before, if n < 0)."""
        return self._step(d, n, school)

    def next_working_day(self, d: date, school: bool = False) -> date:
        """The first working day strictly after d."""
        return self._step(d, 1, school)

    def on_or_after(self, d: date, school: bool = False) -> date:
        """d itself if a working day, else the next one."""
        ok = self.is_school_day if school else self.is_working_day
        return d if ok(d) else self._step(d, 1, school)

    def working_days_between(self, a: date, b: date) -> int:
        """Working days after a up to and including b (negative if b is before a)."""
        if b < a:
            return -self.working_days_between(b, a)
        return sum(1 for i in range(1, (b - a).days + 1) if self.is_working_day(a + timedelta(days=i)))

    def local(self, dt: datetime) -> datetime:
        """An aware datetime in the calendar's zone (naive ones are taken as local time)."""
        return dt.replace(tzinfo=self.tz) if dt.tzinfo is None else dt.astimezone(self.tz)

    def at(self, d: date, t: time) -> datetime:
        """Local wall-clock time on a date (summer time handled by zoneinfo)."""
        return datetime.combine(d, t, tzinfo=self.tz)

    def add_working_hours(self, start: datetime, hours: float) -> datetime:
        """The moment `hours` of working time after start, counting only working hours."""
        cur = self.local(start)
        left = timedelta(hours=hours)
        while True:
            d = cur.date()
            open_, close = self.at(d, self.day_start), self.at(d, self.day_end)
            if not self.is_working_day(d) or cur >= close:
                cur = self.at(self.next_working_day(d), self.day_start)
                continue
            cur = max(cur, open_)
            if cur + left <= close:
                return cur + left
            left -= close - cur
            cur = self.at(self.next_working_day(d), self.day_start)

    def working_hours_between(self, a: datetime, b: datetime) -> float:
        """Hours of working time from a to b (0 if b is not after a)."""
        a, b = self.local(a), self.local(b)
        total = timedelta()
        d = a.date()
        while d <= b.date():
            if self.is_working_day(d):
                lo = max(a, self.at(d, self.day_start))
                hi = min(b, self.at(d, self.day_end))
                if hi > lo:
                    total += hi - lo
            d += timedelta(days=1)
        return total.total_seconds() / 3600
