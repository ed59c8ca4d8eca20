"""A contact plan built late never promises the school a time already past: a call or task
due earlier today is "as soon as possible today", earlier days' steps and passed deadlines
are left out; the SIM and AI still see every step, marked overdue."""

from __future__ import annotations

import re
from datetime import datetime

from automation.calendar import LONDON
from automation.mail.transport import MemoryTransport
from automation.run import run
from tests.conftest import inspection, write_tracker


def at(*args):
    return datetime(*args, tzinfo=LONDON)


def plans(path, cfg, now):
    transport = MemoryTransport()
    run(path, cfg, now, transport=transport)
    by = {m.purpose: m for m in transport.sent}
    return by["contact_plan_internal"], by["contact_plan_school"]


def invites(transport_or_sent, audience="school"):
    """The meeting requests sent to one audience (school or la)."""
    return [m for m in transport_or_sent if m.purpose.startswith(f"contact_plan_call_{audience}_")]


def text(m):
    return m.email.get_body(("plain",)).get_content()


def html(m):
    return m.email.get_body(("html",)).get_content()


def section(body, title, end):
    return body.split(title, 1)[1].split(end, 1)[0]


def test_plan_sent_at_noon_does_not_promise_the_morning_acknowledgement(tmp_path, cfg):
    # Notified Monday 08:15: the acknowledgement is due 2 working hours later (10:30).
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection(notified=datetime(2026, 11, 16, 8, 15))])
    internal, school = plans(path, cfg, at(2026, 11, 16, 12, 0))
    steps = section(text(school), "WHAT HAPPENS WHEN", "\n\n")
    # The email is the acknowledgement: the school is promised a call, never the 10:30 deadline as an appointment.
    assert "Still to come: a call from us to talk through how we will support you" in text(school)
    assert "A call from us" not in steps
    assert "10:30" not in text(school) and "10:30" not in html(school)
    assert "Monday 16 November 2026, 16:30: A deferral can be requested during Ofsted's notification call" in steps  # still ahead
    # The lead inspector's meeting with the LA is Ofsted's to arrange (¶100): never promised to the school.
    assert "lead inspector's call" not in steps and "LA representative" not in steps
    body = text(internal)
    assert ("* Done with this plan: the school's copy goes now (due Monday 16 November 2026, 10:30) — Acknowledge "
            "the notification to the school") in body
    assert "overdue: due Monday 16 November 2026, 10:30" not in body
    assert "* Monday 16 November 2026, 17:00 — SIM and AI agree the approach" in body  # not yet due: as it was
    assert "(due Monday 16 November 2026, 10:30)" in html(internal)


def test_plan_first_sent_on_the_start_day(tmp_path, cfg):
    # Notified Monday 14:00, start Tuesday; the plan only goes out at 12:00 on Tuesday.
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection(notified=datetime(2026, 11, 16, 14, 0))])
    internal, school = plans(path, cfg, at(2026, 11, 17, 12, 0))
    body = text(school)
    steps = section(body, "WHAT HAPPENS WHEN", "\n\n")
    # The lead inspector's meeting with the LA is Ofsted's to arrange: internal only, never promised.
    assert "LA representative" not in steps and "lead inspector's request" not in steps
    # Monday's acknowledgement and deferral deadline are over: left out of the school's list.
    assert "Monday 16 November" not in steps and "A call from us" not in steps and "defer" not in steps
    assert "Tuesday 17 November 2026, 17:00: Keep-in-touch call" in section(body, "HOW WE WILL KEEP IN TOUCH", "If another")
    # The deferral paragraph says the deadline has passed rather than inviting a request by it.
    assert ("Ofsted does not normally consider requests made after Monday 16 November 2026, 16:30, "
            "and that time has now passed.") in body
    assert "and that time has now passed" in html(school)
    assert "Ofsted replies" not in body  # its 08:00 reply time has passed too
    assert not re.search(r"\b08:00\b", steps)
    ibody = text(internal)
    assert "* Done with this plan: the school's copy goes now (due Monday 16 November 2026, 16:00) — Acknowledge" in ibody
    assert ("* As soon as possible (overdue: due Tuesday 17 November 2026, 08:00) — Expect the lead inspector's "
            "request for a meeting or call with the LA") in ibody
    assert "* Monday 16 November 2026, 16:30 (passed) — A deferral can be requested" in ibody
    assert "* Monday 16 November 2026, 17:00 — SIM and AI agree" not in ibody
    assert "overdue: due Monday 16 November 2026, 17:00) — SIM and AI agree the approach" in ibody


def test_missed_keep_in_touch_call_today_is_as_soon_as_possible(tmp_path, cfg):
    # An academy that accepted the LA's support (so it has keep-in-touch calls), notified Tuesday
    # morning, start Wednesday; the plan only goes out on Wednesday at 17:20, after the 17:00 call.
    path = write_tracker(tmp_path / "t.xlsx", inspections=[
        inspection(urn="100002", notified=datetime(2026, 11, 17, 9, 0), start=datetime(2026, 11, 18),
                   **{"LA support accepted": "Yes", "Deferral": "Granted"})])
    internal, school = plans(path, cfg, at(2026, 11, 18, 17, 20))
    calls = section(text(school), "HOW WE WILL KEEP IN TOUCH", "If another time")
    assert calls.split("\n")[1:3] == [
        "  * As soon as possible today: Keep-in-touch call with the headteacher, with Alex Inchley",
        "  * Thursday 19 November 2026, 17:00: Keep-in-touch call with the headteacher, with Alex Inchley"]
    assert "Wednesday 18 November 2026, 17:00" not in text(school)
    assert ("As soon as possible (overdue: due Wednesday 18 November 2026, 17:00) — Keep-in-touch call"
            in text(internal))


def test_late_plan_invites_only_to_calls_still_ahead(tmp_path, cfg):
    """A plan first sent after day 1's 17:00 call invites to day 2's call only."""
    from icalendar import Calendar

    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection(
        notified=datetime(2026, 11, 16, 12, 5), start=datetime(2026, 11, 17))])
    sent = MemoryTransport()
    run(path, cfg, datetime(2026, 11, 17, 17, 45, tzinfo=LONDON), transport=sent)
    for audience in ("school", "la"):
        [invite] = invites(sent.sent, audience)
        [ics] = [p for p in invite.email.walk() if p.get_content_type() == "text/calendar"]
        starts = [e.decoded("dtstart").astimezone(LONDON) for e in Calendar.from_ical(ics.get_content()).walk("VEVENT")]
        assert starts == [datetime(2026, 11, 18, 17, 0, tzinfo=LONDON)]
