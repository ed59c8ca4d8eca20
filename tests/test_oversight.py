"""The oversight figures against hand counts on a small tracker, and the oversight workbook
(tables and native charts) built from them."""

from __future__ import annotations

import re
import zipfile
from datetime import date, datetime

import openpyxl
import pytest

from automation.calendar import LONDON, WorkingCalendar
from automation.cli import main
from automation.oversight.figures import breakdown, inspection_facts, table, term_of
from automation.review.timeline import FormFacts
from automation.validate import build_tracker
from automation.workbook.reader import read_workbook
from tests.conftest import STAFF, inspection, write_tracker

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=LONDON)
STAFF2 = STAFF + [{"Name": "Sue Simms", "Role": "SIM", "Email": "sue.simms@la.example.org"}]


def _school(urn, name, gov, phase, district, sim):
    return {"URN": urn, "School name": name, "Governance": gov, "Phase": phase, "District": district,
            "School email": f"office@{urn}.school.example.org", "SIM": sim, "AI": "Alex Inchley"}


SCHOOLS = [_school("100001", "Acorn Primary School", "Maintained", "Primary", "North", "Sam Imrie"),
           _school("100002", "Beech Academy", "Academy", "Secondary", "South", "Sue Simms"),
           _school("100003", "Cedar Primary School", "Maintained", "Primary", "North", "Sue Simms")]
INSPECTIONS = [
    inspection("100001", "Full", datetime(2026, 11, 16, 12, 5), datetime(2026, 11, 17), **{
        "Contact plan sent": datetime(2026, 11, 16, 13, 0), "Concerns raised": "Yes", "Conduct concerns": "Yes",
        "Inclusion": "Urgent improvement", "Category of concern": "Special measures", "Learning review": "Requested"}),
    inspection("100002", "Full", datetime(2026, 10, 14, 10, 0), datetime(2026, 10, 15), **{
        "Contact plan sent": datetime(2026, 10, 14, 15, 0), "Inclusion": "Expected standard", "Safeguarding": "Met",
        "Learning review": "Complete"}),
    inspection("100003", "Monitoring", datetime(2026, 2, 2, 9, 0), datetime(2026, 2, 3), **{"Concerns raised": "No"}),
    inspection("100001", "Graded", datetime(2025, 3, 3, 12, 0), datetime(2025, 3, 4), **{
        "Contact plan sent": datetime(2025, 3, 3, 13, 0), "Quality of education": "3"}),
]
FOLLOW_UPS = [
    {"Inspection ID": "OFS-100001-20261116", "Action": "a", "Owner": "Sam Imrie", "Due": datetime(2026, 11, 20), "State": "Open", "Key": "1"},
    {"Inspection ID": "OFS-100001-20261116", "Action": "b", "Owner": "Sam Imrie", "Due": datetime(2026, 11, 30), "State": "Open", "Key": "2"},
    {"Inspection ID": "OFS-100001-20261116", "Action": "c", "Owner": "Sam Imrie", "Due": datetime(2026, 11, 19), "Done": "Yes", "State": "Done", "Key": "3"},
    {"Inspection ID": "OFS-100002-20261014", "Action": "d", "Owner": "Sue Simms", "Due": datetime(2026, 11, 1), "State": "Open", "Key": "4"},
]
AUT, SPR26, SPR25 = "2026-27 Autumn", "2025-26 Spring", "2024-25 Spring"


@pytest.fixture
def small(tmp_path):
    return write_tracker(tmp_path / "tracker.xlsx", schools=SCHOOLS, staff=STAFF2, inspections=INSPECTIONS,
                         follow_ups=FOLLOW_UPS)


def _facts(path, rules, forms=None):
    tracker = build_tracker(read_workbook(path), rules)
    assert not tracker.errors, tracker.errors
    return inspection_facts(tracker, rules, WorkingCalendar(), [], NOW, forms)


def test_terms_by_month(rules):
    assert [term_of(date(2026, m, 1), rules) for m in (9, 12, 1, 3, 4, 8)] == [
        "2026-27 Autumn", "2026-27 Autumn", "2025-26 Spring", "2025-26 Spring", "2025-26 Summer", "2025-26 Summer"]


def test_figures_by_term_match_hand_counts(small, rules):
    facts = _facts(small, rules)
    t = table(facts, "term", rules)
    assert t.groups == (SPR25, SPR26, AUT)
    expected = {
        AUT: {"Inspections": 2, "Acknowledged in time": 1, "Acknowledged late": 1, "Not acknowledged": 0,
              "Median working hours to acknowledge": 2.96,  # 0.92 h (12:05-13:00) and 5.0 h (10:00-15:00)
              # Acorn's two calls only: Beech is an academy that did not accept the LA's support (no calls promised).
              "Keep-in-touch points met": 0, "Keep-in-touch points missed": 0, "Keep-in-touch points not recorded": 2,
              "Concerns raised": 1, "Conduct concerns": 1, "Follow-ups open": 3, "Follow-ups overdue": 2,
              "Learning reviews requested": 2, "Learning reviews completed": 1},
        SPR26: {"Inspections": 1, "Acknowledged in time": 0, "Not acknowledged": 1,
                "Median working hours to acknowledge": None, "Keep-in-touch points not recorded": 1,
                "Concerns raised": 0, "Follow-ups open": 0, "Learning reviews requested": 0},
        SPR25: {"Inspections": 1, "Acknowledged in time": 1, "Median working hours to acknowledge": 1.0,
                "Keep-in-touch points not recorded": 2, "Concerns raised": 0},
    }
    for term, want in expected.items():
        for column, value in want.items():
            assert t.get(term, column) == value, (term, column)
    types = breakdown(facts, "term", "type", rules)
    assert types.get(AUT, "Full (Renewed)") == 2 and types.get(SPR26, "Monitoring (Renewed)") == 1
    assert types.get(SPR25, "Graded (EIF 2024)") == 1 and types.get(AUT, "Graded (EIF 2024)") == 0
    outcomes = breakdown(facts, "term", "outcome", rules)
    assert outcomes.get(AUT, "Category of concern") == 1 and outcomes.get(AUT, "No adverse outcome") == 1
    assert outcomes.get(SPR26, "Not yet recorded") == 1 and outcomes.get(SPR25, "Adverse outcome") == 1


def test_figures_by_district_and_sim(small, rules):
    facts = _facts(small, rules)
    d = table(facts, "district", rules)
    assert d.groups == ("North", "South")
    assert (d.get("North", "Inspections"), d.get("North", "Concerns raised"), d.get("South", "Inspections")) == (3, 1, 1)
    assert d.get("South", "Acknowledged late") == 1 and d.get("North", "Not acknowledged") == 1
    s = table(facts, "sim", rules)
    assert s.groups == ("Sam Imrie", "Sue Simms")
    assert [s.get(g, "Inspections") for g in s.groups] == [2, 2]
    assert [s.get(g, "Follow-ups open") for g in s.groups] == [2, 1]
    assert [s.get(g, "Follow-ups overdue") for g in s.groups] == [1, 1]


def test_keep_in_touch_met_and_missed_from_feedback_forms(small, rules):
    form = FormFacts(calls=((datetime(2026, 11, 17, 17, 0, tzinfo=LONDON), True),
                            (datetime(2026, 11, 18, 17, 0, tzinfo=LONDON), False)))
    t = table(_facts(small, rules, {"OFS-100001-20261116": form}), "term", rules)
    assert [t.get(AUT, c) for c in ("Keep-in-touch points met", "Keep-in-touch points missed",
                                    "Keep-in-touch points not recorded")] == [1, 1, 0]  # Beech: none promised


def test_oversight_command_writes_tables_and_native_charts(small, capsys):
    assert main(["oversight", str(small), "--now", "2026-11-24T12:00"]) == 0
    path = small.parent / "reports" / f"{small.stem} oversight.xlsx"
    assert str(path) in capsys.readouterr().out
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["Dashboard", "By term", "By district", "By SIM", "Inspections"]
    ws = wb["By term"]
    rows = {r[0].value: [c.value for c in r] for r in ws.iter_rows() if r[0].value}
    heads = next(r for r in ws.iter_rows(values_only=True) if r[0] == "Term" and r[1] == "Inspections")
    aut = [r for r in ws.iter_rows(values_only=True) if r[0] == AUT][-1]  # the promises table
    got = dict(zip(heads, aut))
    assert got["Inspections"] == 2 and got["Acknowledged late"] == 1 and got["Follow-ups overdue"] == 2
    assert got["Median working hours to acknowledge"] == 2.96
    assert AUT in rows and SPR25 in rows
    detail = wb["Inspections"]
    assert detail.max_row == 5 and detail["A1"].value == "Inspection ID"
    with zipfile.ZipFile(path) as z:
        charts = [n for n in z.namelist() if re.match(r"xl/charts/chart\d+\.xml", n)]
        assert len(charts) == 8 + 3 + 3
        xml = "".join(z.read(n).decode() for n in charts)
    assert "'By term'!$A$" in xml and "<barChart>" in xml and "'By SIM'!" in xml and "'By district'!" in xml


def test_oversight_rebuild_is_skipped_when_nothing_changed(small, cfg):
    from automation.oversight.service import refresh_oversight
    from automation.review.service import load_for_reports

    ctx, raw = load_for_reports(small, cfg, NOW)
    first = refresh_oversight(ctx, raw, small, only_if_due=True)
    assert first is not None and first.exists()
    assert refresh_oversight(ctx, raw, small, only_if_due=True) is None
    ctx2, raw2 = load_for_reports(small, cfg, datetime(2026, 11, 25, 9, 0, tzinfo=LONDON))  # a new day: overdue moves
    assert refresh_oversight(ctx2, raw2, small, only_if_due=True) == first


def test_empty_tracker_still_gives_a_workbook(tmp_path, capsys):
    path = write_tracker(tmp_path / "t.xlsx")
    assert main(["oversight", str(path)]) == 0
    wb = openpyxl.load_workbook(next((tmp_path / "reports").glob("* oversight.xlsx")))
    assert wb["Dashboard"]["A3"].value.startswith("0 inspections")


def test_a_fault_in_the_oversight_rebuild_never_fails_the_run(small, cfg, monkeypatch):
    from automation.mail.transport import MemoryTransport
    from automation.oversight import service
    from automation.run import run

    def broken(*a, **k):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(service, "refresh_oversight", broken)
    result = run(small, cfg, NOW, transport=MemoryTransport())
    assert result.saved
    assert any("Oversight workbook not updated: unexpected error RuntimeError('disk on fire')" in n for n in result.notes)
    # The learning review was still written (Learning review = Requested on the first inspection).
    assert list((small.parent / "reviews").glob("OFS-100001-20261116 - *.xlsx"))
