"""The feedback form's escalation / nominee / learning fields and the learning review's
renewed-framework sections, through the real console script: a form only where the LA attended
feedback, read back into blank tracker cells, and shown in the review with the tracker's dates."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest

from automation.calendar import LONDON
from automation.cli import main
from automation.run import run
from tests.test_forms_run import fill
from tests.conftest import SCHOOLS, inspection, write_tracker

ROOT = Path(__file__).resolve().parents[1]
IID = "OFS-100001-20261116"  # Acorn Primary (maintained), renewed Full, on site Tue 17 - Wed 18 Nov 2026
BEECH = "OFS-100002-20261116"  # Beech Academy
LAST_DAY = "2026-11-18T08:00"
ACADEMIES = [
    {"URN": "100003", "School name": "Cedar Academy", "Governance": "Academy", "Phase": "Primary",
     "School email": "office@cedar.school.example.org", "SIM": "Sam Imrie", "AI": "Alex Inchley"},
    {"URN": "100004", "School name": "Damson Academy", "Governance": "Academy", "Phase": "Primary",
     "School email": "office@damson.school.example.org", "SIM": "Sam Imrie", "AI": "Alex Inchley"},
]


def cli(*args: str) -> subprocess.CompletedProcess:
    got = subprocess.run([sys.executable, "-m", "automation.cli", *args], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert "Traceback" not in got.stderr, got.stderr
    return got


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=LONDON)



def form_rows(path: Path) -> dict:
    return {r[0].value: (r[1].value, r[2].value) for r in openpyxl.load_workbook(path)["Feedback form"].iter_rows()
            if isinstance(r[0].value, str)}


def inspections_row(path: Path, n: int = 2) -> dict:
    ws = openpyxl.load_workbook(path)["Inspections"]
    return {h.value: c.value for h, c in zip(ws[1], ws[n])}


def review_book(folder: Path, iid: str):
    [path] = folder.glob(f"{iid} - *learning review.xlsx")
    return openpyxl.load_workbook(path)


def checklist_text(wb) -> list[str]:
    return [c.value for c in wb["Checklist"]["A"] if isinstance(c.value, str)]


def section(wb, title: str) -> tuple[str, str]:
    """(prompt, findings) of the checklist section with this title."""
    cells = [c.value for c in wb["Checklist"]["A"]]
    i = next(i for i, v in enumerate(cells) if isinstance(v, str) and v.split(". ", 1)[-1] == title)
    assert cells[i + 2] == "Findings"
    return cells[i + 1], cells[i + 3] or ""


def details(wb) -> dict:
    ws = wb["Review"]
    return {ws.cell(r, 1).value: ws.cell(r, 2).value for r in range(4, ws.max_row + 1) if ws.cell(r, 1).value}


NEW_FIELDS = {
    "nominee": "Nia Nominee, deputy headteacher", "areas_for_improvement": "Phonics in Year 1 is not consistent.",
    "useful_to_other_schools": "Case sampling started from the SEND register: have it to hand.",
    "concerns_escalated": "Yes", "escalated_to_shmi": "Yes", "pause_requested": "No", "ofsted_call_next_day": "Yes",
    "escalation_notes": "The SIM called the linked SHMI at 11:00 on day 2; the team's approach changed.",
}
DONE = {"final_feedback_at": datetime(2026, 11, 18, 15, 30), "safeguarding": "Met", "conduct_concerns": "No",
        "completed_by": "Alex Inchley", "completed_on": datetime(2026, 11, 19), "form_complete": "Yes"}


def test_new_fields_are_on_every_shipped_form_template():
    made = sorted((ROOT / "workbook_templates").glob("feedback_form_*.xlsx"))
    assert len(made) >= 7  # one per inspection type of both frameworks
    for path in made:
        rows = form_rows(path)
        for key in NEW_FIELDS:
            assert key in rows, (path.name, key)
        assert "nominee" in rows["nominee"][0].lower() and "accompanied" in rows["nominee"][0]


def test_completed_form_with_the_new_fields_is_read_back_and_shown_in_the_review(tmp_path, cfg):
    tracker = write_tracker(tmp_path / "tracker.xlsx", inspections=[inspection(**{"Learning review": "Requested"})])
    assert run(tracker, cfg, at(LAST_DAY)).saved  # writes the form
    [form] = (tmp_path / "forms").glob("*.xlsx")
    assert form_rows(form)["nominee"][1] is None  # no nominee in the tracker yet: the officer's to fill
    fill(form, {**DONE, **NEW_FIELDS})
    got = cli("run", str(tracker), "--now", "2026-11-19T10:00")
    assert got.returncode == 0, got.stdout + got.stderr
    row = inspections_row(tracker)
    assert row["Nominee"] == NEW_FIELDS["nominee"]  # a blank cell, filled from the form
    assert row["Safeguarding"] == "Met" and row["Feedback form completed"] == datetime(2026, 11, 19)

    got = cli("review", str(tracker), IID, "--now", "2026-11-24T12:00", "--replace")
    assert got.returncode == 0, got.stdout + got.stderr
    wb = review_book(tmp_path / "reviews", IID)
    assert details(wb)["Nominee"] == NEW_FIELDS["nominee"]
    _, account = section(wb, "The school's own account")
    assert NEW_FIELDS["nominee"] in account and NEW_FIELDS["areas_for_improvement"] in account
    _, esc = section(wb, "Pausing or escalation to the SHMI")
    assert "escalated to the linked SHMI: Yes" in esc and "a pause requested: No" in esc
    assert "the school called Ofsted on the next working day (Thu 19/11/2026): Yes" in esc
    assert NEW_FIELDS["escalation_notes"] in esc
    _, change = section(wb, "What the LA will change")
    assert NEW_FIELDS["useful_to_other_schools"] in change


def test_a_different_nominee_in_the_tracker_is_kept_and_reported(tmp_path, cfg):
    tracker = write_tracker(tmp_path / "tracker.xlsx", inspections=[inspection(Nominee="Nora Other")])
    run(tracker, cfg, at(LAST_DAY))
    [form] = (tmp_path / "forms").glob("*.xlsx")
    assert form_rows(form)["nominee"][1] == "Nora Other"  # pre-filled from the tracker
    fill(form, {**DONE, "nominee": "Nia Nominee"})
    run(tracker, cfg, at("2026-11-19T10:00"))
    assert inspections_row(tracker)["Nominee"] == "Nora Other"
    problems = list(openpyxl.load_workbook(tracker)["Problems"].iter_rows(min_row=2, values_only=True))
    assert any(p[4] == "Nominee" and "Nia Nominee" in (p[6] or "") for p in problems)


def test_an_academy_without_la_support_gets_no_form_one_that_accepted_does(tmp_path):
    tracker = write_tracker(tmp_path / "tracker.xlsx", schools=SCHOOLS + ACADEMIES, inspections=[
        inspection(),  # Acorn: maintained
        inspection(urn="100002"),  # Beech: offered support, did not accept
        inspection(urn="100003", **{"LA support accepted": "Yes"}),  # Cedar: accepted
        inspection(urn="100004", Safeguarding="Not met"),  # Damson: the LA attends feedback when safeguarding is not met
    ])
    got = cli("forms", str(tracker), "--now", LAST_DAY)
    assert got.returncode == 0, got.stdout + got.stderr
    names = sorted(p.name for p in (tmp_path / "forms").glob("*.xlsx"))
    assert names == ["OFS-100001-20261116 Acorn Primary School feedback form.xlsx",
                     "OFS-100003-20261116 Cedar Academy feedback form.xlsx",
                     "OFS-100004-20261116 Damson Academy feedback form.xlsx"]
    assert "Beech" not in got.stdout


def _timeline(wb) -> dict:
    return {r[0].value: [c.value for c in r] for r in wb["Timeline"].iter_rows(min_row=4) if r[0].value}


def test_the_review_of_an_offer_only_academy_counts_no_calls_never_promised(tmp_path):
    rows = [inspection(urn="100002", **{"Learning review": "Requested"}),
            inspection(urn="100003", **{"LA support accepted": "Yes", "Learning review": "Requested"})]
    tracker = write_tracker(tmp_path / "tracker.xlsx", schools=SCHOOLS + ACADEMIES, inspections=rows)
    got = cli("review", str(tracker), BEECH, "--now", "2026-12-10T12:00")
    assert got.returncode == 0, got.stdout + got.stderr
    assert main(["review", str(tracker), "OFS-100003-20261116", "--now", "2026-12-10T12:00"]) == 0
    offer_only = _timeline(review_book(tmp_path / "reviews", BEECH))
    accepted = _timeline(review_book(tmp_path / "reviews", "OFS-100003-20261116"))
    assert [k for k in accepted if k.startswith("Keep-in-touch")] == [
        "Keep-in-touch call with the headteacher (Tue 17/11)", "Keep-in-touch call with the headteacher (Wed 18/11)"]
    assert not [k for k in offer_only if k.startswith("Keep-in-touch")]
    # No form was owed, so none is missed; the academy that accepted support did owe one.
    assert offer_only["Feedback form completed"][3] != "Missed" and "not owed" in offer_only["Feedback form completed"][5]
    assert accepted["Feedback form completed"][3] == "Missed"
    wb = review_book(tmp_path / "reviews", BEECH)
    _, plan = section(wb, "Did the LA keep its own contact plan?")
    assert "Keep-in-touch" not in plan and "Feedback form" not in plan


def all_text(wb) -> str:
    return "\n".join(str(c.value) for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value is not None)


def test_renewed_framework_review_has_no_deep_dives(tmp_path):
    tracker = write_tracker(tmp_path / "tracker.xlsx", inspections=[
        inspection(**{"Learning review": "Requested"}),
        inspection(itype="Graded", notified=datetime(2025, 3, 3, 12, 0), start=datetime(2025, 3, 4),
                   **{"Learning review": "Requested"})])
    for iid in (IID, "OFS-100001-20250303"):
        assert main(["review", str(tracker), iid, "--now", "2026-11-24T12:00"]) == 0
    renewed = review_book(tmp_path / "reviews", IID)
    assert "deep dive" not in all_text(renewed).lower()
    prompt, _ = section(renewed, "The approach taken and the evidence base")
    assert "learning walks" in prompt and "case sampling" in prompt
    template = openpyxl.load_workbook(ROOT / "workbook_templates" / "learning_review.xlsx")
    assert "deep dive" not in all_text(template).lower()
    # EIF 2024 inspections did use deep dives: their review keeps the word.
    prompt, _ = section(review_book(tmp_path / "reviews", "OFS-100001-20250303"), "The approach taken and the evidence base")
    assert "deep dives" in prompt


def test_new_review_sections_carry_the_trackers_dates(tmp_path):
    row = inspection(**{"Learning review": "Requested", "Nominee": "Nia Nominee", "Final feedback at": datetime(2026, 11, 18, 15, 0),
                        "Draft report received": datetime(2026, 12, 1), "Complaint made": "Yes",
                        "Conduct concerns": "Yes", "Report published": datetime(2027, 1, 12)})
    tracker = write_tracker(tmp_path / "tracker.xlsx", inspections=[row])
    got = cli("review", str(tracker), IID, "--now", "2027-01-20T12:00")
    assert got.returncode == 0, got.stdout + got.stderr
    wb = review_book(tmp_path / "reviews", IID)
    d = details(wb)
    assert d["Draft report received"] == datetime(2026, 12, 1) and d["Report published"] == datetime(2027, 1, 12)
    assert d["Complaint made"] == "Yes" and d["Nominee"] == "Nia Nominee"
    titles = [t.split(". ", 1)[1] for t in checklist_text(wb) if t[:1].isdigit() and ". " in t]
    for title in ("The school's own account", "Factual accuracy and complaint", "The publication timescale", "Confidentiality"):
        assert title in titles
    _, account = section(wb, "The school's own account")
    assert "(the nominee): Nia Nominee" in account
    _, fa = section(wb, "Factual accuracy and complaint")
    # 5 working days after Tue 1 December 2026: Tue 8 December.
    assert "draft report received Tue 01/12/2026" in fa and "comments due by Tue 08/12/2026 (5 working days)" in fa
    assert "Complaint made: Yes" in fa and "ICASO" in fa
    _, pub = section(wb, "The publication timescale")
    # Wed 18 Nov -> Tue 1 Dec: 9 working days; -> Tue 12 Jan 2027: 36 (Christmas Day, Boxing Day on Mon 28th, New Year's Day out).
    assert "last day on site Wed 18/11/2026" in pub and "(9 working days later)" in pub
    assert "report published Tue 12/01/2027" in pub and "36 working days after the last day on site" in pub
    prompt, conf = section(wb, "Confidentiality")
    assert "in confidence" in prompt and "not publicly or with parents until the final report" in prompt
    assert "published on Tue 12/01/2027" in conf
    tl = _timeline(wb)
    assert tl["Draft report received"][2] == datetime(2026, 12, 1)
    assert tl["Factual-accuracy comments due"][1] == datetime(2026, 12, 8)
    assert "36 working days" in tl["Report published"][5]
    assert "Formal complaint made to Ofsted" in tl


def test_an_in_progress_review_is_refreshed_and_the_reviewers_work_kept(tmp_path, cfg):
    from automation.review.refresh import refresh_in_progress
    from automation.review.service import load_for_reports

    row = {"Inspection ID": IID, "Learning review": "Requested"}
    tracker = write_tracker(tmp_path / "tracker.xlsx", inspections=[inspection(**row)])
    assert main(["review", str(tracker), IID, "--now", "2026-11-24T12:00"]) == 0
    [path] = (tmp_path / "reviews").glob("*.xlsx")
    wb = openpyxl.load_workbook(path)
    wb["Checklist"]["A6"] = "Reviewers' findings so far"
    ws = wb["Review"]
    [reviewers] = [r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value == "Reviewers"]
    ws.cell(reviewers, 2).value = "Sam Imrie, Pat Primrose"
    wb.save(path)

    def refresh(now: str) -> list[str]:
        ctx, raw = load_for_reports(tracker, cfg, at(now))
        return refresh_in_progress(ctx, raw, tracker)

    assert refresh("2026-12-20T12:00") == []  # still Requested: not refreshed
    write_tracker(tracker, inspections=[inspection(**{**row, "Learning review": "In progress",
                                                     "Report published": datetime(2027, 1, 12)})])
    (tmp_path / "reviews" / f"~${path.name}").write_text("Excel's lock file: the checklist is open")
    assert refresh("2027-01-14T12:00") == []  # open in Excel: left alone, the next run tries again
    (tmp_path / "reviews" / f"~${path.name}").unlink()
    [note] = refresh("2027-01-14T12:00")
    assert IID in note and str(path) in note
    wb = openpyxl.load_workbook(path)
    assert _timeline(wb)["Report published"][2] == datetime(2027, 1, 12)
    assert details(wb)["Report published"] == datetime(2027, 1, 12)
    assert details(wb)["Reviewers"] == "Sam Imrie, Pat Primrose"
    assert wb["Checklist"]["A6"].value == "Reviewers' findings so far"
    before = path.read_bytes()
    assert refresh("2027-01-14T12:15") == [] and path.read_bytes() == before  # nothing changed: not rewritten


def test_a_broken_form_or_review_rule_names_the_file_and_the_key(rules):
    import copy
    import dataclasses
    from pathlib import Path

    from automation.errors import ConfigError
    from automation.forms.spec import form_spec
    from automation.review.prefill import findings
    from automation.rules import validate_file
    from automation.rules_schema import FeedbackFormFile

    def with_sections(sections):  # the rules as if feedback_form.toml had these sections (checked as at load)
        data = {**rules.shapes["feedback_form"], "section": sections}
        form = validate_file(FeedbackFormFile, data, Path("feedback_form.toml"))
        return dataclasses.replace(rules, files={**rules.files, "feedback_form": form})

    shipped = rules.shapes["feedback_form"]["section"]
    spec = form_spec(rules, "renewed", "Full")
    assert [s.title for s in spec.sections][:3] == ["The inspection", "Final feedback", "Evaluation areas"]
    assert spec.field("escalated_to_shmi").choices == ("Yes", "No") and spec.field("nominee").column == "Nominee"
    bad_kind = copy.deepcopy(shipped)
    bad_kind[1]["field"][0]["kind"] = "number"
    with pytest.raises(ConfigError, match=r"feedback_form\.toml, \[\[section\]\] 2 \('Final feedback'\), \[\[section\.field\]\] 1 \('final_feedback_at'\), key 'kind'"):
        form_spec(with_sections(bad_kind), "renewed", "Full")
    bad_column = copy.deepcopy(shipped)
    bad_column[1]["field"][1]["column"] = "Status"
    with pytest.raises(ConfigError, match=r"column = 'Status' is not an Inspections column a form can fill"):
        form_spec(with_sections(bad_column), "renewed", "Full")
    with pytest.raises(ConfigError, match=r"lacks the field\(s\) completed_on, form_complete"):
        form_spec(with_sections([s for s in shipped if s.get("title") != "Sign-off"]), "renewed", "Full")
    with pytest.raises(ConfigError, match=r"learning_review\.toml, section 'Extra': prefill = 'outcomes'"):
        findings("outcomes", None, "Extra")
