"""Learning-review checklists: the timeline core (promised vs actual, misses), and the
checklist workbook pre-filled from the tracker, the send journal and the follow-ups."""

from __future__ import annotations

from datetime import date, datetime

import openpyxl
import pytest

from automation.calendar import LONDON, WorkingCalendar
from automation.cli import main
from automation.mail.journal import Record
from automation.mail.transport import MemoryTransport
from automation.model import FollowUp, Inspection, School
from automation.review.checklist import MISSED_FILL
from automation.review.timeline import MET, MISSED, NOT_DUE, NOT_RECORDED, FormFacts, build_timeline, judge
from automation.rules import load_rules
from automation.run import run
from tests.conftest import inspection, write_tracker

IID = "OFS-100001-20261116"
CAL = WorkingCalendar()


def L(*a) -> datetime:
    return datetime(*a, tzinfo=LONDON)


def _insp(**more) -> Inspection:
    base = dict(row=2, inspection_id=IID, id_is_new=False, urn="100001", inspection_type="Full", framework="renewed",
                notified_at=L(2026, 11, 16, 12, 5), start_date=date(2026, 11, 17))
    return Inspection(**{**base, **more})


SCHOOL = School("100001", "Acorn Primary School", "Maintained", "Primary", "office@acorn.school.example.org",
                "Sam Imrie", "Alex Inchley")


def _rec(purpose, at, version=1, state="sent") -> Record:
    return Record(f"{purpose}{version}", f"<{purpose}{version}@x>", IID, purpose, version, ("a@la.example.org",),
                  "s", "memory", state, "", 1, {}, at, at)


def test_judge_met_missed_not_due_and_dates_against_datetimes():
    promised = L(2026, 11, 16, 14, 5)
    assert judge(promised, L(2026, 11, 16, 14, 5), L(2026, 11, 20, 9), CAL) == MET
    assert judge(promised, L(2026, 11, 16, 14, 6), L(2026, 11, 20, 9), CAL) == MISSED
    assert judge(promised, None, L(2026, 11, 16, 13), CAL) == NOT_DUE
    assert judge(promised, None, L(2026, 11, 16, 15), CAL) == MISSED
    assert judge(promised, None, L(2026, 11, 16, 15), CAL, recorded=False) == NOT_RECORDED
    assert judge(promised, date(2026, 11, 16), L(2026, 11, 20), CAL) == MET  # a date: that day counts
    assert judge(promised, date(2026, 11, 17), L(2026, 11, 20), CAL) == MISSED


def test_timeline_promised_beside_actual(rules):
    insp = _insp(concerns_raised="Yes", conduct_concerns="Yes", final_feedback_at=L(2026, 11, 18, 15, 0),
                 feedback_form_completed=date(2026, 11, 23), draft_report_received=date(2026, 12, 1),
                 report_published=date(2026, 12, 14))
    records = [_rec("contact_plan_internal", L(2026, 11, 16, 13, 0)),
               _rec("contact_plan_school", L(2026, 11, 16, 15, 30)),  # the school's acknowledgement was late
               _rec("concern_escalation", L(2026, 11, 17, 10, 0)), _rec("concern_escalation", L(2026, 11, 18, 9, 0), 2),
               _rec("contact_plan_internal", L(2026, 11, 16, 13, 0), state="failed", version=3)]
    fus = [FollowUp(IID, "Acorn", "SIM follow-up call", "Sam Imrie", date(2026, 11, 20)),
           FollowUp(IID, "Acorn", "Signpost EPS", "Sam Imrie", date(2026, 11, 20), done="19/11/2026"),
           FollowUp(IID, "Acorn", "Old action", "Sam Imrie", date(2026, 11, 19), state="No longer needed"),
           FollowUp("OFS-OTHER", "Other", "Not ours", "Sam Imrie", date(2026, 11, 19))]
    form = FormFacts(calls=((L(2026, 11, 17, 17, 0), True), (L(2026, 11, 18, 17, 0), False)))
    tl = build_timeline(insp, SCHOOL, rules.contact_plan, rules.learning_review, CAL, records, fus,
                        L(2026, 11, 24, 12, 0), form)
    by = {e.what: e for e in tl}
    ack = L(2026, 11, 16, 14, 5)  # 12:05 + 2 working hours
    assert by["Contact plan sent to the SIM and AI"].promised == ack
    assert by["Contact plan sent to the SIM and AI"].state == MET
    school = by["Acknowledgement and contact plan sent to the school"]
    assert (school.actual, school.state) == (L(2026, 11, 16, 15, 30), MISSED)
    assert by["Keep-in-touch call with the headteacher (Tue 17/11)"].state == MET
    day2 = by["Keep-in-touch call with the headteacher (Wed 18/11)"]
    assert (day2.promised, day2.state, day2.note) == (L(2026, 11, 18, 17, 0), MISSED, "the feedback form says it did not happen")
    assert by["Concern escalated to the SIM and CEM"].actual == L(2026, 11, 17, 10, 0)
    assert "Concern notes changed: escalated again (version 2)" in by
    assert by["Final feedback meeting"].actual == L(2026, 11, 18, 15, 0)
    form_row = by["Feedback form completed"]
    assert (form_row.promised, form_row.actual, form_row.state) == (L(2026, 11, 20, 17, 0), date(2026, 11, 23), MISSED)
    assert by["Factual-accuracy comments due"].promised == date(2026, 12, 8)  # 5 working days after 01/12
    assert by["Report published"].actual == date(2026, 12, 14)
    assert by["Follow-up: SIM follow-up call"].state == MISSED
    assert by["Follow-up: Signpost EPS"].state == MET and by["Follow-up: Signpost EPS"].actual == date(2026, 11, 19)
    assert not any("Old action" in e.what or "Not ours" in e.what for e in tl)
    assert not any("version 3" in e.what for e in tl)  # a failed send is not an updated plan
    assert [e.what for e in tl][0] == "Ofsted notified the school"
    assert sum(e.missed for e in tl) == 4


def test_keep_in_touch_not_recorded_without_a_form_and_not_due_before(rules):
    tl = build_timeline(_insp(), SCHOOL, rules.contact_plan, rules.learning_review, CAL, [], [], L(2026, 11, 18, 9, 0))
    calls = [e for e in tl if e.what.startswith("Keep-in-touch")]
    assert [c.state for c in calls] == [NOT_RECORDED, NOT_DUE]
    plan = next(e for e in tl if e.what == "Contact plan sent to the SIM and AI")
    assert plan.state == MISSED and plan.actual is None


# -- the checklist workbook, end to end ---------------------------------------------------

FULL = dict(**{"Concerns raised": "Yes", "Conduct concerns": "Yes",
               "Concern notes": "Lead inspector dismissive of the school's SEND context.",
               "Final feedback at": datetime(2026, 11, 18, 15, 0), "Safeguarding": "Met",
               "Feedback form completed": datetime(2026, 11, 23), "Inclusion": "Needs attention",
               "Leadership and governance": "Expected standard", "Learning review": "Requested",
               "Lead inspector": "HMI Carol Jenkins"})


@pytest.fixture
def reviewed(tmp_path, cfg):
    """A tracker whose inspection had its plan sent late, a concern escalated, and a late form."""
    path = tmp_path / "tracker.xlsx"
    write_tracker(path, inspections=[inspection()])
    run(path, cfg, L(2026, 11, 16, 15, 30), transport=MemoryTransport())  # ack promised by 14:05
    follow = [{"Inspection ID": IID, "School name": "Acorn Primary School", "Action": "SIM follow-up call",
               "Owner": "Sam Imrie", "Due": datetime(2026, 11, 20), "State": "Open", "Key": "k1"}]
    write_tracker(path, inspections=[inspection(**{"Inspection ID": IID, **FULL})], follow_ups=follow)
    run(path, cfg, L(2026, 11, 17, 10, 0), transport=MemoryTransport())  # the concern escalation
    write_tracker(path, inspections=[inspection(**{"Inspection ID": IID, **FULL})], follow_ups=follow)
    return path


def test_review_command_writes_checklist_prefilled_from_tracker_and_journal(reviewed, capsys):
    code = main(["review", str(reviewed), IID, "--now", "2026-11-24T12:00", "--replace"])
    out = capsys.readouterr().out
    assert code == 0
    path = reviewed.parent / "reviews" / f"{IID} - Acorn Primary School - learning review.xlsx"
    assert str(path) in out and path.exists()
    wb = openpyxl.load_workbook(path)
    ws = wb["Review"]
    fields = {ws.cell(r, 1).value: ws.cell(r, 2).value for r in range(4, ws.max_row + 1) if ws.cell(r, 1).value}
    assert fields["School"] == "Acorn Primary School" and fields["URN"] == "100001"
    assert fields["Governance"] == "Maintained" and fields["Phase"] == "Primary"
    assert fields["Headteacher"] == "Ann Acre" and fields["SIM"] == "Sam Imrie" and fields["AI"] == "Alex Inchley"
    assert fields["CEM"] == "Pat Primrose" and fields["Inspection ID"] == IID
    assert fields["Inspection type"] == "Full" and fields["Framework"].startswith("Renewed")
    assert fields["Notified at"] == datetime(2026, 11, 16, 12, 5)
    assert fields["Days on site"] == "Tue 17/11/2026 to Wed 18/11/2026"
    assert fields["Lead inspector"] == "HMI Carol Jenkins" and fields["Learning review"] == "Requested"
    assert fields["Inclusion"] == "Needs attention" and fields["Leadership and governance"] == "Expected standard"
    assert fields["Safeguarding"] == "Met" and fields["Category of concern"] == "none"
    assert fields["Concerns raised"] == "Yes" and fields["Conduct concerns"] == "Yes"
    assert fields["Promises missed"].startswith("4 ")
    assert fields["Prepared"] == datetime(2026, 11, 24, 12, 0)

    tl = wb["Timeline"]
    assert [c.value for c in tl[3]] == ["What", "Promised by", "Actual", "Result", "Who", "Notes"]
    rows = {r[0].value: r for r in tl.iter_rows(min_row=4) if r[0].value}
    plan = rows["Contact plan sent to the SIM and AI"]
    assert plan[1].value == datetime(2026, 11, 16, 14, 5) and plan[2].value == datetime(2026, 11, 16, 15, 30)
    missed = {k for k, r in rows.items() if r[3].value == "Missed"}
    assert missed == {"Contact plan sent to the SIM and AI", "Acknowledgement and contact plan sent to the school",
                      "Feedback form completed", "Follow-up: SIM follow-up call"}
    for name in missed:  # highlighted by fill AND the word, never colour alone
        r = rows[name]
        assert r[3].value == "Missed" and r[0].fill.fgColor.rgb == MISSED_FILL.fgColor.rgb
    for name, r in rows.items():
        if name not in missed:
            assert r[0].fill.fgColor.rgb != MISSED_FILL.fgColor.rgb, name
    assert rows["Feedback form completed"][2].value == datetime(2026, 11, 23)
    esc = rows["Concern escalated to the SIM and CEM"]
    assert esc[2].value == datetime(2026, 11, 17, 10, 0) and "pat.primrose@la.example.org" in esc[4].value
    assert rows["Final feedback meeting"][2].value == datetime(2026, 11, 18, 15, 0)
    kit = [k for k in rows if k.startswith("Keep-in-touch")]
    assert kit == ["Keep-in-touch call with the headteacher (Tue 17/11)", "Keep-in-touch call with the headteacher (Wed 18/11)"]
    assert all(rows[k][3].value == "Not recorded" for k in kit)

    log = wb["Email log"]
    purposes = [r[1].value for r in log.iter_rows(min_row=4) if r[0].value]
    # The keep-in-touch calls' meeting requests are in the log too (one per call and audience).
    assert [p for p in purposes if not p.startswith("contact_plan_call_")] == [
        "contact_plan_internal", "contact_plan_school", "concern_escalation"]

    ck = wb["Checklist"]
    text = [c.value for c in ck["A"] if isinstance(c.value, str)]
    titles = [s.title for s in load_rules().learning_review.section]
    assert {"The reasons for the judgement", "Pausing or escalation to the SHMI", "What the LA will change"} <= set(titles)
    for n, title in enumerate(titles, start=1):
        assert f"{n}. {title}" in text
    assert any("Inclusion: Needs attention" in t for t in text)
    assert any("Concern notes (internal): Lead inspector dismissive" in t for t in text)
    assert any(t.startswith("From the timeline:") and "Missed: Contact plan sent to the SIM and AI" in t for t in text)
    assert text.count("Action") == len(titles)


def test_existing_checklist_is_never_overwritten(reviewed, capsys):
    assert main(["review", str(reviewed), IID, "--now", "2026-11-24T12:00"]) == 0
    path = next((reviewed.parent / "reviews").glob(f"{IID} - *"))
    wb = openpyxl.load_workbook(path)
    wb["Checklist"]["A6"] = "Officer's own findings"
    wb.save(path)
    before = path.read_bytes()
    capsys.readouterr()
    assert main(["review", str(reviewed), IID.lower(), "--now", "2026-11-25T12:00"]) == 0
    assert "already exists and was left as it is" in capsys.readouterr().out
    assert path.read_bytes() == before


def test_unknown_inspection_is_a_plain_message(reviewed, capsys):
    assert main(["review", str(reviewed), "OFS-999999-20260101"]) == 2
    err = capsys.readouterr().err
    assert "No inspection 'OFS-999999-20260101'" in err and IID in err and "Traceback" not in err


def test_checklist_from_email_log_when_there_is_no_journal(reviewed, capsys):
    for f in (reviewed.parent / ".ofsted-tracker").glob("*.sqlite"):
        f.unlink()
    wb = openpyxl.load_workbook(reviewed)
    wb["Email log"].append([datetime(2026, 11, 16, 15, 30), IID, "contact_plan_school", "head@acorn.school.example.org",
                            "Ofsted inspection: our support", "outbox", "sent", "<m1@la.example.org>"])
    wb.save(reviewed)
    assert main(["review", str(reviewed), IID, "--now", "2026-11-24T12:00", "--replace"]) == 0
    out = openpyxl.load_workbook(next((reviewed.parent / "reviews").glob("*.xlsx")))
    assert [c.value for c in out["Email log"][4]][:4] == [datetime(2026, 11, 16, 15, 30), "contact_plan_school", 1,
                                                          "head@acorn.school.example.org"]
    rows = {r[0].value: r for r in out["Timeline"].iter_rows(min_row=4) if r[0].value}
    school = rows["Acknowledgement and contact plan sent to the school"]
    assert school[2].value == datetime(2026, 11, 16, 15, 30) and school[3].value == "Missed"


def test_reviews_folder_is_configurable(reviewed, tmp_path, capsys):
    conf = tmp_path / "config.toml"
    conf.write_text('[reports]\nreviews_dir = "LR"\n')
    assert main(["review", str(reviewed), IID, "--config", str(conf)]) == 0
    assert list((reviewed.parent / "LR").glob(f"{IID} - *.xlsx"))
    conf.write_text('[reports]\nreviews_dir = 3\n')
    assert main(["review", str(reviewed), IID, "--config", str(conf)]) == 3
    assert "reports.reviews_dir" in capsys.readouterr().err


def test_keep_in_touch_answers_come_from_the_feedback_form(reviewed, rules, capsys):
    from automation.forms.readback import ContactPoint
    from automation.forms.spec import form_spec
    from automation.forms.workbook import write_form

    form = reviewed.parent / "forms" / f"{IID} Acorn Primary School feedback form.xlsx"
    form.parent.mkdir(exist_ok=True)
    calls = (ContactPoint(L(2026, 11, 16, 15, 30), "Contact plan emailed"),
             ContactPoint(L(2026, 11, 17, 17, 0), "Keep-in-touch call (Alex Inchley)", confirm=True),
             ContactPoint(L(2026, 11, 18, 17, 0), "Keep-in-touch call (Alex Inchley)", confirm=True))
    write_form(form, form_spec(rules, "renewed", "Full"), {"inspection_id": IID}, calls, "Example County Council")
    wb = openpyxl.load_workbook(form)
    ws = wb.worksheets[0]
    answers = iter(["Yes", "No"])
    for row in ws.iter_rows():
        if isinstance(row[0].value, str) and row[0].value.startswith("contact:") and row[2].value != "Sent":
            row[2].value = next(answers)
        elif row[0].value == "welfare_signposted":
            row[2].value = "Yes"
        elif row[0].value == "welfare_notes":
            row[2].value = "Education Support helpline, for the head"
    wb.save(form)
    assert main(["review", str(reviewed), IID, "--now", "2026-11-24T12:00", "--replace"]) == 0
    out = openpyxl.load_workbook(next((reviewed.parent / "reviews").glob("*.xlsx")))
    rows = {r[0].value: r for r in out["Timeline"].iter_rows(min_row=4) if r[0].value}
    day1 = rows["Keep-in-touch call with the headteacher (Tue 17/11)"]
    day2 = rows["Keep-in-touch call with the headteacher (Wed 18/11)"]
    assert (day1[3].value, day1[5].value) == ("Met", "the feedback form says it happened")
    assert (day2[3].value, day2[5].value) == ("Missed", "the feedback form says it did not happen")
    text = [c.value for c in out["Checklist"]["A"] if isinstance(c.value, str)]
    assert "From the feedback form: welfare support signposted: Yes: Education Support helpline, for the head." in text


def test_the_run_writes_a_requested_checklist_once_and_refreshes_oversight(reviewed, cfg):
    folder = reviewed.parent / "reviews"
    made = list(folder.glob(f"{IID} - *.xlsx"))
    assert len(made) == 1  # written by the second run, when Learning review became Requested
    assert (reviewed.parent / "reports" / f"{reviewed.stem} oversight.xlsx").exists()
    wb = openpyxl.load_workbook(made[0])
    wb["Checklist"]["A6"] = "Officer's findings so far"
    wb.save(made[0])
    before = made[0].read_bytes()
    result = run(reviewed, cfg, L(2026, 11, 18, 10, 0), transport=MemoryTransport())
    assert made[0].read_bytes() == before
    assert not any("learning review requested" in n for n in result.notes)
    assert any(n.startswith("Oversight workbook updated") for n in result.notes)
    again = run(reviewed, cfg, L(2026, 11, 18, 10, 5), transport=MemoryTransport())
    assert not any(n.startswith("Oversight workbook updated") for n in again.notes)  # nothing changed


def test_sample_tracker_run_writes_the_requested_checklist(tmp_path, rules, cfg):
    from automation.workbook.sample import build_sample

    path = build_sample(tmp_path / "sample.xlsx", rules, date(2026, 11, 23))
    result = run(path, cfg, L(2026, 11, 23, 12, 0), transport=MemoryTransport())
    made = list((tmp_path / "reviews").glob("*.xlsx"))
    assert len(made) == 1 and "Coldharbour Community School" in made[0].name  # the sample's one Requested review
    assert any("learning review requested — checklist written" in n for n in result.notes)
    wb = openpyxl.load_workbook(made[0])
    fields = {r[0].value: r[1].value for r in wb["Review"].iter_rows(min_row=4) if r[0].value}
    assert (fields["Category of concern"], fields["Safeguarding"], fields["Conduct concerns"]) == ("Special measures", "Not met", "Yes")
    assert list((tmp_path / "reports").glob("* oversight.xlsx"))
