"""Every ribbon action through the counting xlwings double, on real trackers' data:
what it sends and writes, what the officer is told, the exactly-once guarantee with
the scheduled run, and Excel round trips that do not grow with the tracker."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest
from conftest import inspection, write_tracker
from test_xlstore import big_tracker
from test_xlstore_double import FakeBook

from automation.addin import excel
from automation.addin.build import ADDIN_NAME
from automation.addin.excel import perform, show
from automation.addin.registry import ACTIONS
from automation.calendar import LONDON
from automation.mail.transport import MemoryTransport
from automation.run import journal_path, run, run_lock
from automation.steps import concerns, contact_plan

NOW = datetime(2026, 11, 16, 13, 5, tzinfo=LONDON)
ACORN, BEECH = 2, 3  # rows on the Inspections sheet


@pytest.fixture
def tracker(tmp_path):
    return write_tracker(tmp_path / "tracker.xlsx", inspections=[
        inspection(),
        inspection(urn="100002", itype="Monitoring", notified=datetime(2026, 11, 16, 9, 0), start=datetime(2026, 11, 18)),
    ])


@pytest.fixture
def book(tracker):
    return FakeBook.from_file(tracker)


def click(book, tag, cfg, transport=None, row=None, now=NOW, addin=ADDIN_NAME, **kw):
    """A button click as the add-in's dispatcher makes it (passing the add-in's name)."""
    if row:
        book.select("Inspections", row)
    return perform(tag, book, now, cfg, transport if transport is not None else MemoryTransport(), addin=addin, **kw)


def inspections(book):
    return book.by_name["Inspections"]


def test_send_contact_plan_sends_only_the_selected_inspections_plan(book, cfg):
    t = MemoryTransport()
    out = click(book, "send_plan", cfg, t, row=BEECH)
    assert not out.attention, out.lines
    assert t.sent and {m.inspection_id for m in t.sent} == {inspections(book).value_at(BEECH, "Inspection ID")}
    assert {m.purpose for m in t.sent} <= {contact_plan.INTERNAL, contact_plan.SCHOOL, contact_plan.DEFERRAL}
    assert any("head@" in a or "office@beech" in a for m in t.sent for a in m.recipients)
    # the tracker shows it, for every row, and the officer is told in plain words
    assert inspections(book).value_at(BEECH, "Contact plan sent") is not None
    assert inspections(book).value_at(ACORN, "Contact plan sent") is None
    # a click about one row leaves the other schools' rows to the scheduled run
    assert inspections(book).value_at(ACORN, "Inspection ID") is None
    assert any("Traceback" not in line for line in out.lines) and "\n".join(out.lines).count("@") >= 1
    # a second click sends nothing again
    t2 = MemoryTransport()
    again = click(book, "send_plan", cfg, t2, row=BEECH)
    assert t2.sent == [] and "already sent or not due" in again.text()


def test_record_concern_sets_the_flag_and_escalates_once(book, cfg):
    t = MemoryTransport()
    out = click(book, "record_concern", cfg, t, row=ACORN)
    assert inspections(book).value_at(ACORN, "Concerns raised") == "Yes"
    assert [m.purpose for m in t.sent] == [concerns.PURPOSE]
    recipients = t.sent[0].recipients
    assert {"sam.imrie@la.example.org", "alex.inchley@la.example.org", "pat.primrose@la.example.org"} <= set(recipients)
    assert "Concerns raised set to Yes" in out.text() and "Concern notes" in out.text()
    t2 = MemoryTransport()
    again = click(book, "record_concern", cfg, t2, row=ACORN)
    assert t2.sent == [] and "already sent" in again.text()


def test_preview_sends_and_writes_nothing(book, cfg, tracker):
    t = MemoryTransport()
    out = click(book, "preview", cfg, t)
    assert t.sent == [] and book.writes() == 0
    assert not journal_path(tracker, cfg).exists()
    previews = list((tracker.parent / ".ofsted-tracker" / "previews").glob("*.eml"))
    assert len(previews) >= 4 and "saved to read first" in out.text()
    assert "Would send" in out.text() or "would" in out.text().lower()


def test_compile_follow_ups_writes_the_sheet_and_sends_nothing(tmp_path, cfg):
    ended = inspection(notified=datetime(2026, 10, 5, 10, 0), start=datetime(2026, 10, 6),
                       **{"Final feedback at": datetime(2026, 10, 7, 15, 0), "Safeguarding": "Met"})
    path = write_tracker(tmp_path / "tracker.xlsx", inspections=[ended])
    book = FakeBook.from_file(path)
    t = MemoryTransport()
    out = click(book, "compile_followups", cfg, t)
    assert t.sent == []
    fu = book.by_name["Follow-ups"].cells
    rows = {r for r, _ in fu if r > 1}
    assert rows and f"{len(rows)} action(s)" in out.text()
    # an officer's Done is kept when compiling again
    done_col = next(c for (r, c), v in fu.items() if r == 1 and v == "Done")
    fu[(min(rows), done_col)] = "Yes"
    click(book, "compile_followups", cfg, MemoryTransport())
    assert fu[(min(rows), done_col)] == "Yes"


def test_learning_review_writes_the_checklist(book, cfg, tracker):
    out = click(book, "learning_review", cfg, row=ACORN)
    assert not out.attention, out.lines
    assert "Checklist written to" in out.text()
    path = out.text().split("Checklist written to ", 1)[1].strip()
    assert path.endswith(".xlsx") and Path(path).is_file()
    again = click(book, "learning_review", cfg, row=ACORN)
    assert "already exists" in again.text()


def test_validate_lists_problems_on_the_problems_sheet(tmp_path, cfg):
    path = write_tracker(tmp_path / "tracker.xlsx", inspections=[inspection(urn="999999"), inspection(urn="100002")])
    book = FakeBook.from_file(path)
    out = click(book, "validate", cfg)
    assert out.attention and "1 error(s)" in out.text()
    assert "sheet 'Inspections', row 2" in out.text()
    problems = book.by_name["Problems"].cells
    assert any(v == "999999" for v in problems.values())


def test_run_now_sends_what_is_due_and_updates_the_tracker(book, cfg):
    t = MemoryTransport()
    out = click(book, "run_now", cfg, t)
    assert len({m.inspection_id for m in t.sent}) == 2
    log = book.by_name["Email log"].cells
    assert len({r for r, _ in log if r > 1}) == len(t.sent)
    assert not out.attention and "Tracker" in out.text()


# --- exactly once: a click and the scheduled run share the journal and the run lock ---

def test_scheduled_run_then_click_sends_nothing_twice(tracker, cfg):
    book = FakeBook.from_file(tracker)  # open in Excel before the scheduled run
    scheduled = MemoryTransport()
    run(tracker, cfg, NOW, transport=scheduled)
    assert scheduled.sent
    clicked = MemoryTransport()
    for tag, row in (("send_plan", ACORN), ("send_plan", BEECH), ("run_now", None)):
        out = click(book, tag, cfg, clicked, row=row)
        assert not out.attention, out.lines
    assert clicked.sent == []
    # the open workbook still gets the log of what the scheduled run sent
    assert len({r for r, _ in book.by_name["Email log"].cells if r > 1}) == len(scheduled.sent)


def test_click_then_scheduled_run_sends_nothing_twice(tracker, cfg):
    book = FakeBook.from_file(tracker)
    clicked = MemoryTransport()
    click(book, "send_plan", cfg, clicked, row=ACORN)
    click(book, "run_now", cfg, clicked)
    scheduled = MemoryTransport()
    result = run(tracker, cfg, NOW, transport=scheduled)
    assert clicked.sent and scheduled.sent == [] and result.messages == []
    ids = [m.message_id for m in clicked.sent]
    assert len(ids) == len(set(ids))


def test_a_click_during_the_scheduled_run_waits_its_turn(book, tracker, cfg):
    t = MemoryTransport()
    with run_lock(tracker, cfg):
        out = click(book, "run_now", cfg, t, lock_timeout=0.2)
    assert t.sent == [] and out.attention
    assert "in progress" in out.text() and "try again" in out.text()
    assert book.writes() == 0


# --- what the officer is told when something is wrong ---

def test_a_never_saved_workbook(book, cfg):
    book._fullname = "Book1"
    out = click(book, "run_now", cfg)
    assert out.attention and "has not been saved yet" in out.text()


def test_selection_not_on_inspections(book, cfg):
    book.select("Schools", 2)
    out = perform("send_plan", book, NOW, cfg, MemoryTransport(), addin=ADDIN_NAME)
    assert out.attention and "Select the inspection's row on the Inspections sheet" in out.text()


def test_selected_row_that_is_not_an_inspection(book, cfg):
    t = MemoryTransport()
    out = click(book, "send_plan", cfg, t, row=40)
    assert t.sent == [] and out.attention and "Row 40" in out.text()


def test_selected_row_with_an_error_says_what_to_fix(tmp_path, cfg):
    path = write_tracker(tmp_path / "tracker.xlsx", inspections=[inspection(urn="999999")])
    book = FakeBook.from_file(path)
    t = MemoryTransport()
    out = click(book, "send_plan", cfg, t, row=2)
    assert t.sent == [] and out.attention and "Row 2 has a problem" in out.text()


def test_unknown_button(book, cfg):
    out = perform("launch_rockets", book, NOW, cfg)
    assert out.attention and "not known" in out.text()


def test_a_fault_is_logged_for_it_and_the_officer_gets_words(book, cfg, tmp_path, monkeypatch):
    monkeypatch.setattr(excel, "USER_DIR", tmp_path / "user")

    def broken(session):
        raise RuntimeError("boom: internal detail")
    monkeypatch.setitem(excel.BY_ID, "run_now", replace(excel.BY_ID["run_now"], function=broken))
    out = click(book, "run_now", cfg)
    assert out.attention and "fault in the add-in" in out.text()
    assert "boom" not in out.text() and "Traceback" not in out.text()
    log = (tmp_path / "user" / "addin-faults.log").read_text()
    assert "RuntimeError: boom" in log


def test_show_puts_the_outcome_in_a_message_box(book, cfg):
    out = click(book, "validate", cfg)
    show(book, out)
    alert = book.app.alerts[-1]
    assert alert["title"] == "Validate tracker" and alert["mode"] == "info" and "inspections read" in alert["prompt"]
    # the dispatcher gives the status bar back after RunPython returns: no call for it here
    assert "app.status_bar set" not in book.xl.calls


def test_main_is_the_entry_point_runpython_calls(book, cfg, monkeypatch, tmp_path):
    xlwings = pytest.importorskip("xlwings")
    monkeypatch.setattr(xlwings.Book, "caller", classmethod(lambda cls: book))
    monkeypatch.setenv("OFSTED_TRACKER_CONFIG", str(tmp_path / "none.toml"))  # absent: next candidates
    (tmp_path / "config.toml").write_text('[la]\nname = "Example County Council"\n[mail]\ntransport = "outbox"\n')
    excel.main("validate", ADDIN_NAME)  # as the dispatcher calls it
    alert = book.app.alerts[-1]
    assert alert["title"] == "Validate tracker" and "older" not in alert["prompt"]
    excel.main("validate")  # as an older add-in's dispatcher calls it
    assert "ask IT to rebuild and reinstall the add-in" in book.app.alerts[-1]["prompt"]


# --- Excel round trips: through the add-in's bulk macros, a few calls whatever the size ---

@pytest.fixture(scope="module")
def books(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sizes")
    out = {}
    for n in (10, 2_000, 10_000):
        path = big_tracker(folder / f"tracker{n}.xlsx", n)
        out[n] = (path, FakeBook.from_file(path))
    return out


def calls_for(action, n, books, cfg, folder, addin=ADDIN_NAME, with_message_box=False):
    """Every call to Excel one click makes, on a fresh copy of the n-row tracker."""
    path, template = books[n]
    (folder / f"{n}-{bool(addin)}").mkdir()
    book = template.copy(str(folder / f"{n}-{bool(addin)}" / path.name))  # own folder: own journal
    out = click(book, action, cfg, MemoryTransport(), row=2, addin=addin)
    assert "something went wrong" not in out.title, out.lines
    assert not out.note if addin else "older than ofsted-tracker" in out.note
    if with_message_box:
        show(book, out)
    return dict(book.xl.calls)


# Every action at 10 and 10,000 rows, the message box included: at most 6 calls to Excel
# (finding Excel's application once, one bulk read, at most two bulk writes, the message box).
# xlwings' own Book.caller() before the action is not part of the double and not counted.
@pytest.mark.slow
@pytest.mark.parametrize("action", [a.id for a in ACTIONS])
def test_every_action_makes_at_most_6_round_trips_at_10_and_10000_rows(action, books, cfg, tmp_path):
    small = calls_for(action, 10, books, cfg, tmp_path, with_message_box=True)
    large = calls_for(action, 10_000, books, cfg, tmp_path, with_message_box=True)
    assert small == large
    assert sum(large.values()) <= 6, large
    assert large["macro()"] <= 3 and large["app.alert"] == 1
    assert set(large) == {"book.app", "macro()", "app.alert"}  # nothing else: no per-sheet or per-cell call


# An older add-in (no bulk macros): xlwings sheet by sheet, still constant in the size.
@pytest.mark.slow
@pytest.mark.parametrize("action", [a.id for a in ACTIONS])
def test_the_slower_way_does_not_grow_with_the_tracker_either(action, books, cfg, tmp_path):
    small = calls_for(action, 10, books, cfg, tmp_path, addin=None)
    large = calls_for(action, 2_000, books, cfg, tmp_path, addin=None)
    assert small == large
    assert large.get("range.value get", 0) <= 8  # one bulk read per contract sheet, at most
    # A few blocks, never a cell at a time: one per run of adjacent tool columns (the School
    # column stands apart from Inspection ID / Status / Contact plan sent) and per tool sheet.
    assert large.get("range.value set", 0) <= 8


def test_an_older_addin_is_tried_once_per_click_and_the_officer_is_told(tracker, cfg):
    book = FakeBook.from_file(tracker, addin=False)
    t = MemoryTransport()
    out = click(book, "run_now", cfg, t)
    assert t.sent and book.xl.calls["macro()"] == 1
    assert out.text().endswith(out.note) and "ask IT to rebuild and reinstall the add-in" in out.note


def test_a_protected_sheet_is_explained_and_nothing_is_sent_twice(tracker, cfg):
    book = FakeBook.from_file(tracker)
    book.protected.add("Inspections")
    t = MemoryTransport()
    out = click(book, "run_now", cfg, t)
    assert t.sent and out.attention
    assert "protected sheet" in out.text() and "Unprotect Sheet" in out.text()
    book.protected.clear()
    again = MemoryTransport()
    out = click(book, "run_now", cfg, again)
    assert again.sent == [] and not out.attention
    assert inspections(book).value_at(ACORN, "Contact plan sent") is not None
