"""Contact plans, updated plans, deferrals and concerns — timings, audiences,
exactly-once and confidentiality, on real workbooks."""

from __future__ import annotations

from datetime import datetime, timezone

import openpyxl
import pytest
from icalendar import Calendar

from automation.calendar import LONDON
from automation.mail.journal import Journal
from automation.mail.transport import MemoryTransport
from automation.run import journal_path, run
from tests.conftest import SCHOOLS, inspection, write_tracker

MON = datetime(2026, 11, 16, 12, 5)


def at(*args):
    return datetime(*args, tzinfo=LONDON)


def go(path, cfg, now, transport=None, **kw):
    transport = transport or MemoryTransport()
    result = run(path, cfg, now, transport=transport, **kw)
    return result, transport.sent


def by_purpose(sent, purpose):
    return [m for m in sent if m.purpose == purpose]


def text_of(m):
    return m.email.get_body(("plain",)).get_content()


def html_of(m):
    return m.email.get_body(("html",)).get_content()


def set_cells(path, row, **values):
    wb = openpyxl.load_workbook(path)
    ws = wb["Inspections"]
    headers = [c.value for c in ws[1]]
    for h, v in values.items():
        ws.cell(row, headers.index(h.replace("_", " ")) + 1, v)
    wb.save(path)


def test_new_inspection_gets_both_emails_once(tmp_path, cfg):
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection(notified=MON)])
    _, sent = go(path, cfg, at(2026, 11, 16, 12, 20))
    internal, school = by_purpose(sent, "contact_plan_internal"), by_purpose(sent, "contact_plan_school")
    calls = [m for m in sent if m.purpose.startswith("contact_plan_call")]
    assert len(internal) == len(school) == 1 and len(sent) == 2 + len(calls)
    assert len(calls) == 4  # two days' calls, each to the LA's officers and to the school
    assert internal[0].to == ("sam.imrie@la.example.org", "alex.inchley@la.example.org")
    assert school[0].to == ("head@acorn.school.example.org",)
    assert school[0].cc == ("office@acorn.school.example.org", "sam.imrie@la.example.org", "alex.inchley@la.example.org")
    # A second and third run send nothing more.
    assert go(path, cfg, at(2026, 11, 16, 12, 35))[1] == []
    assert go(path, cfg, at(2026, 11, 16, 12, 50))[1] == []
    wb = openpyxl.load_workbook(path)
    ws = wb["Inspections"]
    headers = [c.value for c in ws[1]]
    assert ws.cell(2, headers.index("Status") + 1).value == "Plan sent"
    assert ws.cell(2, headers.index("Contact plan sent") + 1).value == datetime(2026, 11, 16, 12, 20)


def test_internal_plan_has_timeline_owners_escalation_and_context(tmp_path, cfg):
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection(notified=MON, **{"Lead inspector": "Lee Inman"})])
    _, sent = go(path, cfg, at(2026, 11, 16, 12, 20))
    body = text_of(by_purpose(sent, "contact_plan_internal")[0])
    # 2 working hours; the school's copy of the plan, going now, is the acknowledgement.
    assert "Done with this plan: the school's copy goes now (due Monday 16 November 2026, 14:05) — Acknowledge the notification" in body
    assert "owner: Sam Imrie (SIM) or Alex Inchley (AI)" in body
    assert "Offer the lead inspector context before the start" in body
    assert "New head since September." in body
    assert "County Education Manager: Pat Primrose, 01234 100003" in body
    assert "Senior His Majesty's Inspector" in body and "pause" in body
    assert "Lee Inman" in body


def test_school_without_context_notes_has_no_context_step(tmp_path, cfg):
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection(urn="100002", notified=MON)])
    _, sent = go(path, cfg, at(2026, 11, 16, 12, 20))
    body = text_of(by_purpose(sent, "contact_plan_internal")[0])
    assert "context before the start" not in body and "CONTEXT NOTES" not in body
    assert "Sol Secombe" in body  # secondary school: the secondary CEM


def test_maintained_versus_academy(tmp_path, cfg):
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection(notified=MON), inspection(urn="100002", notified=MON)])
    _, sent = go(path, cfg, at(2026, 11, 16, 12, 20))
    maintained, academy = [text_of(m) for m in by_purpose(sent, "contact_plan_school")]
    internal_m, internal_a = [text_of(m) for m in by_purpose(sent, "contact_plan_internal")]
    # The lead inspector's meeting with the LA is Ofsted's to arrange (¶100): internal, never a promised time.
    assert "lead inspector's call with the LA" not in maintained and "call with the LA representative" not in maintained
    assert "Expect the lead inspector's request for a meeting or call with the LA" in internal_m
    assert "attend the final feedback meeting, as Ofsted expects for maintained schools" in maintained
    assert "Keep-in-touch call" in maintained
    # An academy that has not accepted the LA's support: acknowledge and offer, no daily calls (S0 §7).
    assert "if you invite us, or if Ofsted asks us to because safeguarding is found ineffective" in academy
    assert "Keep-in-touch call" not in academy
    assert "the LA joins Ofsted's discussions only if the school invites us or Ofsted asks" in internal_a
    assert "Expect the lead inspector's request" not in internal_a


def test_missing_headteacher_email_goes_to_the_school_office(tmp_path, cfg):
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection(urn="100002", notified=MON)])
    _, sent = go(path, cfg, at(2026, 11, 16, 12, 20))
    school = by_purpose(sent, "contact_plan_school")[0]
    assert school.to == ("office@beech.school.example.org",)
    assert school.cc == ("sam.imrie@la.example.org", "alex.inchley@la.example.org")
    assert text_of(school).startswith("Dear Ben Birch,")


@pytest.mark.parametrize("called, open_", [((2026, 11, 16, 16, 29), True), ((2026, 11, 16, 16, 45), False)])
def test_deferral_window_before_and_after_1630(tmp_path, cfg, called, open_):
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection(notified=datetime(*called))])
    _, sent = go(path, cfg, at(2026, 11, 16, 16, 50))
    body = text_of(by_purpose(sent, "contact_plan_school")[0])
    if open_:
        assert "not normally consider requests made after Monday 16 November 2026, 16:30" in body
        assert "by Tuesday 17 November 2026, 08:00" in body
    else:
        # ¶76: a request during the notification call itself is always possible; the cut-off is for later ones.
        assert "had passed by the time of the call" not in body
        assert "a deferral can still be requested during that call or at the earliest opportunity after it" in body


def test_friday_notification_acknowledged_by_monday_morning(tmp_path, cfg):
    path = write_tracker(tmp_path / "t.xlsx", inspections=[
        inspection(notified=datetime(2026, 11, 20, 16, 0), start=datetime(2026, 11, 23))])
    _, sent = go(path, cfg, at(2026, 11, 20, 16, 10))
    body = text_of(by_purpose(sent, "contact_plan_internal")[0])
    # 1 working hour left on Friday (to 17:00) + 1 hour from 08:30 on Monday.
    assert "(due Monday 23 November 2026, 09:30) — Acknowledge" in body
    assert "Monday 23 November 2026, 17:00 — Keep-in-touch call" in body
    assert "Tuesday 24 November 2026, 17:00 — Keep-in-touch call" in body


def test_bank_holiday_week(tmp_path, cfg):
    # Spring bank holiday: Monday 25 May 2026. Notified Friday 22 May, starting Friday? No:
    # a Friday start runs over the bank holiday to Tuesday.
    path = write_tracker(tmp_path / "t.xlsx", inspections=[
        inspection(notified=datetime(2026, 5, 21, 15, 30), start=datetime(2026, 5, 22))])
    _, sent = go(path, cfg, at(2026, 5, 21, 15, 40))
    body = text_of(by_purpose(sent, "contact_plan_internal")[0])
    assert "On site:         Friday 22 May 2026, Tuesday 26 May 2026" in body
    assert "Monday 25 May 2026 is a bank holiday (Spring Bank Holiday)" in body
    # Feedback form due 2 working days after Tuesday: Thursday 28 May.
    assert "Thursday 28 May 2026, 17:00 — Complete the feedback form" in body


def test_inspection_spanning_the_clock_change(tmp_path, cfg):
    # Clocks go back on Sunday 25 October 2026: Friday's 17:00 BST is 16:00Z, Monday's 17:00 GMT is 17:00Z.
    path = write_tracker(tmp_path / "t.xlsx", inspections=[
        inspection(notified=datetime(2026, 10, 22, 12, 0), start=datetime(2026, 10, 23))])
    _, sent = go(path, cfg, at(2026, 10, 22, 12, 10))
    msg = by_purpose(sent, "contact_plan_school")[0]
    invites = [m for m in sent if m.purpose.startswith("contact_plan_call_school")]
    events = [e for m in invites for p in m.email.walk() if p.get_content_type() == "text/calendar"
              for e in Calendar.from_ical(p.get_content()).walk("VEVENT")]
    starts = sorted(e.decoded("dtstart").astimezone(timezone.utc) for e in events)
    assert starts == [datetime(2026, 10, 23, 16, 0, tzinfo=timezone.utc), datetime(2026, 10, 26, 17, 0, tzinfo=timezone.utc)]
    assert "Monday 26 October 2026, 17:00: Keep-in-touch call" in text_of(msg)
    assert "Friday 23 October 2026, 17:00: Keep-in-touch call" in text_of(msg)


def test_both_frameworks(tmp_path, cfg):
    path = write_tracker(tmp_path / "t.xlsx", inspections=[
        inspection(itype="Graded", notified=datetime(2025, 3, 4, 12, 0), start=datetime(2025, 3, 5)),
        inspection(urn="100002", itype="Monitoring", notified=datetime(2025, 3, 4, 12, 0), start=datetime(2025, 3, 6))])
    _, sent = go(path, cfg, at(2025, 3, 4, 12, 10))
    graded, monitoring = [text_of(m) for m in by_purpose(sent, "contact_plan_internal")]
    assert "Graded inspection" in graded and "Wednesday 5 March 2025, Thursday 6 March 2025" in graded
    assert "On site:         Thursday 6 March 2025\n" in monitoring  # monitoring: 1 day (rules data)


def test_deferral_requested_then_granted_with_new_start(tmp_path, cfg):
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection(notified=MON)])
    go(path, cfg, at(2026, 11, 16, 12, 20))
    set_cells(path, 2, Deferral="Requested")
    _, sent = go(path, cfg, at(2026, 11, 16, 14, 0))
    assert [m.purpose for m in sent] == ["deferral_requested"]
    assert sent[0].to == ("sam.imrie@la.example.org", "alex.inchley@la.example.org")
    assert go(path, cfg, at(2026, 11, 16, 14, 15))[1] == []
    set_cells(path, 2, Deferral="Granted", Start_date=datetime(2026, 12, 1))
    _, sent = go(path, cfg, at(2026, 11, 17, 8, 10))
    assert sorted(m.purpose for m in sent if not m.purpose.startswith("contact_plan_call")) == [
        "contact_plan_internal", "contact_plan_school"]
    assert all(m.version == 2 for m in sent)  # the plan's second version; each call's SEQUENCE 1
    school = by_purpose(sent, "contact_plan_school")[0]
    assert school.subject.startswith("Updated:")
    assert ("Ofsted has agreed to defer the inspection: it now starts on Tuesday 1 December 2026 "
            "(it was Tuesday 17 November 2026)") in text_of(school)
    assert "need to ask Ofsted to defer" not in text_of(school)
    first_school = [m for m in sent if m.purpose == "contact_plan_school"]
    assert first_school[0].to == ("head@acorn.school.example.org",)  # the same people as before
    assert go(path, cfg, at(2026, 11, 17, 8, 25))[1] == []


def test_concerns_raised_twice_with_different_notes(tmp_path, cfg):
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection(notified=MON)])
    go(path, cfg, at(2026, 11, 16, 12, 20))
    set_cells(path, 2, Concerns_raised="Yes", Concern_notes="Head upset after lesson visits.")
    _, first = go(path, cfg, at(2026, 11, 17, 13, 0))
    # Concerns on day 1 also bring the next-working-day follow-ups (welfare call, the decision
    # about Ofsted's next-working-day call), so the officers' digests go out with the escalation.
    assert [m.purpose for m in first if m.purpose != "digest"] == ["concern_escalation"]
    assert first[0].to == ("sam.imrie@la.example.org", "pat.primrose@la.example.org")
    assert first[0].cc == ("alex.inchley@la.example.org",)
    assert "Head upset after lesson visits." in text_of(first[0])
    set_cells(path, 2, Concern_notes="Head upset after lesson visits.  ")  # same words: no new email
    assert go(path, cfg, at(2026, 11, 17, 13, 15))[1] == []
    set_cells(path, 2, Concern_notes="Head upset; LI refused to discuss evidence. SHMI contacted.")
    _, second = go(path, cfg, at(2026, 11, 17, 16, 0))
    assert [m.version for m in second if m.purpose == "concern_escalation"] == [2]
    body = text_of(by_purpose(second, "concern_escalation")[0])
    assert "The concern notes have changed" in body and "SHMI contacted" in body
    assert "Previously recorded:\nHead upset after lesson visits." in body


def test_confidentiality_marker_never_reaches_a_school(tmp_path, cfg):
    marker = "ZZ-SECRET-7f3a"
    schools = [dict(SCHOOLS[0], **{"Context notes": f"{marker}-context"}),
               dict(SCHOOLS[1], **{"School name": f"Other {marker} Academy", "Context notes": f"{marker}-other"})]
    path = write_tracker(tmp_path / "t.xlsx", schools=schools, inspections=[
        inspection(notified=MON, **{"Concerns raised": "Yes", "Concern notes": f"{marker}-concern"}),
        inspection(urn="100002", notified=datetime(2025, 1, 7, 12), itype="Graded", start=datetime(2025, 1, 8),
                   **{"Quality of education": "4"})])
    _, sent = go(path, cfg, at(2026, 11, 16, 12, 20))
    to_school = [m for m in sent if any("school.example.org" in a for a in m.recipients)]
    assert to_school, "a school-facing message was expected"
    for m in to_school:
        assert marker.encode() not in m.as_bytes(), m.purpose
    internal = by_purpose(sent, "contact_plan_internal")
    assert any(marker + "-context" in text_of(m) for m in internal)  # the SIM and AI do see it


def test_ended_inspection_recorded_late_gets_no_plan(tmp_path, cfg):
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection(notified=MON)])
    result, sent = go(path, cfg, at(2026, 11, 25, 9, 0))
    # The follow-up digest may rightly go out (the feedback form is due); no plan or school email may.
    assert not [m for m in sent if m.purpose.startswith(("contact_plan", "deferral"))]
    assert not [m for m in sent if any("school.example.org" in a for a in m.recipients)]
    assert any("no contact plan sent" in n for n in result.notes)


def test_status_moves_with_time(tmp_path, cfg):
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection(notified=MON)])

    def status():
        ws = openpyxl.load_workbook(path)["Inspections"]
        return ws.cell(2, [c.value for c in ws[1]].index("Status") + 1).value

    run(path, cfg, at(2026, 11, 16, 12, 20), dry_run=True)
    assert status() is None  # a dry run writes nothing
    seen = []
    for now in (at(2026, 11, 16, 12, 20), at(2026, 11, 17, 9, 0), at(2026, 11, 18, 18, 0), at(2026, 11, 19, 9, 0)):
        go(path, cfg, now)
        seen.append(status())
    assert seen == ["Plan sent", "In inspection", "In inspection", "Awaiting report"]


def test_dry_run_renders_everything_and_sends_nothing(tmp_path, cfg):
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection(notified=MON)])
    before = path.read_bytes()
    t = MemoryTransport()
    result = run(path, cfg, at(2026, 11, 16, 12, 20), transport=t, dry_run=True)
    assert [m.purpose for m in result.messages][:2] == ["contact_plan_internal", "contact_plan_school"]
    assert {m.purpose for m in result.messages[2:]} == {"contact_plan_call_la_day1", "contact_plan_call_school_day1",
                                                         "contact_plan_call_la_day2", "contact_plan_call_school_day2"}
    assert all(html_of(m).startswith("<!DOCTYPE html>") for m in result.messages)
    assert t.sent == [] and path.read_bytes() == before
    assert not journal_path(path, cfg).exists()
    assert result.update.inspection_cells[2]["Status"] == "Plan sent"


def test_every_send_is_journaled_and_logged(tmp_path, cfg):
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection(notified=MON)])
    _, sent = go(path, cfg, at(2026, 11, 16, 12, 20))
    journal = Journal(journal_path(path, cfg))
    assert {r.key for r in journal.records()} == {m.key for m in sent}
    assert all(r.state == "sent" for r in journal.records())
    log = list(openpyxl.load_workbook(path)["Email log"].iter_rows(min_row=2, values_only=True))
    assert sorted(row[7] for row in log) == sorted(m.message_id for m in sent)
    assert all(row[6] == "sent" for row in log)


def test_concern_recorded_after_the_report_is_published_is_not_escalated(tmp_path, cfg):
    """Back-filling history (a concern from a long-finished inspection) is not an emergency."""
    old = inspection(notified=datetime(2026, 9, 14, 12, 0), start=datetime(2026, 9, 15),
                     **{"Concerns raised": "Yes", "Concern notes": "Raised at the time.",
                        "Report published": datetime(2026, 10, 20)})
    live = inspection(urn="100002", notified=MON, **{"Concerns raised": "Yes", "Concern notes": "Head upset."})
    path = write_tracker(tmp_path / "t.xlsx", inspections=[old, live])
    _, sent = go(path, cfg, at(2026, 11, 17, 13, 0))
    escalated = by_purpose(sent, "concern_escalation")
    assert [m.inspection_id for m in escalated] == ["OFS-100002-20261116"]
