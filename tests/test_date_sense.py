"""Date sense, driven through the real console script: a Notified at in the future holds its row
back (nothing sent until then, the reason on the Problems sheet and in Status), and a date whose
day and month may have been swapped is warned about with the other reading named."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import openpyxl

from tests.conftest import inspection, write_tracker
from tests.console import cli


def outbox(tmp_path: Path) -> list[Path]:
    box = tmp_path / "outbox"
    return sorted(box.rglob("*.eml")) if box.exists() else []


def problems(path: Path) -> list[dict]:
    ws = openpyxl.load_workbook(path)["Problems"]
    head = [c.value for c in ws[1]]
    return [dict(zip(head, r)) for r in ws.iter_rows(min_row=2, values_only=True) if any(r)]


def cell(path: Path, row: int, header: str):
    ws = openpyxl.load_workbook(path)["Inspections"]
    return ws.cell(row, [c.value for c in ws[1]].index(header) + 1).value


def test_future_notification_sends_nothing_until_then(tmp_path, conf):
    # Recorded in December 2026 for a call "on 12/03/2027": held back, said on the row and the sheet.
    path = write_tracker(tmp_path / "t.xlsx", inspections=[
        inspection(notified=datetime(2027, 3, 12, 12, 5), start=datetime(2027, 3, 13))])
    done = cli("run", path, "--config", conf, "--now", "2026-12-03T11:40", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert outbox(tmp_path) == []
    future = [p for p in problems(path) if p["Column"] == "Notified at" and "in the future" in p["Problem"]]
    assert len(future) == 1 and future[0]["Severity"] == "error" and future[0]["Row"] == 2
    assert "nothing is sent for this inspection until then" in future[0]["Problem"]
    assert cell(path, 2, "Status").startswith("Problem: Notified at")
    assert cell(path, 2, "Inspection ID") in (None, "")

    # Once that time has come, the row goes ahead as any other.
    done = cli("run", path, "--config", conf, "--now", "2027-03-12T12:20", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert outbox(tmp_path), "the contact plan goes once the notification time has passed"
    assert not [p for p in problems(path) if "in the future" in (p["Problem"] or "")]


def test_a_date_typed_without_time_today_is_not_in_the_future(tmp_path, conf):
    # Typed as a date only, this morning: 12:00 is assumed, but the call has happened.
    path = write_tracker(tmp_path / "t.xlsx", inspections=[
        inspection(notified=datetime(2026, 12, 3), start=datetime(2026, 12, 4))])
    done = cli("run", path, "--config", conf, "--now", "2026-12-03T09:30", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert outbox(tmp_path)
    assert not [p for p in problems(path) if "in the future" in (p["Problem"] or "")]


def test_stored_date_far_before_start_names_the_swapped_reading(tmp_path, conf):
    # Typed 12/03/2026 meaning 3 December; UK Excel stored 12 March. The start is right (4 December).
    path = write_tracker(tmp_path / "t.xlsx", inspections=[
        inspection(notified=datetime(2026, 3, 12, 12, 5), start=datetime(2026, 12, 4))])
    done = cli("validate", path, "--config", conf, cwd=tmp_path)
    out = done.stdout
    line = next(x for x in out.splitlines() if "column 'Notified at'" in x and "did you mean" in x)
    assert line.startswith("WARNING") and "did you mean Notified at 3 December 2026?" in line
    assert "Excel stored it as 12 March 2026" in line
    assert "days after Ofsted's notification" not in out  # one warning about the slip, not a second one


def test_new_row_far_from_the_other_new_rows_names_the_other_reading(tmp_path, conf):
    # Both dates typed month first and stored swapped: they fit each other, but not the tracker.
    path = write_tracker(tmp_path / "t.xlsx", inspections=[
        inspection(urn="100002", notified=datetime(2026, 12, 1, 12, 0), start=datetime(2026, 12, 2)),
        inspection(notified=datetime(2026, 3, 12, 12, 5), start=datetime(2026, 3, 12))])
    done = cli("run", path, "--config", conf, "--now", "2026-12-03T11:40", cwd=tmp_path)
    assert done.returncode in (0, 1), done.stderr
    slips = [p for p in problems(path) if p["Column"] == "Notified at" and "did you mean" in (p["Problem"] or "")]
    assert [(p["Row"], p["Severity"]) for p in slips] == [(3, "warning")]
    assert "did you mean 3 December 2026?" in slips[0]["Problem"]
    # The correctly typed row is not doubted.
    assert not [p for p in problems(path) if p["Row"] == 2 and "did you mean" in (p["Problem"] or "")]


def test_text_date_inconsistent_with_its_row_names_the_other_reading(tmp_path, conf):
    # Typed as text, month first: "12/04/2026" read day first is 12 April, before the notification.
    path = write_tracker(tmp_path / "t.xlsx", inspections=[
        inspection(notified=datetime(2026, 12, 3, 12, 5), start="12/04/2026"),
        inspection(urn="100002", notified="11/12/2026 12:00", start="11/13/2026"),
        inspection(urn="100002", notified="01/12/2026 12:05", start="02/12/2026")])
    # Checked as at a day after these notifications (validate flags a Notified at in the future).
    done = cli("validate", path, "--config", conf, "--now", "2026-12-12T13:00", cwd=tmp_path)
    lines = done.stdout.splitlines()
    start = next(x for x in lines if "row 2, column 'Start date'" in x)
    assert "did you mean Start date 4 December 2026?" in start
    assert "The text '12/04/2026' is read day first, as 12 April 2026." in start
    # A text date whose other reading is not a date (a 13th month) is not second-guessed...
    assert not [x for x in lines if "row 3" in x and "did you mean" in x]
    # ...nor one that fits its row (1 and 2 December, however else they could be read).
    assert not [x for x in lines if "row 4" in x and "did you mean" in x]
