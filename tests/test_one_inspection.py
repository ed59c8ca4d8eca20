"""Commands about one inspection read and check only what they need, and see that inspection
exactly as a whole read does: build_tracker(only=/rows=), the read-only sheets store, `review`."""

from __future__ import annotations

from datetime import datetime

import pytest

from automation.errors import TrackerError, WorkbookError
from automation.update import TrackerUpdate
from automation.validate import FOR_ONE, build_tracker
from automation.workbook import schema
from automation.workbook.reader import read_workbook
from automation.workbook.readonly import SheetsStore
from tests.console import cli
from tests.conftest import SCHOOLS, inspection, write_tracker

NOW = datetime(2026, 11, 19, 9, 30)
THIRD = {**SCHOOLS[0], "URN": "100003", "School name": "Cedar Infant School"}


def _rows():
    return [
        inspection(**{"Inspection ID": "OFS-100001-20261116", "Lead inspector": "Ian Spector"}),
        inspection(urn="100002", notified=datetime(2026, 11, 12, 9, 0), start=datetime(2026, 11, 13),
                   **{"Inspection ID": "HAND-7", "Concerns raised": "Yes", "Report published": "not yet"}),
        # Copied from row 2 with its id: the same inspection twice is an error on this row.
        inspection(**{"Inspection ID": "OFS-100001-20261116", "Lead inspector": "Ian Spector"}),
        # No id yet, and the same school and day as row 2: a duplicate, found only among its school's rows.
        inspection(notified=datetime(2026, 11, 16, 14, 0)),
        inspection(urn="100003", notified=datetime(2026, 11, 17, 10, 0), start=datetime(2026, 11, 18)),
        inspection(urn="999999"),
    ]


@pytest.fixture
def raw(tmp_path):
    follow = [{"Inspection ID": "OFS-100001-20261116", "Action": "Send the report to governors", "Key": "a"},
              {"Inspection ID": "HAND-7", "Action": "Book the debrief", "Key": "b"}]
    path = write_tracker(tmp_path / "t.xlsx", schools=[*SCHOOLS, THIRD], inspections=_rows(), follow_ups=follow)
    return read_workbook(path)


def _same(one, full, insp):
    assert {i.inspection_id: i for i in one.inspections}[insp.inspection_id] == insp
    assert one.schools[insp.urn] == full.schools[insp.urn]
    own = [f for f in full.follow_ups if f.inspection_id == insp.inspection_id]
    assert [f for f in one.follow_ups if f.inspection_id == insp.inspection_id] == own
    rows = {i.row for i in full.inspections if i.urn == insp.urn}

    def problems(t):
        return [p for p in t.problems if p.sheet == "Inspections" and p.row in rows | {insp.row}]
    assert problems(one) == problems(full)


def test_each_inspection_alone_is_what_the_whole_read_gives(raw, rules):
    full = build_tracker(raw, rules, NOW)
    assert {i.inspection_id for i in full.inspections} == {"OFS-100001-20261116", "HAND-7", "OFS-100003-20261117"}
    for insp in full.inspections:
        one = build_tracker(raw, rules, NOW, only={insp.inspection_id.lower()})  # ids are matched as find_inspection does
        _same(one, full, insp)
        assert {i.urn for i in one.inspections} == {insp.urn}  # nobody else's rows were checked
        _same(build_tracker(raw, rules, NOW, rows={insp.row}), full, insp)


def test_duplicates_of_the_one_inspection_are_still_found(raw, rules):
    one = build_tracker(raw, rules, NOW, only={"OFS-100001-20261116"})
    said = {(p.row, p.column) for p in one.errors}
    assert (4, "Inspection ID") in said and (5, "Notified at") in said


def test_a_row_without_an_id_is_found_by_its_number(raw, rules):
    # Row 6 (URN 100003) has no id yet: the tool's id names its school and day.
    one = build_tracker(raw, rules, NOW, rows={6})
    assert [(i.row, i.inspection_id, i.id_is_new) for i in one.inspections] == [(6, "OFS-100003-20261117", True)]
    assert set(one.schools) == {"100003"}


def test_an_unknown_id_or_a_bad_row_gives_no_inspection(raw, rules):
    assert build_tracker(raw, rules, NOW, only={"OFS-123456-20260101"}).inspections == []
    bad = build_tracker(raw, rules, NOW, rows={7})  # URN 999999 is not on the Schools sheet
    assert bad.inspections == [] and [p.row for p in bad.errors] == [7]


def test_one_inspection_needs_only_its_sheets(raw, rules, tmp_path):
    path = write_tracker(tmp_path / "t2.xlsx", inspections=[inspection()])
    part = SheetsStore(path, FOR_ONE).load()
    assert set(part.sheets) == {s.name for s in FOR_ONE} and "Email log" not in part.sheets
    t = build_tracker(part, rules, NOW, only={"OFS-100001-20261116"})
    assert [i.inspection_id for i in t.inspections] == ["OFS-100001-20261116"] and t.logged_message_ids == set()
    with pytest.raises(WorkbookError, match="Email log"):  # a whole read still needs every contract sheet
        build_tracker(part, rules, NOW)


def test_the_sheets_store_never_writes(tmp_path):
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection()])
    before = path.read_bytes()
    store = SheetsStore(path, (schema.INSPECTIONS,))
    store.load()
    assert store.pending(TrackerUpdate(found_at=NOW)) is None
    with pytest.raises(TrackerError, match="look only"):
        store.save(TrackerUpdate(found_at=NOW))
    assert path.read_bytes() == before


def test_review_of_one_inspection_from_the_console(tmp_path):
    path = write_tracker(tmp_path / "t.xlsx", schools=[*SCHOOLS, THIRD], inspections=_rows()[:2] + _rows()[4:5])
    done = cli("review", path, "HAND-7", "--now", "2026-11-19T09:30", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Learning-review checklist written" in done.stdout and "HAND-7" in done.stdout
    # An id not on the sheet: the message lists the tracker's recent ids (a whole read, only then).
    done = cli("review", path, "OFS-100009-20261116", "--now", "2026-11-19T09:30", cwd=tmp_path)
    assert done.returncode != 0
    assert "No inspection 'OFS-100009-20261116'" in done.stdout + done.stderr
    assert "OFS-100003-20261117" in done.stdout + done.stderr


def test_a_terms_summary_is_the_same_from_its_rows_alone(tmp_path, cfg):
    from automation.oversight.one_term import load_for_term
    from automation.oversight.service import facts_for
    from automation.oversight.summary import render_summary, summary_context
    from automation.session import read_tracker

    fourth = {**SCHOOLS[1], "URN": "100004", "School name": "Damson Academy"}
    spring = inspection(urn="100004", notified=datetime(2027, 2, 10, 9, 0), start=datetime(2027, 2, 11),
                        **{"Concerns raised": "Yes", "Concern notes": "Inspector conduct at feedback"})
    path = write_tracker(tmp_path / "t.xlsx", schools=[*SCHOOLS, THIRD, fourth], inspections=[*_rows(), spring])
    now = datetime(2027, 3, 1, 9, 0)

    def html(ctx, raw, term):
        return render_summary(summary_context(ctx, facts_for(ctx, raw, path), term, False))

    full_ctx, full_raw = read_tracker(path, cfg, now)
    for term in ("2026-27 Autumn", "2026-27 Spring"):
        ctx, raw = load_for_term(path, cfg, now, term.lower())  # spelt as --term may be
        assert "Problems" not in raw.sheets and len(ctx.tracker.inspections) < len(full_ctx.tracker.inspections)
        assert html(ctx, raw, term) == html(full_ctx, full_raw, term)
    # A term with no inspections: the whole read, so the summary's message can list the terms.
    ctx, raw = load_for_term(path, cfg, now, "2025-26 Summer")
    assert "Problems" in raw.sheets
