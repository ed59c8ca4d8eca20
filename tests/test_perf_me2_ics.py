"""A meeting request's time zone is serialised once a run and spliced in: the bytes must be what
icalendar itself writes for the whole calendar (parsed back and written again, identical)."""

from datetime import datetime, timedelta, timezone

import pytest
from icalendar import Calendar

from automation.plan import ics


def _invite(k: int) -> ics.CallInvite:
    start = datetime(2026, 1 + k % 12, 1 + k, 8 + k % 9, 0, tzinfo=timezone.utc)
    people = tuple(ics.Attendee(f"Officer {j}, Team", f"o{j}@la.example.org", "OPT-PARTICIPANT" if j % 2 else "REQ-PARTICIPANT")
                   for j in range(1 + k % 3))
    return ics.CallInvite(f"OFS-100{k}-20261119-day1-abc@la.example.org", start, 15 + k,
                          "Keep-in-touch call with the headteacher: " + "é" * k + " long enough to fold over 75 octets",
                          f"Call {k}; with, commas \\ and\na new line", people)


@pytest.mark.parametrize("k", range(6))
@pytest.mark.parametrize("method", [ics.REQUEST, ics.CANCEL])
def test_request_is_what_icalendar_writes_for_the_whole_calendar(k, method):
    got = ics.itip(_invite(k), method, k, "sender@la.example.org", "Example County Council",
                   datetime(2026, 11, 19, 9, 30, tzinfo=timezone.utc) - timedelta(days=k))
    cal = Calendar.from_ical(got)
    assert cal.to_ical() == got
    assert [c.name for c in cal.subcomponents] == ["VTIMEZONE", "VEVENT"]
    assert cal["METHOD"] == method and str(cal.subcomponents[1]["UID"]).startswith(f"OFS-100{k}-")
    assert got.count(b"BEGIN:VTIMEZONE") == 1 and got.endswith(b"END:VEVENT\r\nEND:VCALENDAR\r\n")
