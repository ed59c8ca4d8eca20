"""Status continues after the inspection — Awaiting report -> Follow-up -> Closed,
derived on every run (never stored), and the run prints its stages in order."""

from __future__ import annotations

from datetime import datetime

import openpyxl

from automation.calendar import LONDON
from automation.cli import main
from automation.mail.transport import MemoryTransport
from automation.run import run
from tests.conftest import inspection, write_tracker


def at(*args):
    return datetime(*args, tzinfo=LONDON)


def status(path, row=2):
    ws = openpyxl.load_workbook(path)["Inspections"]
    head = [c.value for c in ws[1]]
    return ws.cell(row, head.index("Status") + 1).value


def edit(path, sheet, match, **values):
    wb = openpyxl.load_workbook(path)
    ws = wb[sheet]
    head = [c.value for c in ws[1]]
    for row in ws.iter_rows(min_row=2):
        if match(dict(zip(head, (c.value for c in row)))):
            for h, v in values.items():
                row[head.index(h)].value = v
    wb.save(path)


def test_awaiting_report_follow_up_closed(tmp_path, cfg):
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection()])
    seen = []
    for when in (at(2026, 11, 16, 12, 20), at(2026, 11, 18, 9, 0), at(2026, 11, 19, 9, 0)):
        run(path, cfg, when, transport=MemoryTransport())
        seen.append(status(path))
    assert seen == ["Plan sent", "In inspection", "Awaiting report"]
    edit(path, "Inspections", lambda r: True, **{"Report published": datetime(2026, 12, 10), "Feedback form completed": datetime(2026, 11, 19)})
    run(path, cfg, at(2026, 12, 11, 9, 0), transport=MemoryTransport())
    assert status(path) == "Follow-up"  # published, actions still open
    edit(path, "Follow-ups", lambda r: r["State"] == "Open", Done=datetime(2026, 12, 11))
    run(path, cfg, at(2026, 12, 11, 9, 15), transport=MemoryTransport())
    assert status(path) == "Closed"  # every action done or no longer needed
    # Derived, not stored: reopening an action reopens the inspection.
    edit(path, "Follow-ups", lambda r: r["Key"].endswith(":governors_support"), Done=None)
    run(path, cfg, at(2026, 12, 11, 9, 30), transport=MemoryTransport())
    assert status(path) == "Follow-up"


def test_an_old_inspection_recorded_after_the_event_is_not_left_as_notified(tmp_path, cfg):
    path = write_tracker(tmp_path / "t.xlsx", inspections=[
        inspection(notified=datetime(2026, 5, 11, 10, 0), start=datetime(2026, 5, 12), **{"Report published": datetime(2026, 6, 20)}),
        inspection(urn="100002", notified=datetime(2026, 10, 12, 10, 0), start=datetime(2026, 10, 13))])
    run(path, cfg, at(2026, 11, 19, 9, 0), transport=MemoryTransport())
    assert status(path, 2) == "Closed"  # history: nothing open (its old actions are marked Past)
    assert status(path, 3) == "Awaiting report"


def test_run_prints_its_stages_in_order(tmp_path, capsys):
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection(), inspection(urn="100002", **{"Concerns raised": "Yes"})])
    assert main(["run", str(path), "--now", "2026-11-16T12:20"]) == 0
    out = capsys.readouterr().out.splitlines()
    stages = [line.split(":")[0].strip() for line in out if line[:3].strip().isdigit()]
    assert stages == ["1 Check", "2 Detect", "3 Contact plans", "4 Concerns", "5 Feedback forms", "6 Follow-ups", "7 Reminders"]
    line = {s.split(":")[0].strip(): s for s in out}
    assert "2 new inspections" in line["2 Detect"] and "contact plan school x2" in line["3 Contact plans"]
    assert "concern escalation x1" in line["4 Concerns"]
    # Concerns bring next-working-day actions (AI's welfare call, SIM's decision about calling Ofsted):
    # both officers get a digest at once, not only after the inspection.
    assert "digest x2" in line["7 Reminders"]
    assert main(["run", str(path), "--now", "2026-11-19T09:00"]) == 0
    out = capsys.readouterr().out
    assert "6 Follow-ups:     " in out and "digest x2" in out  # the AI's welfare call as well as the SIM's actions
