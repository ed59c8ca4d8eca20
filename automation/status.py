"""Where an inspection is in its life, derived from its data, the journal, the follow-ups
and the date (never stored: the Status column is rewritten from these on every run)."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from automation.calendar import WorkingCalendar
from automation.model import FollowUp, Inspection


class Status(StrEnum):
    """The Status column's values: the ladder, in order (the cell holds the value string)."""

    NOTIFIED = "Notified"
    PLAN_SENT = "Plan sent"
    IN_INSPECTION = "In inspection"
    AWAITING_REPORT = "Awaiting report"
    FOLLOW_UP = "Follow-up"
    CLOSED = "Closed"


NOTIFIED, PLAN_SENT, IN_INSPECTION, AWAITING_REPORT = (Status.NOTIFIED, Status.PLAN_SENT, Status.IN_INSPECTION,
                                                       Status.AWAITING_REPORT)
FOLLOW_UP, CLOSED = Status.FOLLOW_UP, Status.CLOSED
PROBLEM = "Problem: "  # instead of a ladder step while something on the row needs an officer


def problem_status(what: str, where: str) -> str:
    """The Status of a row with a problem, e.g. 'Problem: URN — see Problems sheet'."""
    return f"{PROBLEM}{what} — see {where}"


def last_day(insp: Inspection, on_site_days: int, cal: WorkingCalendar) -> date:
    """The last day on site: start plus the school days the type lasts (school holidays skipped)."""
    return cal.add_working_days(insp.start_date, on_site_days - 1, school=True) if on_site_days > 1 else insp.start_date


def status(insp: Inspection, plan_sent: bool, today: date, on_site_days: int, cal: WorkingCalendar,
           actions: list[FollowUp] | None = None, end: date | None = None) -> Status:
    """Notified -> Plan sent -> In inspection -> Awaiting report -> Follow-up -> Closed
    (`end`: the last day on site, when the caller has already worked it out)."""
    if today <= (end or last_day(insp, on_site_days, cal)):
        if not plan_sent:
            return NOTIFIED
        return PLAN_SENT if today < insp.start_date else IN_INSPECTION
    return after_status(insp, actions or [])


def after_status(insp: Inspection, actions: list[FollowUp]) -> Status:
    """After the last day: the report is awaited; once published, open actions mean
    Follow-up and none left open (all Done or No longer needed) means Closed."""
    if insp.report_published is None:
        return AWAITING_REPORT
    # "Open" is automation/followups.OPEN, spelled out: that module imports this one.
    return FOLLOW_UP if any(a.state == "Open" for a in actions) else CLOSED
