"""Where an inspection is in its life, derived from its data, the journal and the date."""

from __future__ import annotations

from datetime import date

from automation.calendar import WorkingCalendar
from automation.model import Inspection

# The ladder, in order; later issues add rungs after "Awaiting report".
NOTIFIED, PLAN_SENT, IN_INSPECTION, AWAITING_REPORT = "Notified", "Plan sent", "In inspection", "Awaiting report"


def last_day(insp: Inspection, on_site_days: int, cal: WorkingCalendar) -> date:
    """The last day on site: start plus the working days the type lasts."""
    return cal.add_working_days(insp.start_date, on_site_days - 1) if on_site_days > 1 else insp.start_date


def status(insp: Inspection, plan_sent: bool, today: date, on_site_days: int, cal: WorkingCalendar) -> str:
    """Notified -> Plan sent -> In inspection -> Awaiting report."""
    if not plan_sent:
        return NOTIFIED
    if today < insp.start_date:
        return PLAN_SENT
    if today <= last_day(insp, on_site_days, cal):
        return IN_INSPECTION
    return AWAITING_REPORT
