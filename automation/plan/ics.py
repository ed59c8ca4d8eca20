"""Meeting requests and cancellations (iTIP, RFC 5546, via icalendar) for the keep-in-touch calls.

One calendar object per call, each with its own UID and one VEVENT per message: Outlook maps
each VEVENT without RECURRENCE-ID to a calendar object of its own and a meeting message to
exactly one, so a file holding several calls shows only the first. A request travels as the
`text/calendar; method=...` alternative of the message body (what Outlook, OWA and Gmail turn
into a meeting with Accept/Decline) and again as an attached invite.ics (what Apple Mail and
older clients look for) — the shape Google Calendar and Thunderbird send."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage

from automation.calendar import LONDON
from automation.mail.message import new_message

REQUEST, CANCEL = "REQUEST", "CANCEL"
TZID = "Europe/London"


@dataclass(frozen=True)
class Attendee:
    name: str
    email: str
    role: str = "REQ-PARTICIPANT"  # or OPT-PARTICIPANT (the SIM: told, not needed on the call)


@dataclass(frozen=True)
class CallInvite:
    """What an attendee's calendar holds for one keep-in-touch call."""

    uid: str
    start: datetime  # aware
    minutes: int
    summary: str
    description: str
    attendees: tuple[Attendee, ...]
    school_invited: bool = False  # the headteacher is an attendee (the school has this call)

    @property
    def end(self) -> datetime:
        return self.start + timedelta(minutes=self.minutes)

    def content(self) -> tuple:
        """What, if changed, needs a new request (RFC 5546: a higher SEQUENCE)."""
        return (self.start.astimezone(timezone.utc), self.minutes, self.summary, self.description,
                tuple(sorted(a.email.lower() for a in self.attendees)))

    def facts(self, method: str, sequence: int) -> dict:
        """Everything needed later to update or cancel this call, even after its row is gone."""
        return {"uid": self.uid, "method": method, "sequence": sequence, "start": self.start.isoformat(),
                "minutes": self.minutes, "summary": self.summary, "description": self.description,
                "attendees": [[a.name, a.email, a.role] for a in self.attendees],
                "school_invited": self.school_invited}

    @classmethod
    def from_facts(cls, f: dict) -> CallInvite:
        return cls(f["uid"], datetime.fromisoformat(f["start"]), int(f["minutes"]), f["summary"], f["description"],
                   tuple(Attendee(*a) for a in f["attendees"]), bool(f.get("school_invited")))


def call_uid(inspection_id: str, day_no: int, label: str, domain: str) -> str:
    """Stable for 'this keep-in-touch point on day N of this inspection', so a new date or time
    updates the same calendar entry; a different point (another label) is another entry."""
    point = hashlib.sha256(label.strip().lower().encode()).hexdigest()[:6]
    return f"{inspection_id}-day{day_no}-{point}@{domain}"


@lru_cache(maxsize=1)
def _london_vtimezone_ical() -> bytes:
    """The VTIMEZONE's lines, serialised once (half of every request's lines)."""
    return _london_vtimezone().to_ical()


@lru_cache(maxsize=1)
def _london_vtimezone():
    """Europe/London by rule (last Sunday of March and of October, 01:00 UTC), as Outlook writes it
    (built once: every request carries the same one, and serialising it changes nothing in it)."""
    from icalendar import Timezone, TimezoneDaylight, TimezoneStandard, vRecur  # only a run that invites loads it

    tz = Timezone()
    tz.add("tzid", TZID)
    for part, start, offsets, name, month in ((TimezoneStandard(), datetime(1970, 10, 25, 2, 0), ("+0100", "+0000"), "GMT", 10),
                                              (TimezoneDaylight(), datetime(1970, 3, 29, 1, 0), ("+0000", "+0100"), "BST", 3)):
        part.add("dtstart", start)
        part.add("tzoffsetfrom", _offset(offsets[0]))
        part.add("tzoffsetto", _offset(offsets[1]))
        part.add("tzname", name)
        part.add("rrule", vRecur(freq="YEARLY", bymonth=month, byday="-1SU"))
        tz.add_component(part)
    return tz


def _offset(text: str) -> timedelta:
    return timedelta(hours=int(text[1:3]), minutes=int(text[3:])) * (1 if text[0] == "+" else -1)


def itip(invite: CallInvite, method: str, sequence: int, organiser: str, organiser_name: str,
         stamp: datetime) -> bytes:
    """One VCALENDAR with METHOD and one VEVENT: a request for the call, or its cancellation."""
    from icalendar import Calendar, Event, vCalAddress, vText  # only a run that invites loads it

    cal = Calendar()
    cal.add("prodid", "-//ofsted-tracker//keep-in-touch calls//EN")
    cal.add("version", "2.0")
    cal.add("method", method)
    ev = Event()
    ev.add("uid", invite.uid)
    ev.add("sequence", sequence)
    ev.add("dtstamp", stamp.astimezone(timezone.utc))
    ev.add("dtstart", invite.start.astimezone(LONDON))
    ev.add("dtend", invite.end.astimezone(LONDON))
    ev.add("summary", invite.summary)
    ev.add("description", invite.description)
    ev.add("status", "CONFIRMED" if method == REQUEST else "CANCELLED")
    ev.add("transp", "OPAQUE")
    org = vCalAddress(f"mailto:{organiser}")
    org.params["cn"] = vText(organiser_name)
    ev.add("organizer", org)
    for a in invite.attendees:
        att = vCalAddress(f"mailto:{a.email}")
        att.params["cn"] = vText(a.name)
        att.params["role"] = vText(a.role)
        att.params["partstat"] = vText("NEEDS-ACTION")
        att.params["rsvp"] = vText("TRUE" if method == REQUEST else "FALSE")
        ev.add("attendee", att, encode=0)
    if method == CANCEL:
        ev.add("priority", 1)  # Outlook shows a cancellation as important
    # The calendar's own lines, then its two components in order (the time zone, the event), as
    # cal.to_ical() would write them with both added: the time zone's lines are made once a run.
    head, end = cal.to_ical(), b"END:VCALENDAR\r\n"
    if not head.endswith(end):  # another icalendar's layout: let it write the whole calendar itself
        cal.add_component(_london_vtimezone())
        cal.add_component(ev)
        return cal.to_ical()
    return head[:-len(end)] + _london_vtimezone_ical() + ev.to_ical() + end


def attach_itip(email: EmailMessage, data: bytes, method: str) -> None:
    """Add the calendar object as the body's text/calendar alternative and as invite.ics."""
    alternative = next((p for p in email.walk() if p.get_content_type() == "multipart/alternative"), None)
    if alternative is None:
        raise ValueError("a meeting message needs a plain-text and an HTML body first")
    part = new_message()  # the shared policy: the same bytes, without re-parsing every header
    part.set_content(data, maintype="text", subtype="calendar", cte="base64")  # bytes: the CRLFs kept
    # Written as Google Calendar and Exchange write it: the method unquoted.
    part.replace_header("Content-Type", f'text/calendar; charset="utf-8"; method={method}')
    del part["MIME-Version"]
    alternative.attach(part)
    email.add_attachment(data, maintype="application", subtype="ics", filename="invite.ics")
