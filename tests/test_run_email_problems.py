"""An undelivered email is shown on the inspection's row and the Problems sheet, with what
to do, until a message for the same purpose gets through (recorded on the row)."""

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
    # The school's plan and its two meeting requests were refused; the officers' requests went.
    assert row["Status"].startswith("Problem: contact plan") and row["Status"].endswith("email failed — see Email log")
    problems = [p for p in _sheet(path, "Problems") if p["Sheet"] == "Inspections"]
    assert len(problems) == 3 and all("550 5.1.1" in p["Problem"] for p in problems)
    assert any("contact plan school email" in p["Problem"] for p in problems)
    assert all("correct the address" in p["What to do"] for p in problems)
    assert [m.purpose for m in first.sent] == ["contact_plan_internal", "contact_plan_call_la_day1", "contact_plan_call_la_day2"]

    # The admin corrects the headteacher's address: the next run sends the plan and the problem clears.
    wb = openpyxl.load_workbook(path)
    ws = wb["Schools"]
    col = [c.value for c in ws[1]].index("Headteacher email") + 1
    ws.cell(2, col, "ann.acre@acorn.school.example.org")
    wb.save(path)
    second = RefusesSchool("head@acorn.school.example.org")
    run(path, cfg, datetime(2026, 11, 16, 13, 0, tzinfo=LONDON), transport=second)
    assert {m.to for m in second.sent} == {("ann.acre@acorn.school.example.org",)}
    assert sorted(m.purpose for m in second.sent) == ["contact_plan_call_school_day1", "contact_plan_call_school_day2",
                                                      "contact_plan_school"]
    assert _sheet(path, "Inspections")[0]["Status"] == "Plan sent"
    assert not [p for p in _sheet(path, "Problems") if p["Sheet"] == "Inspections"]


def test_blocked_recipient_outside_allowed_domains_is_reported(tmp_path):
    from automation.config import parse_config

    cfg = parse_config({"mail": {"allowed_domains": ["la.example.org"]}}, "test")
    path = write_tracker(tmp_path / "t.xlsx", schools=SCHOOLS, inspections=[inspection()])
    sent = MemoryTransport()
    run(path, cfg, datetime(2026, 11, 16, 12, 20, tzinfo=LONDON), transport=sent)
    assert [m.purpose for m in sent.sent] == ["contact_plan_internal", "contact_plan_call_la_day1", "contact_plan_call_la_day2"]
    problems = [p for p in _sheet(path, "Problems") if p["Sheet"] == "Inspections"]
    assert "blocked" in problems[0]["Problem"] and "allowed_domains" in problems[0]["What to do"]


def test_blocked_message_goes_once_the_domain_is_allowed(tmp_path):
    """Blocked is not for ever: each run checks again against the current allowed domains,
    and an allowed parent domain covers the schools' subdomains."""
    from automation.config import parse_config

    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection()])
    now = datetime(2026, 11, 16, 12, 20, tzinfo=LONDON)
    narrow = parse_config({"mail": {"allowed_domains": ["la.example.org"]}}, "test")
    run(path, narrow, now, transport=MemoryTransport())
    wider = parse_config({"mail": {"allowed_domains": ["la.example.org", "school.example.org"]}}, "test")
    later = MemoryTransport()
    run(path, wider, datetime(2026, 11, 16, 12, 40, tzinfo=LONDON), transport=later)
    assert [(m.purpose, m.to) for m in later.sent] == [(p, ("head@acorn.school.example.org",)) for p in (
        "contact_plan_school", "contact_plan_call_school_day1", "contact_plan_call_school_day2")]
    assert not [p for p in _sheet(path, "Problems") if p["Sheet"] == "Inspections"]
    assert _sheet(path, "Inspections")[0]["Status"] == "Plan sent"


def test_a_moved_tracker_does_not_resend_what_its_email_log_shows_as_sent(tmp_path, cfg):
    """The journal lives beside the workbook: copying the tracker elsewhere starts a new one.
    The Email log then stands in for it, so nothing already sent goes again."""
    first_dir, second_dir = tmp_path / "a", tmp_path / "b"
    first_dir.mkdir(), second_dir.mkdir()
    path = write_tracker(first_dir / "t.xlsx", inspections=[inspection(
        **{"Concerns raised": "Yes", "Concern notes": "Head upset after lesson visits."})])
    now = datetime(2026, 11, 17, 13, 0, tzinfo=LONDON)
    sent = MemoryTransport()
    run(path, cfg, now, transport=sent)
    assert "concern_escalation" in {m.purpose for m in sent.sent}
    moved = second_dir / "renamed.xlsx"
    moved.write_bytes(path.read_bytes())
    again = MemoryTransport()
    result = run(moved, cfg, now, transport=again)
    assert again.sent == []
    assert any("send journal is new" in n for n in result.notes)
