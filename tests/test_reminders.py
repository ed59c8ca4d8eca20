"""Daily digests (once per working day, after a set time, even when the run is
scheduled every 15 minutes), escalation of long-overdue actions to the CEM, none when
there is nothing to say."""

from __future__ import annotations

from datetime import datetime

import openpyxl
import pytest

from automation.calendar import LONDON
from automation.config import parse_config
from automation.errors import ConfigError
from automation.mail.transport import MemoryTransport
from automation.run import run
from tests.conftest import inspection, write_tracker

IID = "OFS-100001-20261116"  # Acorn (primary, maintained): on site Tue 17 and Wed 18 November 2026


def at(*args):
    return datetime(*args, tzinfo=LONDON)


def go(path, cfg, when):
    t = MemoryTransport()
    run(path, cfg, when, transport=t)
    return t.sent


def of(sent, purpose):
    return [m for m in sent if m.purpose == purpose]


def text(m):
    return m.email.get_body(("plain",)).get_content()


def tick_all(path):
    wb = openpyxl.load_workbook(path)
    ws = wb["Follow-ups"]
    head = [c.value for c in ws[1]]
    for row in ws.iter_rows(min_row=2):
        row[head.index("Done")].value = "Yes"
    wb.save(path)


def test_one_digest_per_officer_per_day_after_send_after(tmp_path, cfg):
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection()])
    go(path, cfg, at(2026, 11, 16, 12, 20))  # the contact plan
    assert of(go(path, cfg, at(2026, 11, 19, 7, 15)), "digest") == []  # before 07:30
    digests = []
    for hh, mm in ((7, 30), (7, 45), (8, 0), (12, 15), (16, 45)):  # scheduled every 15 minutes
        digests += of(go(path, cfg, at(2026, 11, 19, hh, mm)), "digest")
    [d] = digests
    assert d.to == ("sam.imrie@la.example.org",) and d.cc == ()
    body = text(d)
    assert "DUE TODAY" not in body and "COMING UP" in body and "Acorn Primary School" in body
    assert "Complete the feedback form" in body and "due Fri 20/11/2026" in body
    [next_day] = of(go(path, cfg, at(2026, 11, 20, 8, 0)), "digest")
    assert next_day.key != d.key and "DUE TODAY" in text(next_day)
    # The Email log shows each digest once.
    ws = openpyxl.load_workbook(path)["Email log"]
    head = [c.value for c in ws[1]]
    assert [r[head.index("Template")] for r in ws.iter_rows(min_row=2, values_only=True)].count("digest") == 2


def test_no_digest_at_weekends_bank_holidays_or_when_nothing_is_open(tmp_path, cfg):
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection()])
    assert of(go(path, cfg, at(2026, 11, 21, 9, 0)), "digest") == []  # Saturday
    assert of(go(path, cfg, at(2026, 12, 28, 9, 0)), "digest") == []  # Boxing Day (observed)
    tick_all(path)
    assert go(path, cfg, at(2026, 11, 23, 9, 0)) == []  # everything done: nothing to say


def test_digest_sections_and_only_the_officers_own_actions(tmp_path, cfg):
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection(**{"Feedback form completed": datetime(2026, 11, 19)})])
    go(path, cfg, at(2026, 11, 19, 9, 0))
    sent = go(path, cfg, at(2026, 11, 30, 9, 0))  # Monday 30/11: the contact (due 23/11) is overdue
    by_to = {m.to[0]: text(m) for m in of(sent, "digest")}
    assert set(by_to) == {"sam.imrie@la.example.org", "gill.govan@la.example.org"}
    sam, gill = by_to["sam.imrie@la.example.org"], by_to["gill.govan@la.example.org"]
    assert "OVERDUE" in sam and "Follow-up email or call to the headteacher" in sam and "5 working days overdue" in sam
    assert "Complete the feedback form" not in sam  # done: the tracker says the form is completed
    assert "governing board" not in sam and "COMING UP" in gill and "governing board" in gill and "due Thu 03/12/2026" in gill
    html = of(sent, "digest")[0].email.get_body(("html",)).get_content()
    assert "<strong>Done</strong>" in html and "Acorn Primary School" in html


def test_long_overdue_actions_go_once_to_the_cem_for_the_phase(tmp_path, cfg):
    # Beech Academy accepted the LA's support, so its feedback form is the LA's duty too (S0 §7).
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection(), inspection(urn="100002", **{"LA support accepted": "Yes"})])
    go(path, cfg, at(2026, 11, 19, 9, 0))  # listed: feedback forms due Fri 20/11
    assert of(go(path, cfg, at(2026, 11, 26, 9, 0)), "overdue_escalation") == []  # 4 working days late
    sent = go(path, cfg, at(2026, 11, 27, 9, 0))  # 5 working days late
    esc = {m.to[0]: text(m) for m in of(sent, "overdue_escalation")}
    assert set(esc) == {"pat.primrose@la.example.org", "sol.secombe@la.example.org"}  # primary and secondary
    assert "Acorn Primary School" in esc["pat.primrose@la.example.org"] and "Beech" not in esc["pat.primrose@la.example.org"]
    assert "Owner: Sam Imrie" in esc["pat.primrose@la.example.org"] and "5 working days overdue" in esc["pat.primrose@la.example.org"]
    later = go(path, cfg, at(2026, 11, 30, 9, 0))
    again = [text(m) for m in of(later, "overdue_escalation")]
    assert again and all("Complete the feedback form" not in t for t in again)  # each action escalated once
    assert all("Follow-up email or call" in t for t in again)  # newly 5 days late (due Mon 23/11)
    assert len(of(later, "digest")) == 1  # the owner (Sam, for both schools) is still reminded daily


def test_settings_from_config(tmp_path):
    cfg = parse_config({"reminders": {"send_after": "10:00", "lookahead_working_days": 1, "escalate_after_working_days": 2}}, "cfg.toml")
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection()])
    assert of(go(path, cfg, at(2026, 11, 19, 9, 45)), "digest") == []
    [d] = of(go(path, cfg, at(2026, 11, 19, 10, 0)), "digest")
    assert "Complete the feedback form" in text(d) and "Follow-up email" not in text(d)  # Monday is 2 working days away
    assert of(go(path, cfg, at(2026, 11, 24, 10, 30)), "overdue_escalation")  # 2 working days after Fri 20/11
    off = parse_config({"reminders": {"enabled": False}}, "cfg.toml")
    assert of(go(path, off, at(2026, 11, 25, 9, 0)), "digest") == []


@pytest.mark.parametrize("section, words", [({"send_after": "7.30"}, "reminders.send_after"),
                                            ({"lookahead_working_days": "five"}, "reminders.lookahead_working_days")])
def test_bad_reminder_settings_name_the_key(tmp_path, section, words):
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection()])
    with pytest.raises(ConfigError, match=words):
        run(path, parse_config({"reminders": section}, "cfg.toml"), at(2026, 11, 19, 9, 0), transport=MemoryTransport())
