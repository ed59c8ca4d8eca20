"""The Follow-ups sheet compiled from rules held as data — each rule, working-day
due dates (bank holidays), owners, and recompiling that keeps officers' Done and Notes."""

from __future__ import annotations

from datetime import date, datetime

import openpyxl
import pytest

from automation.calendar import LONDON
from automation.config import parse_config
from automation.errors import ConfigError
from automation.followups import compiled
from automation.mail.transport import MemoryTransport
from automation.run import load_context, run
from automation.workbook.store import WorkbookStore
from tests.conftest import SCHOOLS, STAFF, inspection, write_tracker

# Full (renewed framework, 2 days): notified Mon 16/11/2026, on site Tue 17 and Wed 18 November.
IID = "OFS-100001-20261116"
BEECH = "OFS-100002-20261116"


def at(*args):
    return datetime(*args, tzinfo=LONDON)


def compile_at(path, when, cfg):
    """The compiled follow-ups as the run would see them, keyed by Key."""
    ctx = load_context(WorkbookStore(path), cfg, when, None)
    return {fu.key: fu for fu in compiled(ctx).follow_ups}, ctx


def actions(result, iid=IID):
    return {k.split(":", 1)[1] for k in result if k.startswith(iid + ":")}


def sheet_rows(path, sheet="Follow-ups"):
    ws = openpyxl.load_workbook(path)[sheet]
    head = [c.value for c in ws[1]]
    return [dict(zip(head, r)) for r in ws.iter_rows(min_row=2, values_only=True) if any(r)]


def set_follow_up(path, key, **values):
    """An officer types into the Follow-ups sheet (as in Excel)."""
    wb = openpyxl.load_workbook(path)
    ws = wb["Follow-ups"]
    head = [c.value for c in ws[1]]
    for row in ws.iter_rows(min_row=2):
        if row[head.index("Key")].value == key:
            for h, v in values.items():
                row[head.index(h)].value = v
    wb.save(path)


def set_inspection(path, row, **values):
    wb = openpyxl.load_workbook(path)
    ws = wb["Inspections"]
    head = [c.value for c in ws[1]]
    for h, v in values.items():
        ws.cell(row, head.index(h) + 1, v)
    wb.save(path)


def test_no_concerns_feedback_form_contact_and_chase(tmp_path, cfg):
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection()])
    during, _ = compile_at(path, at(2026, 11, 18, 9, 0), cfg)
    assert actions(during) == set()  # nothing until the last day on site has passed
    fus, _ = compile_at(path, at(2026, 11, 19, 9, 0), cfg)
    assert actions(fus) == {"feedback_form", "follow_up_contact", "chase_report"}
    form = fus[f"{IID}:feedback_form"]
    assert form.due == date(2026, 11, 20) and form.owner == "Sam Imrie" and form.state == "Open"
    assert form.school_name == "Acorn Primary School" and "feedback form" in form.reason
    assert fus[f"{IID}:follow_up_contact"].due == date(2026, 11, 23)  # 3 working days (over a weekend)
    # 30 working days from Wed 18/11/2026 crosses Christmas, Boxing Day (observed 28/12) and New Year's Day.
    assert fus[f"{IID}:chase_report"].due == date(2027, 1, 4)


def test_bank_holiday_inside_a_due_window(tmp_path, cfg):
    # Last day on site Thu 30/04/2026; Mon 4 May is a bank holiday.
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection(notified=datetime(2026, 4, 28, 10, 0),
                                                                      start=datetime(2026, 4, 29))])
    fus, _ = compile_at(path, at(2026, 5, 1, 9, 0), cfg)
    iid = "OFS-100001-20260428"
    assert fus[f"{iid}:feedback_form"].due == date(2026, 5, 5)  # Fri 1, (Mon 4 bank holiday), Tue 5
    assert fus[f"{iid}:follow_up_contact"].due == date(2026, 5, 6)


def test_concerns_bring_check_ins_signposting_and_a_learning_review_suggestion(tmp_path, cfg):
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection(**{"Concerns raised": "Yes", "Concern notes": "HT distressed"})])
    fus, _ = compile_at(path, at(2026, 11, 19, 9, 0), cfg)
    got = actions(fus)
    assert {f"concern_checkin:{n}" for n in range(1, 7)} <= got and "follow_up_contact" not in got
    assert [fus[f"{IID}:concern_checkin:{n}"].due for n in (1, 2, 6)] == [date(2026, 11, 25), date(2026, 12, 2), date(2027, 1, 4)]  # 30 working days, as the chase
    assert fus[f"{IID}:concern_checkin:2"].action.endswith("2 of 6")
    assert fus[f"{IID}:eps_signpost"].due == date(2026, 11, 20) and "EPS" in fus[f"{IID}:eps_signpost"].action
    review = fus[f"{IID}:consider_learning_review"]
    assert review.action == "Consider an Ofsted Learning Review" and review.owner == "Pat Primrose"  # primary CEM


def test_adverse_outcome_and_monitoring_window(tmp_path, cfg):
    row = inspection(**{"Inclusion": "Needs attention", "Achievement": "Expected standard", "Safeguarding": "Met"})
    path = write_tracker(tmp_path / "t.xlsx", inspections=[row])
    fus, _ = compile_at(path, at(2026, 11, 19, 9, 0), cfg)
    assert "Inclusion Needs attention" in fus[f"{IID}:programme_of_support"].reason
    # "May be monitored", within 14 months of the inspection itself (¶52), not of publication:
    # listed at once, due 9 months after the last day on site (Wed 18/11/2026).
    mon = fus[f"{IID}:monitoring_expected"]
    assert mon.due == date(2027, 8, 18) and "may" in mon.action.lower() and "14 months of the inspection" in mon.reason
    assert "statement_of_action" not in actions(fus)


def test_category_of_concern_statement_of_action_and_academy_order(tmp_path, cfg):
    grades = {"Inclusion": "Urgent improvement", "Safeguarding": "Met", "Category of concern": "Special measures"}
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection(**grades), inspection(urn="100002", **grades)])
    fus, _ = compile_at(path, at(2026, 11, 19, 9, 0), cfg)
    soa = fus[f"{IID}:statement_of_action"]
    assert soa.due is None and "once Report published is filled in" in soa.reason  # listed, not forgotten
    assert "Special measures" in soa.reason
    assert fus[f"{IID}:academy_order"].owner == "Pat Primrose"
    # An academy: the trust prepares the statement of action (¶39); the LA offers support; no academy order.
    beech = actions(fus, BEECH)
    assert "academy_order" not in beech and "statement_of_action" not in beech and "trust_statement_support" in beech
    set_inspection(path, 2, **{"Report published": datetime(2026, 12, 18)})
    fus, _ = compile_at(path, at(2026, 12, 21, 9, 0), cfg)
    # 10 working days from Fri 18/12/2026: 21-24 (4), 29-31 (7), 4-6 Jan (10) — Christmas, Boxing Day
    # (observed Mon 28) and New Year's Day skipped.
    assert fus[f"{IID}:statement_of_action"].due == date(2027, 1, 6)
    # A maintained school with a directive academy order is not normally monitored (¶58): the SIM
    # checks at 9 months whether academisation is delayed (Sat 18/09/2027 -> Mon 20/09/2027).
    assert "monitoring_category" not in actions(fus)
    assert fus[f"{IID}:academisation_delayed"].due == date(2027, 9, 20)


def test_conduct_concerns_complaint_support_and_hmi_meeting(tmp_path, cfg):
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection(urn="100002", **{"Conduct concerns": "Yes"})])
    fus, _ = compile_at(path, at(2026, 11, 19, 9, 0), cfg)
    assert fus[f"{BEECH}:complaint_support"].due == date(2026, 11, 19) and fus[f"{BEECH}:complaint_support"].owner == "Sam Imrie"
    assert fus[f"{BEECH}:hmi_meeting"].owner == "Sol Secombe"  # the secondary CEM
    assert "consider_learning_review" in actions(fus, BEECH) and "follow_up_contact" not in actions(fus, BEECH)


def test_factual_accuracy_then_no_longer_needed_once_published(tmp_path, cfg):
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection(**{"Draft report received": datetime(2026, 12, 1)})])
    run(path, cfg, at(2026, 12, 2, 9, 0), transport=MemoryTransport())
    rows = {r["Key"]: r for r in sheet_rows(path)}
    assert rows[f"{IID}:factual_accuracy"]["Due"] == datetime(2026, 12, 8) and rows[f"{IID}:factual_accuracy"]["State"] == "Open"
    set_inspection(path, 2, **{"Report published": datetime(2026, 12, 15)})
    run(path, cfg, at(2026, 12, 16, 9, 0), transport=MemoryTransport())
    rows = {r["Key"]: r for r in sheet_rows(path)}
    assert rows[f"{IID}:factual_accuracy"]["State"] == "No longer needed"  # kept, not deleted
    assert rows[f"{IID}:chase_report"]["State"] == "No longer needed"


def test_learning_review_requested_and_form_completed(tmp_path, cfg):
    row = inspection(**{"Concerns raised": "Yes", "Learning review": "Requested", "Feedback form completed": datetime(2026, 11, 19)})
    path = write_tracker(tmp_path / "t.xlsx", inspections=[row])
    fus, _ = compile_at(path, at(2026, 11, 20, 9, 0), cfg)
    assert fus[f"{IID}:learning_review"].action == "Hold the Ofsted Learning Review" and fus[f"{IID}:learning_review"].state == "Open"
    assert fus[f"{IID}:consider_learning_review"].state == "Done"  # the decision is made
    assert fus[f"{IID}:feedback_form"].state == "Done"
    assert fus[f"{IID}:governors_support"].owner == "Gill Govan" and fus[f"{IID}:governors_support"].due == date(2026, 12, 3)
    set_inspection(path, 2, **{"Learning review": "Complete"})
    fus, _ = compile_at(path, at(2026, 11, 20, 9, 0), cfg)
    assert fus[f"{IID}:learning_review"].state == "Done"


def test_done_tick_and_notes_survive_recompiles(tmp_path, cfg):
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection()])
    run(path, cfg, at(2026, 11, 19, 9, 0), transport=MemoryTransport())
    key = f"{IID}:follow_up_contact"
    set_follow_up(path, key, Done="Yes", Notes="Rang Ann on Friday")
    for day in (20, 23, 24):
        result = run(path, cfg, at(2026, 11, day, 9, 0), transport=MemoryTransport())
        rows = {r["Key"]: r for r in sheet_rows(path)}
        assert rows[key]["Done"] == "Yes" and rows[key]["Notes"] == "Rang Ann on Friday" and rows[key]["State"] == "Done"
    assert len(rows) == 3  # no duplicates
    again = run(path, cfg, at(2026, 11, 24, 9, 15), transport=MemoryTransport())
    assert again.saved and again.cells_written == 0  # recompiling is idempotent
    assert result.saved


def test_reason_gone_marks_no_longer_needed_and_officer_rows_are_kept(tmp_path, cfg):
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection(**{"Concerns raised": "Yes"})],
                         follow_ups=[{"Inspection ID": IID, "Action": "Send flowers", "Owner": "Sam Imrie", "Notes": "mine"}])
    run(path, cfg, at(2026, 11, 19, 9, 0), transport=MemoryTransport())
    set_follow_up(path, f"{IID}:concern_checkin:1", Done=datetime(2026, 11, 25))
    set_inspection(path, 2, **{"Concerns raised": "No"})
    run(path, cfg, at(2026, 11, 26, 9, 0), transport=MemoryTransport())
    rows = {r["Key"]: r for r in sheet_rows(path) if r["Key"]}
    assert rows[f"{IID}:concern_checkin:1"]["State"] == "Done"  # it was done: stays done
    assert {rows[f"{IID}:concern_checkin:{n}"]["State"] for n in range(2, 7)} == {"No longer needed"}
    assert rows[f"{IID}:follow_up_contact"]["State"] == "Open"
    mine = [r for r in sheet_rows(path) if r["Action"] == "Send flowers"]
    assert mine and mine[0]["Notes"] == "mine"


def test_first_listing_of_old_inspections_is_history_not_reminders(tmp_path, cfg):
    old = inspection(notified=datetime(2026, 3, 2, 10, 0), start=datetime(2026, 3, 3), **{"Report published": datetime(2026, 4, 20)})
    path = write_tracker(tmp_path / "t.xlsx", inspections=[old])
    iid = "OFS-100001-20260302"
    fus, _ = compile_at(path, at(2026, 11, 19, 9, 0), cfg)
    assert fus[f"{iid}:follow_up_contact"].state == "Past: not tracked"
    set_inspection(path, 2, **{"Concerns raised": "Yes"})  # an old one gains a concern: new actions are listed
    run(path, cfg, at(2026, 11, 19, 9, 0), transport=MemoryTransport())
    set_inspection(path, 2, **{"Conduct concerns": "Yes"})
    fus, _ = compile_at(path, at(2026, 11, 20, 9, 0), cfg)
    assert fus[f"{iid}:hmi_meeting"].state == "Open"  # tracked since the first listing: reminded


def test_outside_the_horizon_nothing_is_compiled_or_touched(tmp_path, cfg):
    ancient = inspection(notified=datetime(2022, 3, 2, 10, 0), start=datetime(2022, 3, 3), itype="Graded")
    kept = {"Inspection ID": "OFS-100001-20220302", "Action": "Old action", "Key": "OFS-100001-20220302:follow_up_contact",
            "State": "Open"}
    path = write_tracker(tmp_path / "t.xlsx", inspections=[ancient], follow_ups=[kept])
    fus, _ = compile_at(path, at(2026, 11, 19, 9, 0), cfg)
    assert fus == {}
    run(path, cfg, at(2026, 11, 19, 9, 0), transport=MemoryTransport())
    assert [r["State"] for r in sheet_rows(path)] == ["Open"]


def test_rules_are_data_an_la_can_change(tmp_path):
    from automation.paths import rules_dir

    own = tmp_path / "rules"
    own.mkdir()
    text = (rules_dir() / "follow_ups.toml").read_text(encoding="utf-8").replace("repeat = 6", "repeat = 3")
    (own / "follow_ups.toml").write_text(text, encoding="utf-8")
    cfg = parse_config({"paths": {"rules_dir": str(own)}}, "test")
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection(**{"Concerns raised": "Yes"})])
    fus, _ = compile_at(path, at(2026, 11, 19, 9, 0), cfg)
    assert sorted(a for a in actions(fus) if a.startswith("concern_checkin")) == ["concern_checkin:1", "concern_checkin:2", "concern_checkin:3"]
    (own / "follow_ups.toml").write_text(text.replace('when = ["ended", "concerns_raised"]', 'when = ["ended", "concern"]', 1), encoding="utf-8")
    with pytest.raises(ConfigError, match="'concern' is not a known fact"):
        compile_at(path, at(2026, 11, 19, 9, 0), cfg)


def test_missing_owner_role_is_a_problem_not_a_blank(tmp_path, cfg):
    staff = [s for s in STAFF if s["Role"] != "Governor Services"]
    path = write_tracker(tmp_path / "t.xlsx", staff=staff, schools=SCHOOLS,
                         inspections=[inspection(**{"Feedback form completed": datetime(2026, 11, 19)})])
    result = run(path, cfg, at(2026, 11, 20, 9, 0), transport=MemoryTransport())
    [p] = [p for p in result.update.problems if p.sheet == "Staff"]
    assert p.value == "Governor Services" and "Role Governor Services" in p.fix
    problems = sheet_rows(path, "Problems")
    assert any(r["Value"] == "Governor Services" for r in problems)


def test_follow_ups_command_compiles_without_sending(tmp_path, capsys):
    from automation.cli import main

    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection()])
    assert main(["follow-ups", str(path), "--now", "2026-11-23T09:00", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert f"{IID}  Sam Imrie" in out and "20/11/2026 OVERDUE  Complete the feedback form" in out
    assert "3 action(s); 3 new" in out and "Dry run" in out and sheet_rows(path) == []
    assert main(["follow-ups", str(path), "--now", "2026-11-23T09:00"]) == 0
    assert len(sheet_rows(path)) == 3 and not (tmp_path / "outbox").exists()  # nothing sent


def test_complaint_made_triggers_complaint_support_and_learning_review(tmp_path, cfg):
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection(urn="100002", **{"Complaint made": "Yes"}),
                                                           inspection()])
    fus, _ = compile_at(path, at(2026, 11, 19, 9, 0), cfg)
    support = fus[f"{BEECH}:complaint_support"]
    assert support.due == date(2026, 11, 19) and support.owner == "Sam Imrie"
    assert "formal complaint" in support.reason
    review = fus[f"{BEECH}:consider_learning_review"]
    assert review.owner == "Sol Secombe" and review.due == date(2026, 12, 2)  # 10 working days after Wed 18
    assert "hmi_meeting" not in actions(fus, BEECH)  # that one is for conduct concerns
    # The same inspection without a complaint (and no concerns) gets neither.
    assert not {"complaint_support", "consider_learning_review"} & actions(fus, IID)
    set_inspection(path, 2, **{"Complaint made": "No"})
    fus, _ = compile_at(path, at(2026, 11, 19, 9, 0), cfg)
    assert not {"complaint_support", "consider_learning_review"} & actions(fus, BEECH)
