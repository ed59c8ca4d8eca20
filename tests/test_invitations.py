"""Keep-in-touch calls as real meeting requests: one calendar object per call, updated in place,
cancelled exactly once when the call leaves the plan; who is invited; the headers every message
carries; and the plan's wording after a granted deferral. Real workbooks, the real run."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import defaultdict
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest

from automation.calendar import LONDON
from automation.config import parse_config
from automation.mail.transport import MemoryTransport
from automation.run import run
from tests.test_contact_plan import set_cells
from tests.conftest import SCHOOLS, inspection, write_tracker
from tests.invites import read

ROOT = Path(__file__).resolve().parents[1]
MON = datetime(2026, 11, 16, 12, 5)
SENDER = "ofsted.support@la.example.org"
HEAD, OFFICE = "head@acorn.school.example.org", "office@beech.school.example.org"


def at(*args):
    return datetime(*args, tzinfo=LONDON)


def go(path, cfg, now):
    t = MemoryTransport()
    run(path, cfg, now, transport=t)
    return t.sent


def invites(sent):
    return [i for m in sent for i in read(m.as_bytes())]



def body(m):
    return m.email.get_body(("plain",)).get_content()


@pytest.fixture
def cfg():
    return parse_config({"la": {"name": "Example County Council", "phone": "01234 100000"}}, "test")


def test_a_plan_sends_one_meeting_request_per_call_and_audience(tmp_path, cfg):
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection(notified=MON)])
    sent = go(path, cfg, at(2026, 11, 16, 12, 20))
    got = invites(sent)
    assert len(got) == 4 and {i.method for i in got} == {"REQUEST"}
    by_uid = defaultdict(list)
    for i in got:
        by_uid[i.uid].append(i)
    assert len(by_uid) == 2  # one calendar object per call, the same in both audiences' messages
    for uid, pair in by_uid.items():
        assert {i.to for i in pair} == {("alex.inchley@la.example.org", "sam.imrie@la.example.org"), (HEAD,)}
        assert {i.sequence for i in pair} == {0} and len({i.attendees for i in pair}) == 1
        assert pair[0].attendees == ("alex.inchley@la.example.org", "sam.imrie@la.example.org", HEAD)
        assert pair[0].organizer == f"mailto:{SENDER}"
    assert sorted(i.start.astimezone(LONDON) for i in got[::2]) == [at(2026, 11, 17, 17, 0), at(2026, 11, 18, 17, 0)]
    # The plans themselves are ordinary emails: no calendar file to import.
    for m in sent:
        if m.purpose in ("contact_plan_internal", "contact_plan_school"):
            assert not read(m.as_bytes()) and "application/ics" not in m.as_bytes().decode("ascii", "replace")
    assert go(path, cfg, at(2026, 11, 16, 12, 35)) == []  # nothing changed: nothing sent again


def test_every_message_suppresses_auto_replies_and_school_replies_go_to_the_sim(tmp_path, cfg):
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection(notified=MON)])
    sent = go(path, cfg, at(2026, 11, 16, 12, 20))
    for m in sent:
        assert m.email["Auto-Submitted"] == "auto-generated"
        assert m.email["X-Auto-Response-Suppress"] == "OOF, AutoReply"
        to_school = any(a.endswith("school.example.org") for a in m.to)
        assert m.email["Reply-To"] == ("sam.imrie@la.example.org" if to_school else None), m.purpose


@pytest.mark.parametrize("choice, expected", [("ai", "alex.inchley@la.example.org"), ("sender", None),
                                              ("schools@la.example.org", "schools@la.example.org")])
def test_school_reply_to_is_configurable(tmp_path, choice, expected):
    cfg = parse_config({"mail": {"school_reply_to": choice}}, "test")
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection(notified=MON)])
    school = [m for m in go(path, cfg, at(2026, 11, 16, 12, 20)) if HEAD in m.to]
    assert len(school) == 3 and {m.email["Reply-To"] for m in school} == {expected}


def test_headteacher_invited_only_where_the_schools_plan_has_the_calls(tmp_path, cfg):
    path = write_tracker(tmp_path / "t.xlsx", inspections=[
        inspection(urn="100002", notified=MON),  # an academy that has not accepted the LA's support
    ])
    sent = go(path, cfg, at(2026, 11, 16, 12, 20))
    school = next(m for m in sent if m.purpose == "contact_plan_school")
    assert not [i for i in invites(sent) if OFFICE in i.attendees]
    assert "Keep-in-touch call" not in body(school) and "calendar invitation" not in body(school)
    set_cells(path, 2, LA_support_accepted="Yes")  # the school takes up the offer: its plan gains the calls
    later = invites(go(path, cfg, at(2026, 11, 16, 13, 0)))
    assert later and all(OFFICE in i.attendees for i in later)
    assert (OFFICE,) in {i.to for i in later} and ("alex.inchley@la.example.org", "sam.imrie@la.example.org") in {
        i.to for i in later}


def test_full_to_monitoring_cancels_day_two_exactly_once(tmp_path, cfg):
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection(notified=MON)])
    first = invites(go(path, cfg, at(2026, 11, 16, 12, 20)))
    set_cells(path, 2, Inspection_type="Monitoring")
    sent = go(path, cfg, at(2026, 11, 16, 15, 0))
    got = invites(sent)
    day2 = {i.uid for i in first if i.start.astimezone(LONDON).date() == datetime(2026, 11, 18).date()}
    assert len(day2) == 1
    assert {(i.method, i.uid, i.to) for i in got} == {("CANCEL", uid, to) for uid in day2 for to in
                                                      {i.to for i in first if i.uid in day2}}
    assert all(i.status == "CANCELLED" and i.sequence == 1 for i in got)
    assert all(i.subject.startswith("Cancelled: ") for i in got)
    school = next(m for m in sent if m.purpose == "contact_plan_school")
    assert "Wednesday 18 November 2026, 17:00: Keep-in-touch call" not in body(school)
    assert "Tuesday 17 November 2026, 17:00: Keep-in-touch call" in body(school)
    assert go(path, cfg, at(2026, 11, 16, 15, 15)) == []  # the cancellation is not sent again


def test_granted_deferral_moves_every_call_in_place_with_a_higher_sequence(tmp_path, cfg):
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection(notified=MON)])
    first = invites(go(path, cfg, at(2026, 11, 16, 12, 20)))
    set_cells(path, 2, Deferral="Granted", Start_date=datetime(2026, 12, 1))
    sent = go(path, cfg, at(2026, 11, 17, 8, 10))
    moved = invites(sent)
    assert {i.uid for i in moved} == {i.uid for i in first} and {i.method for i in moved} == {"REQUEST"}
    assert all(i.sequence == 1 for i in moved) and len(moved) == len(first)
    assert sorted({i.start.astimezone(LONDON) for i in moved}) == [at(2026, 12, 1, 17, 0), at(2026, 12, 2, 17, 0)]
    school = body(next(m for m in sent if m.purpose == "contact_plan_school"))
    assert "Ofsted has agreed to defer the inspection: it now starts on Tuesday 1 December 2026" in school
    assert "defer the inspection, or have concerns" not in school and "If you need to ask Ofsted to defer" not in school
    internal = body(next(m for m in sent if m.purpose == "contact_plan_internal"))
    ack = next(line for line in internal.splitlines() if "Acknowledge the notification" in line)
    assert "overdue" not in ack and "Done: the school's copy of the plan went Monday 16 November 2026, 12:20" in ack


def test_granted_deferral_without_new_dates_cancels_then_reinvites(tmp_path, cfg):
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection(notified=MON)])
    first = invites(go(path, cfg, at(2026, 11, 16, 12, 20)))
    set_cells(path, 2, Deferral="Granted")
    sent = go(path, cfg, at(2026, 11, 16, 15, 0))
    cancels = invites(sent)
    assert {(i.method, i.uid, i.sequence) for i in cancels} == {("CANCEL", i.uid, 1) for i in first}
    school = body(next(m for m in sent if m.purpose == "contact_plan_school"))
    assert "The new dates are not known yet" in school and "HOW WE WILL KEEP IN TOUCH" not in school
    set_cells(path, 2, Start_date=datetime(2026, 12, 1))
    again = invites(go(path, cfg, at(2026, 11, 17, 9, 0)))
    assert {i.method for i in again} == {"REQUEST"} and {i.uid for i in again} == {i.uid for i in first}
    assert {i.sequence for i in again} == {2}  # above the cancellation each calendar holds


def test_deleted_row_cancels_calls_still_ahead(tmp_path, cfg):
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection(notified=MON), inspection(urn="100002", notified=MON)])
    first = invites(go(path, cfg, at(2026, 11, 16, 12, 20)))
    wb = openpyxl.load_workbook(path)
    ws = wb["Inspections"]
    urn = [c.value for c in ws[1]].index("URN") + 1
    assert str(ws.cell(2, urn).value) == "100001"  # the maintained school's row goes
    ws.delete_rows(2)
    wb.save(path)
    got = invites(go(path, cfg, at(2026, 11, 17, 9, 0)))
    assert got and {i.method for i in got} == {"CANCEL"}
    assert {i.uid for i in got} == {i.uid for i in first if "OFS-100001" in i.uid}
    assert go(path, cfg, at(2026, 11, 17, 9, 15)) == []


def test_a_row_with_an_error_is_not_taken_for_deleted(tmp_path, cfg):
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection(notified=MON)])
    go(path, cfg, at(2026, 11, 16, 12, 20))
    set_cells(path, 2, Notified_at="not a date")
    assert [m for m in go(path, cfg, at(2026, 11, 16, 13, 0)) if m.purpose.startswith("contact_plan_call")] == []


def test_one_date_style_and_each_contact_once(tmp_path, cfg):
    path = write_tracker(tmp_path / "t.xlsx", inspections=[
        inspection(notified=datetime(2026, 12, 3, 11, 0), start=datetime(2026, 12, 4))])
    sent = go(path, cfg, at(2026, 12, 3, 11, 10))
    set_cells(path, 2, Deferral="Granted", Start_date=datetime(2027, 1, 7))
    sent += go(path, cfg, at(2026, 12, 3, 15, 0))
    assert len(sent) > 6
    for m in sent:
        text = body(m)
        assert not re.search(r"\b\d{1,2}/\d{1,2}/\d{4}\b|\b\d{4}-\d{2}-\d{2}\b", text), m.purpose
        assert not re.search(r"(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday) 0\d", text), m.purpose
    school = body(next(m for m in sent if m.purpose == "contact_plan_school"))
    assert "Friday 4 December 2026" in school
    contacts = school.split("YOUR LOCAL AUTHORITY CONTACTS", 1)[1].split("\n\n", 1)[0]
    for number in ("01234 100001", "01234 100002", "01234 100000"):
        assert contacts.count(number) == 1
    assert contacts.count("sam.imrie@la.example.org") == 1


def test_end_to_end_through_the_console_script(tmp_path):
    """`ofsted-tracker run` with the outbox: a plan, the update after a granted deferral, and a
    Full -> Monitoring change; the .eml files parsed back by both calendar parsers."""
    path = write_tracker(tmp_path / "t.xlsx", schools=SCHOOLS, inspections=[
        inspection(notified=MON), inspection(urn="100002", notified=MON, **{"LA support accepted": "Yes"})])
    outbox = tmp_path / "outbox"

    def cli(now):
        before = set(outbox.glob("*.eml")) if outbox.exists() else set()
        done = subprocess.run([sys.executable, "-m", "automation.cli", "run", str(path), "--now", now],
                              cwd=ROOT, env=dict(os.environ), capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        return [i for f in sorted(set(outbox.glob("*.eml")) - before) for i in read(f.read_bytes())]

    first = cli("2026-11-16T12:20")
    assert len(first) == 8 and {i.method for i in first} == {"REQUEST"}
    set_cells(path, 2, Deferral="Granted", Start_date=datetime(2026, 12, 1))
    set_cells(path, 3, Inspection_type="Monitoring")
    second = cli("2026-11-17T08:10")
    acorn = [i for i in second if "OFS-100001" in i.uid]
    beech = [i for i in second if "OFS-100002" in i.uid]
    assert {i.method for i in acorn} == {"REQUEST"} and len(acorn) == 4
    assert all(i.start.astimezone(LONDON).date() >= datetime(2026, 12, 1).date() for i in acorn)
    assert {i.method for i in beech} == {"CANCEL"} and len(beech) == 2 and len({i.uid for i in beech}) == 1
    seq = defaultdict(list)
    for i in first + second:
        seq[i.uid].append(i.sequence)
    assert all(s == sorted(s) and s[-1] > s[0] for uid, s in seq.items() if len(set(s)) > 1)
    assert all(max(s) == 1 for uid, s in seq.items() if uid in {i.uid for i in second})
    assert cli("2026-11-17T08:30") == []
