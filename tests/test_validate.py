"""Every bad-input case is reported with sheet, row, column, value and a fix; good rows go on."""

from __future__ import annotations

from datetime import datetime

import openpyxl
import pytest

from automation.errors import WorkbookError
from automation.validate import build_tracker
from automation.workbook.reader import read_workbook
from tests.conftest import SCHOOLS, STAFF, inspection, write_tracker


def check(tmp_path, rules, **kw):
    path = write_tracker(tmp_path / "t.xlsx", **kw)
    return build_tracker(read_workbook(path), rules)


def only(tracker, sheet, column, severity="error"):
    found = [p for p in tracker.problems if p.sheet == sheet and p.column == column and p.severity == severity]
    assert len(found) == 1, tracker.problems
    return found[0]


def test_clean_tracker_has_no_problems(tmp_path, rules):
    t = check(tmp_path, rules, inspections=[inspection()])
    assert t.problems == []
    assert set(t.schools) == {"100001", "100002"}
    insp = t.inspections[0]
    assert insp.inspection_id == "OFS-100001-20261116" and insp.id_is_new
    assert insp.framework == "renewed" and insp.notified_at.tzinfo is not None


def test_unknown_urn_is_reported_and_other_rows_kept(tmp_path, rules):
    t = check(tmp_path, rules, inspections=[inspection(urn="999999"), inspection(urn="100002")])
    p = only(t, "Inspections", "URN")
    assert p.row == 2 and p.value == "999999" and "not on the Schools sheet" in p.message
    assert [i.urn for i in t.inspections] == ["100002"]


def test_unknown_staff_name(tmp_path, rules):
    schools = [dict(SCHOOLS[0], SIM="Nobody Known")]
    t = check(tmp_path, rules, schools=schools)
    p = only(t, "Schools", "SIM")
    assert p.row == 2 and p.value == "Nobody Known" and "Staff sheet" in p.fix
    assert "100001" not in t.schools


@pytest.mark.parametrize("bad, words", [("", "is empty"), ("office.school.example.org", "not an email"),
                                        ("a@x.example.org; b@x.example.org", "more than one")])
def test_missing_or_malformed_school_email(tmp_path, rules, bad, words):
    t = check(tmp_path, rules, schools=[dict(SCHOOLS[0], **{"School email": bad or None}), SCHOOLS[1]])
    p = only(t, "Schools", "School email")
    assert words in p.message and p.row == 2
    assert list(t.schools) == ["100002"]


def test_malformed_staff_email(tmp_path, rules):
    staff = STAFF[:1] + [dict(STAFF[1], Email="alex at la")] + STAFF[2:]
    t = check(tmp_path, rules, staff=staff)
    p = only(t, "Staff", "Email")
    assert p.row == 3 and p.value == "alex at la"


def test_start_before_notification(tmp_path, rules):
    t = check(tmp_path, rules, inspections=[inspection(start=datetime(2026, 11, 13))])
    p = only(t, "Inspections", "Start date")
    assert p.value == "13/11/2026" and "before Ofsted's notification" in p.message
    assert t.inspections == []


def test_uk_text_dates_and_never_us_order(tmp_path, rules):
    t = check(tmp_path, rules, inspections=[
        inspection(notified="16/11/2026 12:05", start="17/11/2026"),
        inspection(urn="100002", notified="11/16/2026 12:05", start="11/17/2026"),
    ])
    assert t.inspections[0].notified_at.strftime("%d/%m/%Y %H:%M") == "16/11/2026 12:05"
    bad = [p for p in t.problems if p.row == 3]
    assert {p.column for p in bad} == {"Notified at", "Start date"}
    assert all("day first" in p.fix for p in bad)


def test_date_without_time_is_a_warning_with_noon_assumed(tmp_path, rules):
    t = check(tmp_path, rules, inspections=[inspection(notified="16/11/2026")])
    p = only(t, "Inspections", "Notified at", "warning")
    assert "12:00 is assumed" in p.message
    assert t.inspections[0].notified_at.hour == 12


def test_duplicate_school_and_duplicate_inspection(tmp_path, rules):
    t = check(tmp_path, rules, schools=SCHOOLS + [dict(SCHOOLS[0], **{"School name": "Copy"})],
              inspections=[inspection(), inspection(notified=datetime(2026, 11, 16, 13, 0))])
    s = only(t, "Schools", "URN")
    assert s.row == 4 and "already on row 2" in s.message
    i = only(t, "Inspections", "Inspection ID")
    assert i.row == 3 and "already on row 2" in i.message
    assert len(t.inspections) == 1


def test_duplicate_staff_name(tmp_path, rules):
    t = check(tmp_path, rules, staff=STAFF + [dict(STAFF[0], Email="other@la.example.org")])
    p = only(t, "Staff", "Name")
    assert p.row == len(STAFF) + 2 and "twice" in p.message


def test_bad_vocabulary_values(tmp_path, rules):
    t = check(tmp_path, rules, schools=[dict(SCHOOLS[0], Governance="Free school"), SCHOOLS[1]],
              inspections=[inspection(urn="100002", itype="Graded")])
    g = only(t, "Schools", "Governance")
    assert "Maintained, Academy, Independent, Other" in g.fix
    # Graded is an EIF 2024 type: not valid for a notification in November 2026.
    it = only(t, "Inspections", "Inspection type")
    assert it.value == "Graded" and "Full, Monitoring, Focused monitoring" in it.fix


def test_framework_follows_notification_date(tmp_path, rules):
    t = check(tmp_path, rules, inspections=[
        inspection(itype="Graded", notified=datetime(2025, 3, 4, 12), start=datetime(2025, 3, 5),
                   **{"Quality of education": 3, "Leadership and management": "good"})])
    insp = t.inspections[0]
    assert insp.framework == "eif2024"
    assert insp.grades == {"Quality of education": "3 Requires improvement", "Leadership and management": "2 Good"}


def test_grade_from_other_framework_is_flagged(tmp_path, rules):
    t = check(tmp_path, rules, inspections=[inspection(**{"Quality of education": "2"})])
    p = only(t, "Inspections", "Quality of education", "warning")
    assert "renewed" in p.message.lower() or "Renewed" in p.message


def test_formula_is_reported(tmp_path, rules):
    t = check(tmp_path, rules, inspections=[inspection(urn="=Schools!A2")])
    p = only(t, "Inspections", "URN")
    assert "formula" in p.message and p.value == "=Schools!A2" and "Paste Values" in p.fix


def test_merged_and_blank_rows_are_reported(tmp_path, rules):
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection(), {}, inspection(urn="100002")])
    wb = openpyxl.load_workbook(path)
    wb["Inspections"].merge_cells("G2:H2")
    wb.save(path)
    t = build_tracker(read_workbook(path), rules)
    merged = [p for p in t.problems if "merged" in p.message]
    blank = [p for p in t.problems if "blank" in p.message]
    assert merged[0].row == 2 and merged[0].value == "G2:H2"
    assert blank[0].row == 3 and blank[0].sheet == "Inspections"
    assert len(t.inspections) == 2


def test_headers_found_by_name_in_any_order_with_extra_columns(tmp_path, rules):
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection()])
    wb = openpyxl.load_workbook(path)
    ws = wb["Schools"]
    ws.insert_cols(1)
    ws["A1"] = "My own column"
    ws.move_range("B1:B3", rows=0, cols=20)  # URN moved far right
    wb.save(path)
    t = build_tracker(read_workbook(path), rules)
    assert t.problems == [] and set(t.schools) == {"100001", "100002"}


def test_missing_required_column_and_sheet(tmp_path, rules):
    path = write_tracker(tmp_path / "t.xlsx")
    wb = openpyxl.load_workbook(path)
    wb["Schools"].delete_cols(6)  # School email
    wb.save(path)
    t = build_tracker(read_workbook(path), rules)
    p = only(t, "Schools", "School email")
    assert "missing" in p.message and p.row == 1
    del wb["Staff"]
    wb.save(path)
    with pytest.raises(WorkbookError, match="no sheet named 'Staff'"):
        build_tracker(read_workbook(path), rules)


def test_problem_text_names_place_value_and_fix(tmp_path, rules):
    t = check(tmp_path, rules, inspections=[inspection(urn="12")])
    text = str(t.problems[0])
    assert text.startswith("ERROR: sheet 'Inspections', row 2, column 'URN' (value: '12')")
    assert "6- or 7-digit" in text


def test_start_long_after_notification_is_a_warning_unless_deferral_granted(tmp_path, rules):
    far = dict(notified=datetime(2026, 11, 16, 12, 5), start=datetime(2026, 11, 30))
    t = check(tmp_path, rules, inspections=[inspection(**far), inspection(urn="100002", Deferral="Granted", **far)])
    p = only(t, "Inspections", "Start date", "warning")
    assert (p.row, p.value) == (2, "30/11/2026")
    assert p.message == ("the start date is 14 days after Ofsted's notification (16/11/2026); "
                         "Ofsted gives about a day's notice (more than 10 days is unlikely)")
    assert p.fix == "check the dates; if a deferral moved it, set Deferral to Granted."
    assert len(t.inspections) == 2  # a warning: both rows are still used


def test_max_notice_days_is_rules_data(tmp_path, rules):
    plan = rules.shapes["contact_plan"]
    rules = rules.with_file("contact_plan", {**plan, "timings": {**plan["timings"], "max_notice_days": 20}})
    # A focused monitoring inspection: no weekday pattern of its own (a routine Full would be warned about).
    t = check(tmp_path, rules, inspections=[inspection(itype="Focused monitoring", start=datetime(2026, 11, 30))])
    assert t.problems == []


def test_contact_plan_sent_before_notification_is_a_warning(tmp_path, rules):
    t = check(tmp_path, rules, inspections=[inspection(**{"Contact plan sent": datetime(2026, 11, 16, 9, 0)})])
    p = only(t, "Inspections", "Contact plan sent", "warning")
    assert (p.row, p.value) == (2, "16/11/2026 09:00")
    assert p.message == "the contact plan is recorded as sent before Ofsted's notification (16/11/2026 12:05)"
    assert p.fix == "check Notified at (date and time of Ofsted's call) and correct whichever date is wrong."
    assert t.inspections[0].contact_plan_sent.hour == 9


@pytest.mark.parametrize("itype, notified, warned", [
    ("Full", datetime(2026, 11, 16, 8, 0), True),
    ("Monitoring", datetime(2026, 11, 16, 8, 0), False),  # monitoring can start sooner
    ("Graded", datetime(2025, 3, 5, 8, 0), True),
    ("Ungraded", datetime(2025, 3, 5, 8, 0), True),
    ("Urgent", datetime(2025, 3, 5, 8, 0), False),  # urgent inspections are unannounced
])
def test_same_day_start_of_a_full_graded_or_ungraded_inspection(tmp_path, rules, itype, notified, warned):
    t = check(tmp_path, rules, inspections=[inspection(itype=itype, notified=notified, start=notified.replace(hour=0))])
    found = [p for p in t.problems if p.column == "Start date"]
    if not warned:
        assert found == [] and len(t.inspections) == 1
        return
    assert [p.severity for p in found] == ["warning"] and len(t.inspections) == 1
    assert found[0].value == f"{notified:%d/%m/%Y}"
    assert found[0].message == (f"a {itype} inspection normally starts the day after Ofsted's call, but this one "
                                f"starts the same day (notified {notified:%d/%m/%Y} 08:00)")
    assert found[0].fix == ("check the Start date and Notified at; if the inspection really started the same day, "
                            "ignore this warning.")


def test_complaint_made_is_read(tmp_path, rules):
    t = check(tmp_path, rules, inspections=[inspection(**{"Complaint made": "yes"}), inspection(urn="100002")])
    assert [i.complaint_made for i in t.inspections] == ["Yes", ""]
    t = check(tmp_path, rules, inspections=[inspection(**{"Complaint made": "Maybe"})])
    p = only(t, "Inspections", "Complaint made", "warning")
    assert p.value == "Maybe" and "Yes, No" in p.fix


def test_plan_sent_the_morning_of_a_notification_without_time_is_not_flagged(tmp_path, rules):
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection(
        notified=datetime(2026, 11, 16), **{"Contact plan sent": datetime(2026, 11, 16, 10, 30)})])
    t = build_tracker(read_workbook(path), rules)
    assert [p.column for p in t.problems] == ["Notified at"]  # only the "12:00 is assumed" warning
