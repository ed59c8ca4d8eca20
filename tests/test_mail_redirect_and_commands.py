"""Test mode (redirect_to) and the mail commands: try the transport, list and settle unconfirmed."""

from __future__ import annotations

import email
import email.policy
from datetime import datetime
from zoneinfo import ZoneInfo

import openpyxl
import pytest
import trustme

from automation.cli import main
from automation.config import load_config
from automation.mail.journal import Journal
from automation.mail.transport import RedirectTransport, MemoryTransport, redirected
from automation.run import journal_path, run
from tests.conftest import inspection, write_tracker
from tests.standins.messages import messages
from tests.standins.smtp import PASSWORD, USER, SmtpStandIn

L = ZoneInfo("Europe/London")
NOW = datetime(2026, 11, 16, 12, 20, tzinfo=L)
TESTER = "tester@la.example.org"


def parse(data: bytes):
    return email.message_from_bytes(data, policy=email.policy.default)


def test_redirected_message_goes_only_to_the_tester_and_says_so():
    m = messages(1)[0]
    r = parse(redirected(m, TESTER).as_bytes())
    assert r["To"] == TESTER and r["Cc"] is None
    assert r["Subject"] == "[TEST] " + m.subject
    assert r["X-Tracker-Original-Recipients"].strip() == ", ".join(m.recipients)
    assert r["Message-ID"] != m.message_id and r["X-Tracker-Key"] == m.key
    assert "TEST MODE" in r.get_body(("plain",)).get_content() and m.to[0] in r.get_body(("plain",)).get_content()
    assert "TEST MODE" in r.get_body(("html",)).get_content()
    assert any(p.get_content_type() == "text/calendar" for p in r.walk())  # the invitation survives
    assert parse(m.as_bytes())["To"] == m.to[0]  # the original is untouched


def test_run_in_test_mode_sends_only_to_the_redirect_and_keeps_a_separate_journal(tmp_path):
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection(notified=datetime(2026, 11, 16, 12, 5))])
    cfg_path = tmp_path / "config.toml"
    cfg_path.write_text(f'[mail]\ntransport = "outbox"\nredirect_to = "{TESTER}"\n')
    cfg = load_config(cfg_path)
    result = run(path, cfg, NOW)
    sent = sorted((tmp_path / "outbox").glob("*.eml"))
    assert result.delivery.count("sent") == len(sent) >= 1
    for f in sent:
        msg = parse(f.read_bytes())
        assert msg["To"] == TESTER and msg["Cc"] is None and msg["Subject"].startswith("[TEST] ")
    assert journal_path(path, cfg).name == "t.test-journal.sqlite" and journal_path(path, cfg).exists()
    real = load_config(None)
    assert not journal_path(path, real).exists()
    wb = openpyxl.load_workbook(path)
    assert not [r for r in wb["Email log"].iter_rows(min_row=2, values_only=True) if any(r)]
    head = [c.value for c in wb["Inspections"][1]]
    row = dict(zip(head, (c.value for c in wb["Inspections"][2])))
    assert row["Contact plan sent"] is None and row["Status"] == "Notified"

    # Test mode off: the real plans go to the real people, once.
    real_sent = MemoryTransport()
    run(path, real, NOW, transport=real_sent)
    assert {m.purpose for m in real_sent.sent if not m.purpose.startswith("contact_plan_call_")} == {
        "contact_plan_internal", "contact_plan_school"}  # and the keep-in-touch calls' meeting requests
    assert TESTER not in {a for m in real_sent.sent for a in m.recipients}
    again = MemoryTransport()
    run(path, real, NOW, transport=again)
    assert again.sent == []


def test_mail_test_command_through_smtp_with_tls_and_auth(tmp_path, monkeypatch, capsys):
    ca = trustme.CA()
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    monkeypatch.setenv("OFSTED_TRACKER_SMTP_PASSWORD", PASSWORD)
    with SmtpStandIn(ca) as server:
        cfg = tmp_path / "config.toml"
        cfg.write_text(f'[mail]\ntransport = "smtp"\nsender = "{USER}"\n'
                       f'[mail.smtp]\nhost = "127.0.0.1"\nport = {server.port}\nusername = "{USER}"\n'
                       f'ca_bundle = "{ca_file}"\n')
        assert main(["mail", "test", "--config", str(cfg), "--to", TESTER]) == 0
        assert "Sent a test message through smtp to tester@la.example.org" in capsys.readouterr().out
        assert server.state.messages[0]["rcpt"] == [TESTER]
        server.state.reject.add(TESTER)
        assert main(["mail", "test", "--config", str(cfg), "--to", TESTER]) == 7
        assert "NOT confirmed sent" in capsys.readouterr().out


def test_mail_test_refuses_a_domain_outside_the_allowed(tmp_path, capsys):
    cfg = tmp_path / "config.toml"
    cfg.write_text('[mail]\nallowed_domains = ["la.example.org"]\n')
    assert main(["mail", "test", "--config", str(cfg), "--to", "someone@elsewhere.example.com",
                 "--outbox-base", str(tmp_path / "t.xlsx")]) == 7
    assert "outside the allowed domains" in capsys.readouterr().out
    assert not (tmp_path / "outbox").exists()


@pytest.fixture
def unconfirmed(tmp_path):
    """A tracker whose journal holds one unconfirmed and one sent message."""
    path = write_tracker(tmp_path / "t.xlsx")
    cfg = load_config(None)
    j = Journal(journal_path(path, cfg))
    a, b = messages(2)
    for m in (a, b):
        j.queue(m, "smtp", NOW)
        j.handing_over(m.key, NOW)
    j.finish(a.key, "unconfirmed", NOW, "connection cut after DATA")
    j.finish(b.key, "sent", NOW)
    j.close()
    return path, cfg, a, b


def test_unsettled_lists_what_an_officer_must_decide(unconfirmed, capsys):
    path, _, a, b = unconfirmed
    assert main(["mail", "unsettled", str(path)]) == 1  # an officer must decide: a script can tell
    out = capsys.readouterr().out
    assert a.message_id in out and b.message_id not in out and "1 unconfirmed" in out


@pytest.mark.parametrize("decision,state", [("--sent", "sent"), ("--resend", "waiting")])
def test_settle_records_the_officers_decision(unconfirmed, capsys, decision, state):
    path, cfg, a, _ = unconfirmed
    assert main(["mail", "settle", str(path), a.message_id, decision]) == 0
    rec = Journal(journal_path(path, cfg)).get(a.key)
    assert rec.state == state and "officer" in rec.detail
    assert a.message_id in capsys.readouterr().out


def test_resend_decision_makes_the_next_delivery_send_it(unconfirmed):
    from automation.mail.delivery import deliver

    path, cfg, a, b = unconfirmed
    assert main(["mail", "settle", str(path), a.key, "--resend"]) == 0
    t = MemoryTransport()
    j = Journal(journal_path(path, cfg))
    report = deliver([a, b], t, j, lambda: NOW)
    assert [o.state for o in report.outcomes] == ["sent", "already"] and [m.key for m in t.sent] == [a.key]


def test_settle_unknown_message_says_where_to_find_the_id(unconfirmed, capsys):
    path, *_ = unconfirmed
    assert main(["mail", "settle", str(path), "<nope@la.example.org>", "--sent"]) == 2
    assert "Email log" in capsys.readouterr().err


def test_redirect_transport_wraps_and_confirms_with_the_test_id():
    inner = MemoryTransport()
    t = RedirectTransport(inner, TESTER)
    m = messages(1)[0]
    t.send(m)
    assert inner.sent[0].to == (TESTER,) and t.confirm(m) is True and "test mode" in t.name
