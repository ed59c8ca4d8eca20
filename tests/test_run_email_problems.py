"""An undelivered email is shown on the inspection's row and the Problems sheet, with what
to do, until a message for the same purpose gets through (issue 4: recorded on the row)."""

from __future__ import annotations

from datetime import datetime

import openpyxl

from automation.calendar import LONDON
from automation.mail.transport import MemoryTransport, PermanentSendError
from automation.run import run
from tests.conftest import SCHOOLS, inspection, write_tracker


class RefusesSchool(MemoryTransport):
    """Accepts everything except mail to one address, as a server refusing a recipient does."""

    def __init__(self, refused: str):
        super().__init__()
        self.refused = refused

    def send(self, message):
        if self.refused in message.recipients:
            raise PermanentSendError(f"550 5.1.1 <{self.refused}>: Recipient address rejected")
        super().send(message)


def _sheet(path, name):
    ws = openpyxl.load_workbook(path)[name]
    head = [c.value for c in ws[1]]
    return [dict(zip(head, (c.value for c in row))) for row in ws.iter_rows(min_row=2) if any(c.value for c in row)]


def test_refused_school_address_shows_on_the_row_until_corrected(tmp_path, cfg):
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection()])
    now = datetime(2026, 11, 16, 12, 20, tzinfo=LONDON)
    first = RefusesSchool("head@acorn.school.example.org")
    run(path, cfg, now, transport=first)
    row = _sheet(path, "Inspections")[0]
    assert row["Status"] == "Problem: contact plan school email failed — see Email log"
    problems = [p for p in _sheet(path, "Problems") if p["Sheet"] == "Inspections"]
    assert len(problems) == 1 and "550 5.1.1" in problems[0]["Problem"]
    assert "correct the address" in problems[0]["What to do"]
    assert [m.purpose for m in first.sent] == ["contact_plan_internal"]

    # The admin corrects the headteacher's address: the next run sends the plan and the problem clears.
    wb = openpyxl.load_workbook(path)
    ws = wb["Schools"]
    col = [c.value for c in ws[1]].index("Headteacher email") + 1
    ws.cell(2, col, "ann.acre@acorn.school.example.org")
    wb.save(path)
    second = RefusesSchool("head@acorn.school.example.org")
    run(path, cfg, datetime(2026, 11, 16, 13, 0, tzinfo=LONDON), transport=second)
    assert [m.to for m in second.sent] == [("ann.acre@acorn.school.example.org",)]
    assert _sheet(path, "Inspections")[0]["Status"] == "Plan sent"
    assert not [p for p in _sheet(path, "Problems") if p["Sheet"] == "Inspections"]


def test_blocked_recipient_outside_allowed_domains_is_reported(tmp_path):
    from automation.config import parse_config

    cfg = parse_config({"mail": {"allowed_domains": ["la.example.org"]}}, "test")
    path = write_tracker(tmp_path / "t.xlsx", schools=SCHOOLS, inspections=[inspection()])
    sent = MemoryTransport()
    run(path, cfg, datetime(2026, 11, 16, 12, 20, tzinfo=LONDON), transport=sent)
    assert [m.purpose for m in sent.sent] == ["contact_plan_internal"]
    problems = [p for p in _sheet(path, "Problems") if p["Sheet"] == "Inspections"]
    assert "blocked" in problems[0]["Problem"] and "allowed_domains" in problems[0]["What to do"]
