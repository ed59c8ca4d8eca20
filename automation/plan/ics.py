"""Calendar invites (.ics, via icalendar) for the keep-in-touch calls."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from icalendar import Calendar, Event, vCalAddress, vText

from automation.mail.message import Attachment
from automation.plan.contact import ContactPlan


def calls_invite(plan: ContactPlan, organiser: str, attendees: list[str], version: int,
                 stamp: datetime, la_name: str) -> Attachment | None:
    """One invite holding every keep-in-touch call; updated plans reuse the UIDs with a higher SEQUENCE."""
    # A late plan does not invite anyone to a call that is already over.
    calls = [c for c in plan.calls if c.calendar and c.start + timedelta(minutes=c.minutes) > stamp]
    if not calls:
        return None
    cal = Calendar()
    cal.add("prodid", "-//ofsted-tracker//contact plan//EN")
    cal.add("version", "2.0")
    cal.add("method", "REQUEST")
    domain = organiser.rsplit("@", 1)[-1]
    for c in calls:
        ev = Event()
        ev.add("uid", f"{plan.inspection.inspection_id}-call-{c.index}@{domain}")
        ev.add("sequence", version - 1)
        ev.add("dtstamp", stamp.astimezone(timezone.utc))
        # UTC times: correct across the clock change without shipping a VTIMEZONE.
        ev.add("dtstart", c.start.astimezone(timezone.utc))
        ev.add("dtend", (c.start + timedelta(minutes=c.minutes)).astimezone(timezone.utc))
        ev.add("summary", f"{c.label}: {plan.school.name} (Ofsted inspection)")
        ev.add("description", f"{c.owner.name} ({la_name}) calls the headteacher. Phone: {c.owner.phone or 'see email'}.")
        org = vCalAddress(f"mailto:{organiser}")
        org.params["cn"] = vText(la_name)
        ev.add("organizer", org)
        for a in attendees:
            att = vCalAddress(f"mailto:{a}")
            att.params["role"] = vText("REQ-PARTICIPANT")
            ev.add("attendee", att, encode=0)
        cal.add_component(ev)
    return Attachment("keep-in-touch-calls.ics", "text/calendar; method=REQUEST", cal.to_ical())
