"""Feedback forms through the run and the command line: written once on the last day,
round-tripped into the tracker (blank cells only), emailed once to the right people."""

from __future__ import annotations

import email
import email.policy
import shutil
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest

from automation.calendar import LONDON
from automation.cli import main
from automation.config import parse_config
from automation.errors import ConfigError
from automation.paths import workbook_templates_dir
from automation.run import run
from tests.conftest import STAFF, inspection, write_tracker

IID = "OFS-100001-20261116"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=LONDON)


def forms(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.xlsx")) if folder.exists() else []


def fill(path: Path, values: dict) -> None:
    """What the officer does in Excel: type into the value cells and save."""
    wb = openpyxl.load_workbook(path)
    for row in wb["Feedback form"].iter_rows():
        if row[0].value in values:
            row[2].value = values[row[0].value]
    wb.save(path)


def inspections_row(path: Path, n: int = 2) -> dict:
    ws = openpyxl.load_workbook(path)["Inspections"]
    return {h.value: c.value for h, c in zip(ws[1], ws[n])}


def problems(path: Path) -> list[tuple]:
    return list(openpyxl.load_workbook(path)["Problems"].iter_rows(min_row=2, values_only=True))


def sent(outbox: Path, purpose: str = "Feedback form completed") -> list:
    msgs = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in sorted(outbox.glob("*.eml"))]
    return [m for m in msgs if m["Subject"].startswith(purpose)]


DONE = {"final_feedback_at": datetime(2026, 11, 18, 15, 30), "grade:Inclusion": "Strong standard",
        "grade:Achievement": "expected standard", "safeguarding": "Met", "category_of_concern": "None",
        "why_judgements": "Clear curriculum thinking in every subject.", "key_feedback": "Reading is a strength.",
        "conduct_concerns": "No", "welfare_signposted": "Yes", "completed_by": "Alex Inchley",
        "completed_on": datetime(2026, 11, 19), "form_complete": "Yes"}


def test_completed_form_round_trips_into_the_tracker_and_is_emailed_once(tmp_path, cfg):
    path = write_tracker(tmp_path / "tracker.xlsx", inspections=[inspection(**{"Lead inspector": "Ivy Inspector"})])
    run(path, cfg, at("2026-11-16T12:20"))  # contact plan
    assert run(path, cfg, at("2026-11-17T09:00")).saved and forms(tmp_path / "forms") == []  # day 1 of 2: not yet
    result = run(path, cfg, at("2026-11-18T08:00"))  # the last day on site
    [form] = forms(tmp_path / "forms")
    assert form.name == f"{IID} Acorn Primary School feedback form.xlsx"
    assert any(str(form) in n for n in result.notes)
    ws = openpyxl.load_workbook(form)["Feedback form"]
    cells = {r[0].value: r[2].value for r in ws.iter_rows() if r[0].value}
    assert cells["inspection_id"] == IID and cells["school"] == "Acorn Primary School"
    assert cells["lead_inspector"] == "Ivy Inspector" and "Wednesday 18 November 2026" in cells["days"]
    contacts = [r[1].value for r in ws.iter_rows() if str(r[0].value).startswith("contact:")]
    assert "Contact plan emailed to the SIM and AI" in contacts[0]
    assert sum("Keep-in-touch call" in c for c in contacts) == 2

    fill(form, DONE)
    result = run(path, cfg, at("2026-11-19T10:00"))
    row = inspections_row(path)
    assert row["Safeguarding"] == "Met" and row["Inclusion"] == "Strong standard"
    assert row["Achievement"] == "Expected standard" and row["Conduct concerns"] == "No"
    assert row["Final feedback at"] == datetime(2026, 11, 18, 15, 30)
    assert row["Feedback form completed"] == datetime(2026, 11, 19)
    assert row["Category of concern"] is None

    [msg] = sent(tmp_path / "outbox")
    assert msg["To"] == "gill.govan@la.example.org, pat.primrose@la.example.org"  # Governor Services + primary CEM
    assert msg["Cc"] == "sam.imrie@la.example.org, alex.inchley@la.example.org"
    assert "school.example.org" not in msg["To"] + msg["Cc"]  # provisional outcomes never go to a school
    [attached] = [p for p in msg.walk() if p.get_filename()]
    assert attached.get_filename() == form.name and attached.get_payload(decode=True) == form.read_bytes()
    text = msg.get_body(("plain",)).get_content()
    assert "CONFIDENTIAL" in text and "Reading is a strength." in text and "Completed on: 19/11/2026" in text

    again = run(path, cfg, at("2026-11-19T10:15"))
    assert [m for m in again.messages if m.purpose == "feedback_form_completed"] == []
    assert inspections_row(path) == row and not any("fills" in n for n in again.notes)
    assert len(sent(tmp_path / "outbox")) == 1


def test_form_being_filled_in_is_never_overwritten(tmp_path, cfg):
    path = write_tracker(tmp_path / "tracker.xlsx", inspections=[inspection()])
    run(path, cfg, at("2026-11-18T08:00"))
    [form] = forms(tmp_path / "forms")
    fill(form, {"key_feedback": "Half written..."})
    mine = form.read_bytes()
    result = run(path, cfg, at("2026-11-18T16:00"))
    assert form.read_bytes() == mine and forms(tmp_path / "forms") == [form]
    assert not any("feedback form written" in n for n in result.notes)
    assert sent(tmp_path / "outbox") == []  # not marked complete: nothing read back, nothing sent


def test_conflict_with_the_tracker_is_reported_and_the_tracker_kept(tmp_path, cfg):
    path = write_tracker(tmp_path / "tracker.xlsx", inspections=[inspection(Safeguarding="Not met")])
    run(path, cfg, at("2026-11-18T08:00"))
    [form] = forms(tmp_path / "forms")
    assert openpyxl.load_workbook(form)  # pre-filled with what the tracker knows:
    fill(form, DONE)  # ...but the officer types Met
    run(path, cfg, at("2026-11-19T10:00"))
    row = inspections_row(path)
    assert row["Safeguarding"] == "Not met" and row["Inclusion"] == "Strong standard"
    [p] = [p for p in problems(path) if p[4] == "Safeguarding"]
    assert p[1:6] == ("warning", "Inspections", 2, "Safeguarding", "Not met")
    assert "'Met'" in p[6] and "decide which is right" in p[7]
    [msg] = sent(tmp_path / "outbox")
    assert "1 answer(s) on the form differ from what the tracker already holds" in msg.get_body(("plain",)).get_content()
    run(path, cfg, at("2026-11-19T10:15"))  # still reported on the next run until someone decides
    assert [p for p in problems(path) if p[4] == "Safeguarding"]


def test_dry_run_writes_no_form_and_changes_nothing(tmp_path, cfg):
    path = write_tracker(tmp_path / "tracker.xlsx", inspections=[inspection()])
    before = path.read_bytes()
    result = run(path, cfg, at("2026-11-18T08:00"), dry_run=True)
    assert not (tmp_path / "forms").exists() and path.read_bytes() == before
    assert any("feedback form would be written" in n for n in result.notes)


ACCEPTED = {"LA support accepted": "Yes"}  # Beech is an academy: a form only where it accepted the LA's support


def test_config_folder_and_extra_recipients(tmp_path):
    cfg = parse_config({"feedback_forms": {"folder": "Feedback forms", "also_to": ["head.of.service@la.example.org"]}}, "cfg")
    path = write_tracker(tmp_path / "tracker.xlsx", inspections=[inspection(urn="100002", **ACCEPTED)])
    run(path, cfg, at("2026-11-18T08:00"))
    [form] = forms(tmp_path / "Feedback forms")
    fill(form, DONE)
    run(path, cfg, at("2026-11-19T10:00"))
    [msg] = sent(tmp_path / "outbox")  # Beech is secondary: the secondary CEM
    assert msg["To"] == "gill.govan@la.example.org, sol.secombe@la.example.org, head.of.service@la.example.org"


def test_nobody_to_send_to_is_a_problem_not_a_silent_drop(tmp_path, cfg):
    staff = [s for s in STAFF if s["Role"] in ("SIM", "AI")]
    path = write_tracker(tmp_path / "tracker.xlsx", staff=staff, inspections=[inspection()])
    run(path, cfg, at("2026-11-18T08:00"))
    fill(forms(tmp_path / "forms")[0], DONE)
    result = run(path, cfg, at("2026-11-19T10:00"))
    assert [m for m in result.messages if m.purpose == "feedback_form_completed"] == []
    assert inspections_row(path)["Safeguarding"] == "Met"
    assert any("has nobody to go to" in (p[6] or "") and "also_to" in p[7] for p in problems(path))


def test_hand_copied_template_and_a_stray_file_are_handled(tmp_path, cfg):
    path = write_tracker(tmp_path / "tracker.xlsx", inspections=[inspection(**{"Feedback form completed": None})])
    folder = tmp_path / "forms"
    folder.mkdir()
    mine = folder / "Acorn - my form.xlsx"
    shutil.copyfile(workbook_templates_dir() / "feedback_form_renewed_full.xlsx", mine)
    fill(mine, {"inspection_id": IID, "key_feedback": "Started by hand"})
    (folder / "notes.xlsx").write_bytes(b"not a workbook")
    (folder / "~$Acorn - my form.xlsx").write_bytes(b"Excel's lock file")
    run(path, cfg, at("2026-11-18T08:00"))  # the last day: the hand-made form counts, no second form
    assert not list(folder.glob("OFS-*"))
    fill(mine, {**DONE, "inspection_id": IID})
    run(path, cfg, at("2026-11-19T10:00"))
    assert inspections_row(path)["Safeguarding"] == "Met" and len(sent(tmp_path / "outbox")) == 1
    bad = [p for p in problems(path) if p[2] == "Feedback form notes.xlsx"]
    assert len(bad) == 1 and "cannot be read" in bad[0][6]
    assert not [p for p in problems(path) if "~$" in str(p[2])]


def test_2024_framework_grades_round_trip(tmp_path, cfg):
    graded = inspection(itype="Graded", notified=datetime(2025, 3, 10, 12, 0), start=datetime(2025, 3, 11),
                        **{"Report published": None})
    path = write_tracker(tmp_path / "tracker.xlsx", inspections=[graded])
    run(path, cfg, at("2025-03-12T08:00"))
    [form] = forms(tmp_path / "forms")
    assert openpyxl.load_workbook(form)["Feedback form"]["A1"].value == "ofsted-tracker-form:1:eif2024:Graded"
    fill(form, {"grade:Quality of education": "3", "grade:Leadership and management": "2 Good",
                "safeguarding": "Effective", "form_complete": "Yes", "completed_on": "13/03/2025"})
    run(path, cfg, at("2025-03-13T10:00"))
    row = inspections_row(path)
    assert row["Quality of education"] == "3 Requires improvement" and row["Leadership and management"] == "2 Good"
    assert row["Feedback form completed"] == datetime(2025, 3, 13)


def test_forms_command_writes_and_reports(tmp_path, capsys):
    path = write_tracker(tmp_path / "tracker.xlsx", inspections=[inspection()])
    assert main(["forms", str(path), "--now", "2026-11-18T08:00", "--dry-run"]) == 0
    assert not (tmp_path / "forms").exists()
    assert main(["forms", str(path), "--now", "2026-11-18T08:00"]) == 0
    out = capsys.readouterr().out
    assert f"{IID}: feedback form written to" in out and "contact_plan" not in out  # only the forms' part is sent
    assert len(forms(tmp_path / "forms")) == 1
    assert not (tmp_path / "outbox").exists()


def test_no_forms_for_inspections_long_over(tmp_path, cfg):
    # 10 working days after the last day (Wednesday 18 November) is Wednesday 2 December.
    late = write_tracker(tmp_path / "late.xlsx", inspections=[inspection()])
    result = run(late, cfg, at("2026-12-03T08:00"))
    assert forms(tmp_path / "forms") == [] and not any("feedback form" in n for n in result.notes)
    result = run(late, cfg, at("2026-12-02T08:00"), dry_run=True)
    assert any("feedback form would be written" in n for n in result.notes)


def test_unwritable_forms_folder_is_reported_and_the_run_goes_on(tmp_path, cfg):
    path = write_tracker(tmp_path / "tracker.xlsx", inspections=[inspection()])
    (tmp_path / "forms").write_text("a file where the folder should be")
    result = run(path, cfg, at("2026-11-18T08:00"))
    assert result.saved
    assert any("could not be written" in (p[6] or "") and p[2] == "Inspections" and p[3] == 2 for p in problems(path))


def test_dry_run_with_a_completed_form_shows_what_it_would_do(tmp_path, cfg):
    path = write_tracker(tmp_path / "tracker.xlsx", inspections=[inspection()])
    run(path, cfg, at("2026-11-18T08:00"))
    fill(forms(tmp_path / "forms")[0], DONE)
    before = path.read_bytes()
    result = run(path, cfg, at("2026-11-19T10:00"), dry_run=True)
    assert [m.purpose for m in result.messages if m.purpose.startswith("feedback")] == ["feedback_form_completed"]
    assert result.update.inspection_cells[2]["Safeguarding"] == "Met"
    assert any("would fill" in n and "Safeguarding" in n for n in result.notes)
    assert path.read_bytes() == before and sent(tmp_path / "outbox") == []


def test_extra_recipients_outside_the_la_are_refused(tmp_path):
    """Completed forms carry provisional outcomes: `also_to` may only name LA addresses."""
    cfg = parse_config({"feedback_forms": {"also_to": ["someone@elsewhere.example.com"]}}, "cfg.toml")
    path = write_tracker(tmp_path / "tracker.xlsx", inspections=[inspection(urn="100002", **ACCEPTED)])
    run(path, cfg, at("2026-11-18T08:00"))
    fill(forms(tmp_path / "forms")[0], DONE)
    with pytest.raises(ConfigError, match=r"feedback_forms\.also_to.*LA officers' addresses only"):
        run(path, cfg, at("2026-11-19T10:00"))  # stops before anything is sent, naming the key and the fix
    assert sent(tmp_path / "outbox") == []


def test_forms_command_says_why_it_exits_1_when_the_error_is_on_another_row(tmp_path):
    from tests.console import cli

    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection(), inspection(urn="12AB")])
    done = cli("forms", path, "--now", "2026-11-18T08:00", cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    [line] = [ln for ln in done.stdout.splitlines() if "elsewhere in the tracker" in ln]
    assert "URN" in line and "12AB" in line and "Problems sheet" in line, line
