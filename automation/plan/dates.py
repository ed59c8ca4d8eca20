"""The one way a date or time is written to a person: "Friday 4 December 2026", "17:00",
"Friday 4 December 2026, 17:00" (UK style: no leading zero on the day, 24-hour clock)."""

from __future__ import annotations

from datetime import date, datetime, time


def uk(value: date | datetime | time) -> str:
    """A date as 'Friday 4 December 2026', a datetime with ', 17:00' after it, a time as '17:00'."""
    if isinstance(value, datetime):
        return f"{uk(value.date())}, {value:%H:%M}"
    if isinstance(value, date):
        return f"{value:%A} {value.day} {value:%B %Y}"
    if isinstance(value, time):
        return f"{value:%H:%M}"
    raise TypeError(f"uk() takes a date, datetime or time, not {type(value).__name__}")
