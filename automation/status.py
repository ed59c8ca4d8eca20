"""Where an inspection is in its life, derived from its data, the journal, the follow-ups
and the date (never stored: the Status column is rewritten from these on every run)."""

from __future__ import annotations

from datetime import date

from automation.calendar import WorkingCalendar
from automation.model import FollowUp, Inspection

# The ladder, in order.
NOTIFIED, PLAN_SENT, IN_INSPECTION, AWAITING_REPORT = "Notified", "Plan sent", "In inspection", "Awaiting report"
FOLLOW_UP, CLOSED = "Follow-up", "Closed"


def last_day(insp: Inspection, on_site_days: int, cal: WorkingCalendar) -> date:
    """The last day on site: start plus the school days the type lasts (school holidays skipped)."""
    return cal.add_working_days(insp.start_date, on_site_days - 1, school=True) if on_site_days > 1 else insp.start_date


def status(insp: Inspection, plan_sent: bool, today: date, on_site_days: int, cal: WorkingCalendar,
           actions: list[FollowUp] | None = None) -> str:
    """Notified -> Plan sent -> In inspection -> Awaiting report -> Follow-up -> Closed."""
    if today <= last_day(insp, on_site_days, cal):
        if not plan_sent:
            return NOTIFIED
        return PLAN_SENT if today < insp.start_date else IN_INSPECTION
    return after_status(insp, actions or [])


def after_status(insp: Inspection, actions: list[FollowUp]) -> str:
    """After the last day: the report is awaited; once published, open actions mean
    Follow-up and none left open (all Done or No longer needed) means Closed."""
    if insp.report_published is None:
        return AWAITING_REPORT
    return FOLLOW_UP if any(a.state == "Open" for a in actions) else CLOSED
