"""Outcome rules as data for both frameworks, and the check that a recorded Category
of concern agrees with the grades (a warning with sheet/row/column/value/fix, not a fix)."""

from __future__ import annotations

from datetime import datetime

import openpyxl

from automation.calendar import LONDON
from automation.mail.transport import MemoryTransport
from automation.outcomes import consistency_problems, outcome
from automation.run import load_context, run
from automation.workbook.store import WorkbookStore
from tests.conftest import inspection, write_tracker

EIF = dict(itype="Graded", notified=datetime(2025, 3, 3, 10, 0), start=datetime(2025, 3, 4))


def read(tmp_path, cfg, *rows):
    path = write_tracker(tmp_path / "t.xlsx", inspections=list(rows))
    ctx = load_context(WorkbookStore(path), cfg, datetime(2026, 11, 19, 9, 0, tzinfo=LONDON), None)
    return ctx.tracker.inspections, ctx.rules


def test_eif2024_outcomes(tmp_path, cfg):
    good = inspection(**EIF, **{"Quality of education": "2", "Leadership and management": "Good", "Safeguarding": "Effective"})
    ri = inspection(urn="100002", **EIF, **{"Quality of education": "3", "Safeguarding": "Effective"})
    (g, r), rules = read(tmp_path, cfg, good, ri)
    assert outcome(g, rules).recorded and not outcome(g, rules).adverse and not outcome(g, rules).monitoring
    o = outcome(r, rules)
    assert o.adverse and o.monitoring and not o.in_category


def test_renewed_outcomes_and_safeguarding(tmp_path, cfg):
    na = inspection(**{"Inclusion": "Needs attention", "Safeguarding": "Met"})
    sg = inspection(urn="100002", **{"Inclusion": "Strong standard", "Safeguarding": "Not met"})
    (a, b), rules = read(tmp_path, cfg, na, sg)
    assert outcome(a, rules).monitoring and outcome(a, rules).adverse and not outcome(a, rules).category_expected
    o = outcome(b, rules)
    assert o.safeguarding_failed and o.category_expected and o.adverse and not o.monitoring


def test_consistent_outcomes_raise_nothing(tmp_path, cfg):
    rows = [inspection(**{"Inclusion": "Urgent improvement", "Safeguarding": "Met",
                          "Category of concern": "Requires significant improvement"}),
            inspection(urn="100002", **EIF, **{"Quality of education": "4", "Safeguarding": "Effective",
                                               "Category of concern": "Special measures"})]
    insps, rules = read(tmp_path, cfg, *rows)
    assert [consistency_problems(i, rules) for i in insps] == [[], []]
    (blank,), _ = read(tmp_path, cfg, inspection())  # no outcome recorded yet: nothing to check
    assert consistency_problems(blank, rules) == []


def test_grades_mean_a_category_but_none_is_recorded(tmp_path, cfg):
    (i,), rules = read(tmp_path, cfg, inspection(**{"Achievement": "Urgent improvement", "Safeguarding": "Met"}))
    [p] = consistency_problems(i, rules)
    assert (p.severity, p.sheet, p.row, p.column) == ("warning", "Inspections", 2, "Category of concern")
    assert "Achievement is Urgent improvement" in p.message and "blank" in p.message
    # The renewed framework's two categories (not the 2024 name "Serious weaknesses").
    assert "Requires significant improvement or Special measures" in p.fix


def test_category_recorded_without_grades_that_mean_one(tmp_path, cfg):
    (i,), rules = read(tmp_path, cfg, inspection(**{"Inclusion": "Expected standard", "Safeguarding": "Met",
                                                    "Category of concern": "Requires significant improvement"}))
    [p] = consistency_problems(i, rules)
    assert p.value == "Requires significant improvement" and "Urgent improvement" in p.message and "Not met" in p.message


def test_special_measures_needs_an_unacceptable_standard_of_education(tmp_path, cfg):
    row = inspection(**EIF, **{"Quality of education": "3", "Personal development": "2", "Leadership and management": "4",
                               "Safeguarding": "Effective", "Category of concern": "Special measures"})
    (i,), rules = read(tmp_path, cfg, row)
    [p] = consistency_problems(i, rules)
    assert "Quality of education or Personal development" in p.message and "Serious weaknesses" in p.fix


def test_the_run_writes_the_warning_to_the_problems_sheet_and_changes_nothing(tmp_path, cfg):
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection(**{"Inclusion": "Urgent improvement"})])
    run(path, cfg, datetime(2026, 11, 19, 9, 0, tzinfo=LONDON), transport=MemoryTransport())
    wb = openpyxl.load_workbook(path)
    ws = wb["Problems"]
    head = [c.value for c in ws[1]]
    rows = [dict(zip(head, r)) for r in ws.iter_rows(min_row=2, values_only=True)]
    [p] = [r for r in rows if r["Column"] == "Category of concern"]
    assert p["Severity"] == "warning" and p["Row"] in (2, "2") and "category of concern" in p["Problem"]
    insp = wb["Inspections"]
    ih = [c.value for c in insp[1]]
    assert insp.cell(2, ih.index("Category of concern") + 1).value is None  # reported, never "fixed"
