"""A plain Inspections column is one line in automation/workbook/schema.py: the template, the
reader, the validator and the Inspection all follow from it, with no other code changed."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime

import pytest
from openpyxl.utils import get_column_letter

from automation.validate import build_tracker
from automation.workbook import schema
from automation.workbook.reader import read_workbook
from automation.workbook.template import new_tracker
from tests.conftest import inspection, write_tracker

# The one-line changes: a date, a text and a yes/no column, each naming the attribute it fills.
NEW = (
    schema.Column("Return visit", "date", False, 12, "dd/mm/yyyy: the LA's visit after the report.", attr="return_visit"),
    schema.Column("Visit lead", "text", False, 20, attr="visit_lead"),
    schema.Column("Visit agreed", "yesno", False, 10, attr="visit_agreed"),
)


@pytest.fixture
def widened(monkeypatch):
    """A copy of the contract whose Inspections sheet has the NEW columns."""
    sheet = dataclasses.replace(schema.INSPECTIONS, columns=schema.INSPECTIONS.columns + NEW)

    def swap(specs):
        return tuple(sheet if s is schema.INSPECTIONS else s for s in specs)

    monkeypatch.setattr(schema, "REQUIRED", swap(schema.REQUIRED))
    monkeypatch.setattr(schema, "ALL", swap(schema.ALL))
    monkeypatch.setattr(schema, "BY_NAME", {s.name: s for s in swap(schema.ALL)})
    monkeypatch.setattr(schema, "INSPECTIONS", sheet)
    return sheet


def read(path, rules):
    # read_workbook's default sheets were bound when it was imported, before the patch; in the
    # product the new line is in schema.py itself, so the default includes it.
    return build_tracker(read_workbook(path, sheets=schema.ALL), rules)


def test_the_template_gains_the_columns_with_their_format_and_dropdown(widened, rules):
    ws = new_tracker(rules)["Inspections"]
    headers = [c.value for c in ws[1]]
    assert headers[-3:] == ["Return visit", "Visit lead", "Visit agreed"]
    date_col, yes_col = get_column_letter(len(headers) - 2), get_column_letter(len(headers))
    assert ws.column_dimensions[date_col].number_format == "dd/mm/yyyy"
    yes_no = [d for d in ws.data_validations.dataValidation if d.formula1 == "=List_yes_no"]
    assert any(f"{yes_col}2:{yes_col}" in str(d.sqref) for d in yes_no)


def test_values_are_read_checked_and_on_the_inspection(widened, tmp_path, rules):
    path = write_tracker(tmp_path / "t.xlsx", inspections=[
        inspection(**{"Return visit": datetime(2027, 1, 12), "Visit lead": "  Dana Dale ", "Visit agreed": "yes"}),
        inspection(urn="100002", **{"Return visit": "31/31/2027", "Visit agreed": "Perhaps"}),
    ])
    t = read(path, rules)
    first, second = t.inspections
    assert (first.return_visit, first.visit_lead, first.visit_agreed) == (date(2027, 1, 12), "Dana Dale", "Yes")
    assert first.fields == {"return_visit": date(2027, 1, 12), "visit_lead": "Dana Dale", "visit_agreed": "Yes"}
    # A bad value is said by sheet, row, column and value, and the row still counts (a warning, by kind).
    assert (second.return_visit, second.visit_lead, second.visit_agreed) == (None, "", "")
    said = {(p.sheet, p.row, p.column, p.value, p.severity) for p in t.problems}
    assert said == {("Inspections", 3, "Return visit", "31/31/2027", "warning"),
                    ("Inspections", 3, "Visit agreed", "Perhaps", "warning")}
    assert "choose one of: Yes, No" in next(p.fix for p in t.problems if p.column == "Visit agreed")


def test_a_formula_in_a_new_text_column_is_an_error_naming_it(widened, tmp_path, rules):
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection(**{"Visit lead": "=A1"})])
    p, = read(path, rules).problems
    assert (p.column, p.severity) == ("Visit lead", "error") and "formula" in p.message


def test_a_name_no_column_declares_is_still_an_attribute_error(tmp_path, rules):
    t = read(write_tracker(tmp_path / "t.xlsx", inspections=[inspection()]), rules)
    with pytest.raises(AttributeError, match="visit_lead"):
        t.inspections[0].visit_lead


def test_existing_plain_columns_fill_their_typed_attributes(tmp_path, rules):
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection(**{
        "Lead inspector": "Ian Spector", "Planning call at": datetime(2026, 11, 16, 15, 30), "Safeguarding": "Met",
        "Report published": datetime(2027, 1, 8), "Concerns raised": "YES"})])
    insp = read(path, rules).inspections[0]
    assert insp.fields == {}
    assert insp.lead_inspector == "Ian Spector" and insp.safeguarding == "Met" and insp.concerns_raised == "Yes"
    assert insp.planning_call_at.hour == 15 and insp.planning_call_at.tzinfo is not None
    assert insp.report_published == date(2027, 1, 8)


def test_safeguarding_is_read_on_the_rows_own_framework(tmp_path, rules):
    # Effective is the 2024 framework's word; this row is under the renewed framework (Met / Not met).
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection(Safeguarding="Effective")])
    t = read(path, rules)
    p, = t.problems
    assert (p.column, p.severity, t.inspections[0].safeguarding) == ("Safeguarding", "warning", "")
