"""The ribbon's Send contact plan and Record concern kept to the selected row: on the sample
tracker, each click sends exactly what the whole run's click sends and writes the same cells
in every row it touches; it leaves every other row, the Problems and Follow-ups sheets as
they were; a problem in the row still stops it and is said; a row with a feedback form takes
the whole run."""

from __future__ import annotations

from datetime import datetime

import pytest
from conftest import inspection, write_tracker
from test_xlstore_double import FakeBook

from automation.addin import actions
from automation.addin.build import ADDIN_NAME
from automation.addin.excel import perform
from automation.calendar import LONDON
from automation.mail.transport import MemoryTransport
from automation.rules import load_rules
from automation.workbook.sample import build_sample

NOW = datetime(2026, 11, 16, 13, 5, tzinfo=LONDON)


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    path = tmp_path_factory.mktemp("sample") / "tracker.xlsx"
    build_sample(path, load_rules(None), NOW.date())
    return FakeBook.from_file(path)


def _click(book, folder, tag, cfg, row, one_row: bool, monkeypatch):
    """(outcome, messages sent, the book after) for a click on a copy of the book in folder."""
    folder.mkdir()
    copy = book.copy(str(folder / "tracker.xlsx"))
    copy.select("Inspections", row)
    t = MemoryTransport()
    monkeypatch.setattr(actions, "ONE_ROW", one_row)
    out = perform(tag, copy, NOW, cfg, t, addin=ADDIN_NAME)
    return out, t.sent, copy


def _header(sheet, name):
    return next(c for (r, c), v in sheet.cells.items() if r == 1 and v == name)


def _rows_of_school(book, row):
    sheet = book.by_name["Inspections"]
    urn = _header(sheet, "URN")
    return {r for (r, c), v in sheet.cells.items() if c == urn and r > 1 and v == sheet.cells.get((row, urn))}


def _row(sheet, r):
    return {c: v for (rr, c), v in sheet.cells.items() if rr == r}


def _sent(messages):
    return [(m.key, m.inspection_id, m.purpose, m.to, m.cc, m.subject, m.reason,
             [p.get_content() for p in m.email.walk() if p.get_content_type() == "text/plain"]) for m in messages]


def _log(book, ids):
    sheet = book.by_name["Email log"]
    iid, mid = _header(sheet, "Inspection ID"), _header(sheet, "Message ID")
    rows = sorted(r for (r, c), v in sheet.cells.items() if c == iid and v in ids)
    # Message-IDs are random per message: compared apart, as the journal's keys
    return [{c: v for c, v in _row(sheet, r).items() if c != mid} for r in rows]


def _inspection_rows(book):
    sheet = book.by_name["Inspections"]
    return sorted({r for r, _ in sheet.cells if r > 1})


def _compare(sample, tmp_path, tag, row, cfg, monkeypatch):
    one, sent_one, book_one = _click(sample, tmp_path / f"one-{tag}-{row}", tag, cfg, row, True, monkeypatch)
    whole, sent_whole, book_whole = _click(sample, tmp_path / f"whole-{tag}-{row}", tag, cfg, row, False, monkeypatch)
    assert _sent(sent_one) == _sent(sent_whole), f"row {row}"
    touched = _rows_of_school(sample, row)
    ins_one, ins_whole, ins_before = (b.by_name["Inspections"] for b in (book_one, book_whole, sample))
    for r in touched:
        assert _row(ins_one, r) == _row(ins_whole, r), f"{tag} on row {row}: row {r} differs"
    for r in set(_inspection_rows(sample)) - touched:
        assert _row(ins_one, r) == _row(ins_before, r), f"{tag} on row {row}: row {r} of another school was changed"
    ids = {ins_one.cells.get((r, _header(ins_one, "Inspection ID"))) for r in touched}
    assert _log(book_one, ids) == _log(book_whole, ids)
    for name in ("Problems", "Follow-ups"):
        assert book_one.by_name[name].cells == sample.by_name[name].cells, f"{name} changed by a one-row click"
    assert one.attention == whole.attention, (one.lines, whole.lines)
    return one, sent_one


# The sample's rows of every kind: new (plan due), deferral requested, notified last week,
# deferral granted with a concern, in inspection, a school with two inspections, history.
SOME_ROWS = (2, 3, 4, 5, 7, 17, 20)


def _sample_rows(sample, every: bool):
    rows = _inspection_rows(sample)
    return rows if every else [r for r in rows if r in SOME_ROWS]


@pytest.mark.parametrize("every", [False, pytest.param(True, marks=pytest.mark.slow)])
def test_send_contact_plan_on_the_samples_rows_is_the_whole_runs_click(sample, tmp_path, cfg, monkeypatch, every):
    sent_any = 0
    for row in _sample_rows(sample, every):
        out, sent = _compare(sample, tmp_path, "send_plan", row, cfg, monkeypatch)
        sent_any += bool(sent)
        if sent:
            assert "Only this inspection's row and the Email log were updated" in out.text()
    assert sent_any >= 3  # the sample has new inspections whose plan is due


@pytest.mark.parametrize("every", [False, pytest.param(True, marks=pytest.mark.slow)])
def test_record_concern_on_the_samples_rows_is_the_whole_runs_click(sample, tmp_path, cfg, monkeypatch, every):
    escalated = 0
    for row in _sample_rows(sample, every):
        _, sent = _compare(sample, tmp_path, "record_concern", row, cfg, monkeypatch)
        escalated += bool(sent)
    assert escalated >= 3


def _two_rows(tmp_path, **bad):
    return FakeBook.from_file(write_tracker(tmp_path / "src.xlsx", inspections=[
        inspection(),
        inspection(urn="100002", itype="Monitoring", notified=datetime(2026, 11, 16, 9, 0),
                   start=datetime(2026, 11, 18), **bad),
    ]))


def test_a_bad_value_in_the_row_stops_the_click_and_is_said_as_by_the_whole_run(tmp_path, cfg, monkeypatch):
    book = _two_rows(tmp_path, **{"Start date": "next Tuesday"})
    one, sent_one, after_one = _click(book, tmp_path / "one", "send_plan", cfg, 3, True, monkeypatch)
    whole, sent_whole, after_whole = _click(book, tmp_path / "whole", "send_plan", cfg, 3, False, monkeypatch)
    assert sent_one == [] == sent_whole
    assert one.attention and one.lines == whole.lines
    assert "Row 3 has a problem, so nothing was sent for it" in one.text() and "is not a date" in one.text()
    status = after_one.by_name["Inspections"].value_at(3, "Status")
    assert status and status.startswith("Problem") and status == after_whole.by_name["Inspections"].value_at(3, "Status")


def test_a_staff_problem_that_stops_the_plan_stops_the_one_row_click_too(tmp_path, cfg, monkeypatch):
    book = _two_rows(tmp_path)
    staff = book.by_name["Staff"]
    email = _header(staff, "Email")
    for (r, c) in [k for k in staff.cells if k[1] == email and k[0] > 1]:
        staff.cells[(r, c)] = "not an address"
    one, sent_one, _ = _click(book, tmp_path / "one", "send_plan", cfg, 3, True, monkeypatch)
    whole, sent_whole, _ = _click(book, tmp_path / "whole", "send_plan", cfg, 3, False, monkeypatch)
    assert sent_one == [] == sent_whole
    assert one.attention == whole.attention


def test_a_row_with_a_feedback_form_takes_the_whole_run(tmp_path, cfg, monkeypatch):
    book = _two_rows(tmp_path)
    folder = tmp_path / "one"
    iid = "OFS-100002-20261116"
    (folder / "forms").mkdir(parents=True)
    (folder / "forms" / f"{iid} Beech feedback form.xlsx").write_bytes(b"")
    copy = book.copy(str(folder / "tracker.xlsx"))
    copy.select("Inspections", 3)
    monkeypatch.setattr(actions, "ONE_ROW", True)
    out = perform("send_plan", copy, NOW, cfg, MemoryTransport(), addin=ADDIN_NAME)
    # the whole run: every row brought up to date (the other school's row gets its id too)
    assert copy.by_name["Inspections"].value_at(2, "Inspection ID")
    assert "Only this inspection's row" not in out.text()


def test_cleaning_a_used_range_row_by_row_is_cleaning_each_value():
    from datetime import timezone
    from decimal import Decimal

    from automation.addin.grid import clean, clean_rows

    class Stamped(datetime):  # as pywin32 hands COM dates over
        pass

    values = [[None, "", "  ", "\xa0", "text", " padded ", 5.0, 5.5, float("inf"), float("nan"), 7, True, False],
              [datetime(2026, 11, 16, 9, 0), datetime(2026, 11, 16, 9, 0, tzinfo=timezone.utc),
               Stamped(2026, 11, 16, 9, 0), Decimal("12.50"), Decimal("3"), 2 ** 60 * 1.0, -0.0]]
    got, want = clean_rows(values), [[clean(v) for v in row] for row in values]
    assert [[(type(v), v) for v in row if v == v] for row in got] == [[(type(v), v) for v in row if v == v]
                                                                         for row in want]
    assert got[0][9] != got[0][9] and want[0][9] != want[0][9]  # nan stays nan
