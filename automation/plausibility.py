"""Warnings about an inspection's dates against Ofsted's published pattern and the LA's school
holidays (rules/contact_plan.toml [types]): possible, but usually a typing slip or worth a look."""

from __future__ import annotations

from datetime import date, timedelta

from automation.calendar import WorkingCalendar
from automation.errors import Problem
from automation.model import Holiday, Inspection, Tracker
from automation.rules import Rules
from automation.rules_schema import TypeTiming
from automation.status import last_day

UNTIMED = TypeTiming(on_site_days=2)  # a type contact_plan.toml gives no timings for

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _holiday(d: date, holidays: list[Holiday]) -> Holiday | None:
    return next((h for h in holidays if h.first <= d <= h.last), None)


def _warn(insp: Inspection, column: str, value: str, message: str, fix: str) -> Problem:
    return Problem("warning", "Inspections", insp.row, column, value, f"{insp.inspection_id}: {message}", fix)


def expected_notification_day(d: date, spec: TypeTiming, cal: WorkingCalendar) -> str:
    """The weekday routine inspections are notified on in the week of `d` (bank-holiday weeks differ)."""
    monday = d - timedelta(days=d.weekday())
    bank_week = any(cal.bank_holiday(monday + timedelta(days=i)) for i in range(5))
    return (spec.notify_on_in_bank_holiday_week or spec.notify_on) if bank_week else spec.notify_on


class _Days:
    """The calendar questions schedule_problems asks, each answered once per date: thousands of
    rows share a few hundred notification and start dates."""

    def __init__(self, cal: WorkingCalendar, holidays: list[Holiday]):
        self.cal, self.holidays = cal, holidays
        self._memo: dict[tuple, object] = {}

    def _once(self, key: tuple, compute):
        got = self._memo.get(key, self)
        if got is self:
            got = self._memo[key] = compute()
        return got

    def notify_day(self, d: date, spec: TypeTiming) -> str:
        return self._once(("notify", d - timedelta(days=d.weekday()), spec.notify_on, spec.notify_on_in_bank_holiday_week),
                          lambda: expected_notification_day(d, spec, self.cal))

    def next_school_day(self, d: date) -> date:
        return self._once(("next", d), lambda: self.cal.next_working_day(d, school=True))

    def school_days_notice(self, notified: date, start: date) -> int:
        """The school days after the call up to and including the start."""
        return self._once(("notice", notified, start), lambda: sum(
            1 for i in range(1, (start - notified).days + 1) if self.cal.is_school_day(notified + timedelta(days=i))))

    def holiday_on_site(self, insp: Inspection, on_site: int) -> tuple[date, Holiday] | None:
        """The first working day on site that falls in a school holiday, with the holiday."""
        return self._once(("on_site", insp.start_date, on_site), lambda: self._first_in_holiday(insp, on_site))

    def holiday(self, d: date) -> Holiday | None:
        return self._once(("holiday", d), lambda: _holiday(d, self.holidays))

    def _first_in_holiday(self, insp: Inspection, on_site: int) -> tuple[date, Holiday] | None:
        end, d = last_day(insp, on_site, self.cal), insp.start_date
        while d <= end:
            h = _holiday(d, self.holidays) if self.cal.is_working_day(d) else None
            if h:
                return d, h
            d += timedelta(days=1)
        return None


def _pattern(insp: Inspection, spec: TypeTiming, days: _Days) -> list[Problem]:
    out = []
    notified = insp.notified_at.date()
    if spec.notify_on and insp.deferral != "Granted":
        want = days.notify_day(notified, spec)
        got = WEEKDAYS[notified.weekday()]
        follow = days.next_school_day(notified)
        if got != want or insp.start_date != follow:
            out.append(_warn(insp, "Notified at", f"{insp.notified_at:%d/%m/%Y %H:%M}",
                             f"a routine {insp.inspection_type} inspection is notified on a {want} (that week) and on site "
                             f"the following days, but this one was notified on a {got} and starts {insp.start_date:%A %d/%m/%Y}",
                             "check Notified at and Start date; if Ofsted re-notified a deferred inspection, set Deferral to Granted."))
    most = spec.max_notice_school_days
    if most is not None and insp.deferral != "Granted":
        # "Up to 2 school days before": the school days after the call up to and including the start.
        notice = days.school_days_notice(notified, insp.start_date)
        if notice > most:
            out.append(_warn(insp, "Start date", f"{insp.start_date:%d/%m/%Y}",
                             f"Ofsted calls up to {most} school days before a {insp.inspection_type} inspection, but "
                             f"{notice} school days separate the call and the start",
                             "check the dates; if a deferral moved the start, set Deferral to Granted."))
    return out


def _holidays(insp: Inspection, on_site: int, days: _Days) -> list[Problem]:
    out = []
    got = days.holiday_on_site(insp, on_site)
    if got:
        d, h = got
        out.append(_warn(insp, "Start date", f"{insp.start_date:%d/%m/%Y}",
                         f"inspection day {d:%A %d/%m/%Y} falls in the school holiday '{h.name}' "
                         f"({h.first:%d/%m/%Y}-{h.last:%d/%m/%Y})",
                         "check the Start date and the Holidays sheet: Ofsted inspects on school days."))
    if insp.final_feedback_at:
        h = days.holiday(insp.final_feedback_at.date())
        if h:
            out.append(_warn(insp, "Final feedback at", f"{insp.final_feedback_at:%d/%m/%Y %H:%M}",
                             f"final feedback falls in the school holiday '{h.name}'",
                             "check Final feedback at and the Holidays sheet."))
    return out


def schedule_problems(tracker: Tracker, rules: Rules) -> list[Problem]:
    """Warnings for every inspection whose dates do not fit Ofsted's pattern or the school holidays."""
    plan = rules.contact_plan
    cal = WorkingCalendar(school_holidays=tuple((h.first, h.last) for h in tracker.holidays))
    days = _Days(cal, tracker.holidays)
    specs: dict[tuple[str, str], TypeTiming] = {}
    out = []
    for insp in tracker.inspections:
        key = (insp.framework, insp.inspection_type)
        spec = specs.get(key)
        if spec is None:
            spec = specs[key] = plan.type_timing(*key) or UNTIMED
        out += _pattern(insp, spec, days)
        if tracker.holidays:  # without school holidays nothing can fall in one
            out += _holidays(insp, spec.on_site_days, days)
    return out


# --- Day/month slips: a date read day first that the officer may have meant month first.

def other_reading(d: date) -> date | None:
    """The same date with day and month swapped, where both readings are real dates (else None)."""
    if d.day > 12 or d.day == d.month:
        return None
    return d.replace(month=d.day, day=d.month)


def long_date(d: date) -> str:
    """A date in words (3 December 2026), so neither reading can be mistaken."""
    return f"{d.day} {d:%B %Y}"


def how_read(raw, d: date) -> str:
    """How the cell was read: a typed text date, or a date Excel stored."""
    if isinstance(raw, str):
        return f"The text '{raw.strip()}' is read day first, as {long_date(d)}."
    return f"Excel stored it as {long_date(d)}: UK Excel reads a date typed month first the other way round."


def fits(notified: date | None, start: date | None, most: int) -> bool:
    """Whether the start follows the notification within `most` days."""
    return notified is not None and start is not None and 0 <= (start - notified).days <= most


def notice_slips(notified: date, start: date, most: int) -> dict[str, date]:
    """When Start date does not follow Notified at within `most` days but would with one (or both)
    read the other way round: the likely intended date by column (else empty)."""
    if fits(notified, start, most):
        return {}
    n2, s2 = other_reading(notified), other_reading(start)
    for n, s in ((n2, start), (notified, s2), (n2, s2)):
        if fits(n, s, most):
            return {col: d for col, d, was in (("Notified at", n, notified), ("Start date", s, start)) if d != was}
    return {}


def middle(days: list[date]) -> date | None:
    """The median of some dates (the lower middle for an even count), or None."""
    if not days:
        return None
    return sorted(days)[(len(days) - 1) // 2]


def neighbour_slip(d: date, start: date | None, most: int, around: list[date], far: int, near: int,
                   today: date | None) -> tuple[date, date] | None:
    """(likely intended date, the neighbours' middle date) when Notified at `d` is `far` days or
    more from the rows around it but its other reading is within `near` days of them, is not in
    the future, and still fits the row's start read the other way round too (both typed month
    first). A start that fits only `d` as read vouches for it: a late-recorded row is left alone."""
    ref, alt = middle(around), other_reading(d)
    if ref is None or alt is None or abs((d - ref).days) < far or abs((alt - ref).days) > near:
        return None
    if today is not None and alt > today:
        return None
    if start is not None and not (fits(alt, start, most) or fits(alt, other_reading(start), most)):
        return None
    return alt, ref
