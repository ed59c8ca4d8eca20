"""Reading meeting requests back, independently of the code that wrote them: every calendar
part of a message parsed by two parsers (icalendar and vobject) and checked against RFC 5546."""

from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass
from datetime import datetime

import vobject
from icalendar import Calendar


@dataclass(frozen=True)
class Invite:
    """One calendar object as a recipient's client sees it."""

    to: tuple[str, ...]
    subject: str
    method: str
    uid: str
    sequence: int
    start: datetime
    status: str
    attendees: tuple[str, ...]
    organizer: str
    headers: dict


def read(data: bytes) -> list[Invite]:
    """The meeting request(s) of one raw message; [] for an ordinary email. Asserts the RFC
    5546 / iMIP shape on the way: the body alternative and the attachment carry the same object,
    METHOD equals the part's method parameter, one VEVENT and one UID per message, both parsers agree."""
    msg = email.message_from_bytes(data, policy=email.policy.default)
    parts = [p for p in msg.walk() if p.get_content_type() == "text/calendar"]
    attached = [p for p in msg.walk() if p.get_content_type() == "application/ics"]
    if not parts:
        assert not attached, "an .ics attachment without the text/calendar alternative shows as a file, not a meeting"
        return []
    assert len(parts) == 1 and len(attached) == 1, msg["Subject"]
    part = parts[0]
    alternative = next(p for p in msg.walk() if p.get_content_type() == "multipart/alternative")
    assert any(p is part for p in alternative.iter_parts()), "text/calendar must be an alternative of the body"
    raw = part.get_payload(decode=True)
    assert attached[0].get_payload(decode=True) == raw
    mime_method = part.get_param("method")
    cal = Calendar.from_ical(raw)
    events = cal.walk("VEVENT")
    assert len(events) == 1 and cal.walk("VTIMEZONE"), msg["Subject"]
    ev = events[0]
    assert str(cal["METHOD"]) == mime_method
    card = vobject.readOne(raw.decode("utf-8"))
    assert card.method.value == mime_method and len(card.vevent_list) == 1
    vev = card.vevent
    assert vev.uid.value == str(ev["UID"]) and int(vev.sequence.value) == int(ev["SEQUENCE"])
    assert vev.dtstart.value == ev.decoded("DTSTART") and vev.dtstamp.value == ev.decoded("DTSTAMP")
    assert vev.organizer.value.lower().startswith("mailto:")
    attendees = tuple(str(a).removeprefix("mailto:") for a in ev.get("ATTENDEE"))
    assert sorted(a.value.removeprefix("mailto:") for a in vev.attendee_list) == sorted(attendees)
    rsvp = {a.params.get("RSVP") for a in ev.get("ATTENDEE")}
    assert rsvp == ({"TRUE"} if mime_method == "REQUEST" else {"FALSE"})
    to = tuple(a.strip() for a in msg["To"].split(","))
    return [Invite(to, str(msg["Subject"]), mime_method, str(ev["UID"]), int(ev["SEQUENCE"]),
                   ev.decoded("DTSTART"), str(ev["STATUS"]), attendees, str(ev["ORGANIZER"]),
                   {k: str(v) for k, v in msg.items()})]
