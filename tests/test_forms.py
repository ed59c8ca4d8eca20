"""Feedback forms, the core and the form workbook: one form per inspection type with its
framework's scale, values found by key, tracker cells filled only where blank."""

from __future__ import annotations

from datetime import date, datetime

import openpyxl
import pytest

from automation.calendar import LONDON
from automation.forms.readback import FilledForm, apply_to_inspection, read_back
from automation.forms.spec import all_specs, form_spec
from automation.forms.workbook import SHEET, read_form, write_form
from automation.model import Inspection
from automation.workbook import schema

COLUMNS = set(schema.INSPECTIONS.headers())
TODAY = date(2026, 11, 20)


def insp(framework="renewed", itype="Full", **more) -> Inspection:
    return Inspection(row=7, inspection_id="OFS-100001-20261116", id_is_new=False, urn="100001", inspection_type=itype,
                      framework=framework, notified_at=datetime(2026, 11, 16, 12, 5, tzinfo=LONDON),
                      start_date=date(2026, 11, 17), **more)


def form(values: dict, framework="renewed", itype="Full") -> FilledForm:
    base = {"inspection_id": "OFS-100001-20261116", "form_complete": "Yes"}
    return FilledForm("OFS-100001-20261116 Acorn feedback form.xlsx", framework, itype, {**base, **values},
                      {k: i for i, k in enumerate(values, 10)})


def test_one_form_per_inspection_type_with_the_framework_scale(rules):
    specs = {(s.framework, s.inspection_type): s for s in all_specs(rules)}
    assert sorted(specs) == sorted((k, t) for k, fw in rules.frameworks.items() for t in fw.types)
    full, graded = specs[("renewed", "Full")], specs[("eif2024", "Graded")]
    assert [f.column for f in full.fields if f.key.startswith("grade:")] == list(rules.frameworks["renewed"].areas)
    assert full.field("grade:Inclusion").choices == rules.frameworks["renewed"].scale
    assert graded.field("grade:Quality of education").choices == ("1 Outstanding", "2 Good", "3 Requires improvement", "4 Inadequate")
    assert graded.field("safeguarding").choices == ("Effective", "Ineffective")
    assert full.field("safeguarding").choices == ("Met", "Not met")
    assert "Leaders have made insufficient progress" in specs[("eif2024", "Monitoring")].field("outcome").choices
    assert full.field("outcome") is None  # a full inspection's outcome is its report card
    for s in specs.values():  # every form asks the same core questions
        for key in ("category_of_concern", "why_judgements", "conduct_concerns", "conduct_notes",
                    "welfare_signposted", "key_feedback", "completed_by", "completed_on", "form_complete"):
            assert s.field(key) is not None, (s.file_stem, key)


def test_form_reads_back_by_key_even_after_rows_are_inserted(tmp_path, rules):
    spec = form_spec(rules, "eif2024", "Graded")
    path = write_form(tmp_path / "f.xlsx", spec, {"inspection_id": "OFS-100001-20240115", "school": "Acorn"}, contacts=())
    wb = openpyxl.load_workbook(path)
    ws = wb[SHEET]
    ws.insert_rows(9, 3)  # an officer adds rows of their own: keys, not positions, find the values
    for row in ws.iter_rows():
        if row[0].value == "grade:Quality of education":
            row[2].value = "2"
        if row[0].value == "key_feedback":
            row[2].value = "Strong reading."
    wb.save(path)
    got = read_form(path)
    assert (got.framework, got.inspection_type, got.inspection_id) == ("eif2024", "Graded", "OFS-100001-20240115")
    assert got.values["grade:Quality of education"] == "2" and got.values["key_feedback"] == "Strong reading."
    assert set(got.values) == {f.key for f in spec.fields}
    assert got.data == path.read_bytes()


def test_choice_fields_have_dropdowns_of_their_scale(tmp_path, rules):
    spec = form_spec(rules, "renewed", "Full")
    path = write_form(tmp_path / "f.xlsx", spec)
    wb = openpyxl.load_workbook(path)
    ws, lists = wb[SHEET], wb["Lists"]
    assert lists.sheet_state == "hidden" and ws.column_dimensions["A"].hidden
    row = next(r[0].row for r in ws.iter_rows() if r[0].value == "grade:Achievement")
    dv = next(d for d in ws.data_validations.dataValidation if f"C{row}" in d.sqref)
    col = dv.formula1.split("!")[1].split(":")[0].replace("$", "")[0]
    assert tuple(c.value for c in lists[col] if c.value) == rules.frameworks["renewed"].scale


def test_read_back_fills_blank_cells_with_canonical_values(rules):
    f = form({"grade:Quality of education": "2", "grade:Behaviour and attitudes": "outstanding", "safeguarding": "effective",
              "category_of_concern": "None", "conduct_concerns": "no", "final_feedback_at": datetime(2024, 1, 17, 15, 30),
              "completed_on": datetime(2024, 1, 18)}, "eif2024", "Graded")
    rb = read_back(f, insp("eif2024", "Graded"), {}, COLUMNS, rules, TODAY)
    assert rb.problems == []
    assert rb.cells == {"Final feedback at": datetime(2024, 1, 17, 15, 30), "Quality of education": "2 Good",
                        "Behaviour and attitudes": "1 Outstanding", "Safeguarding": "Effective",
                        "Conduct concerns": "No", "Feedback form completed": date(2024, 1, 18)}


def test_conflict_is_reported_with_both_values_and_never_written(rules):
    f = form({"safeguarding": "Met", "grade:Inclusion": "Strong standard", "grade:Achievement": "Needs attention"})
    current = {"Safeguarding": "Not met", "Achievement": "needs attention"}  # same grade, other spelling: agreed
    rb = read_back(f, insp(), current, COLUMNS, rules, TODAY)
    assert rb.cells == {"Inclusion": "Strong standard", "Feedback form completed": TODAY}
    [p] = rb.problems
    assert rb.conflicts == 1
    assert (p.sheet, p.row, p.column, p.value) == ("Inspections", 7, "Safeguarding", "Not met")
    assert "'Met'" in p.message and "'Not met'" in p.message and "left as it is" in p.message
    assert "decide which is right" in p.fix


def test_no_category_on_the_form_conflicts_with_a_recorded_category(rules):
    rb = read_back(form({"category_of_concern": "None"}), insp(), {"Category of concern": "Serious weaknesses"},
                   COLUMNS, rules, TODAY)
    assert "Category of concern" not in rb.cells
    assert [p.column for p in rb.problems] == ["Category of concern"]


def test_bad_values_are_reported_by_form_row_and_the_good_ones_still_recorded(rules):
    f = form({"grade:Inclusion": "Brilliant", "final_feedback_at": "18/11/2026", "completed_on": "someday",
              "safeguarding": "Met"})
    rb = read_back(f, insp(), {}, COLUMNS, rules, TODAY)
    assert rb.cells == {"Safeguarding": "Met", "Feedback form completed": TODAY}
    by_col = {p.column: p for p in rb.problems}
    assert set(by_col) == {"Inclusion", "Final feedback at", "Completed on"}
    assert by_col["Inclusion"].sheet == f"Feedback form {f.name}" and by_col["Inclusion"].row == f.rows["grade:Inclusion"]
    assert "Exceptional, Strong standard" in by_col["Inclusion"].fix
    assert "dd/mm/yyyy hh:mm" in by_col["Final feedback at"].fix


def test_missing_tracker_column_is_reported_not_written(rules):
    rb = read_back(form({"grade:Sixth form": "Strong standard"}), insp(), {}, COLUMNS - {"Sixth form"}, rules, TODAY)
    assert "Sixth form" not in rb.cells
    assert [p.column for p in rb.problems] == ["Sixth form"] and "add a column headed 'Sixth form'" in rb.problems[0].fix


def test_form_of_another_type_is_still_read_with_a_warning(rules):
    rb = read_back(form({"safeguarding": "Met"}, "renewed", "Monitoring"), insp(), {}, COLUMNS, rules, TODAY)
    assert rb.cells["Safeguarding"] == "Met"
    assert [p.column for p in rb.problems] == ["Inspection type"]


def test_the_run_sees_the_forms_outcomes_at_once(rules):
    before = insp(grades={"Achievement": "Expected standard"})
    after = apply_to_inspection(before, {"Inclusion": "Strong standard", "Safeguarding": "Met",
                                         "Feedback form completed": TODAY,
                                         "Final feedback at": datetime(2026, 11, 18, 15, 0)}, rules.frameworks["renewed"])
    assert after.grades == {"Achievement": "Expected standard", "Inclusion": "Strong standard"}
    assert after.safeguarding == "Met" and after.feedback_form_completed == TODAY
    assert after.final_feedback_at.tzinfo is not None


@pytest.mark.parametrize("content", [b"not a workbook", None])
def test_unreadable_or_foreign_file_is_a_plain_error(tmp_path, content):
    from automation.errors import WorkbookError

    path = tmp_path / "x.xlsx"
    if content is None:
        openpyxl.Workbook().save(path)  # a real workbook, but not a form
    else:
        path.write_bytes(content)
    with pytest.raises(WorkbookError, match="x.xlsx"):
        read_form(path)


def test_email_summary_shows_answers_by_section_and_flags_bad_values(rules):
    from automation.forms.readback import summary

    f = form({"grade:Inclusion": "Brilliant", "grade:Achievement": "strong standard", "completed_on": datetime(2026, 11, 19),
              "key_feedback": "Reading is a strength."})
    spec = form_spec(rules, "renewed", "Full")
    got = {s["title"]: {r["label"]: r["value"] for r in s["rows"]} for s in summary(f, spec, rules.frameworks["renewed"])}
    assert got["Evaluation areas"] == {"Inclusion": "Brilliant (not a valid value: not recorded in the tracker)",
                                       "Achievement": "Strong standard"}
    assert got["Sign-off"] == {"Completed on": "19/11/2026"}
    assert got["What was said"] == {"Key feedback": "Reading is a strength."}
    assert "The inspection" not in got  # the tool's own pre-filled details are not repeated
