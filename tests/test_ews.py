"""The EWS transport through the real exchangelib stack against a local EWS stand-in."""

from __future__ import annotations

import base64
import socket
from datetime import datetime, timezone

import pytest

from automation.config import parse_config
from automation.mail.delivery import Policy, deliver
from automation.mail.ews import EwsTransport
from automation.mail.factory import make_transport
from automation.mail.journal import Journal
from tests.standins.ews import EwsStandIn
from tests.standins.messages import messages

NOW = datetime(2026, 11, 16, 12, 30, tzinfo=timezone.utc)
USER = "svc-ofsted@la.example.org"


def config(url, **more):
    ews = {"endpoint": url, "auth": "basic", "username": USER, "server_version": "15.1",
           "max_wait_seconds": 5, "confirm_wait_seconds": 1, "confirm_every_seconds": 0.1, **more}
    return parse_config({"mail": {"transport": "ews", "sender": "ofsted.support@la.example.org", "ews": ews}}, "test.toml")


@pytest.fixture
def ews(monkeypatch):
    monkeypatch.setenv("OFSTED_TRACKER_EWS_PASSWORD", "pw-from-env")
    with EwsStandIn() as s:
        yield s


def run(msgs, cfg, tmp_path, journal=None):
    t = make_transport(cfg, tmp_path / "tracker.xlsx")
    journal = journal or Journal(tmp_path / "j.sqlite")
    try:
        return deliver(msgs, t, journal, lambda: NOW, Policy(attempts=3, backoff_seconds=0)), journal
    finally:
        t.close()


def test_sends_the_same_mime_bytes_and_saves_to_sent_items(ews, tmp_path):
    msgs = messages(3)
    report, journal = run(msgs, config(ews.url), tmp_path)
    assert [o.state for o in report.outcomes] == ["sent"] * 3
    assert [m["mime"] for m in ews.state.sent] == [m.as_bytes() for m in msgs]  # html, text and .ics intact
    assert ews.state.auth[-1] == "Basic " + base64.b64encode(f"{USER}:pw-from-env".encode()).decode()
    assert ews.state.requests.count("CreateItem") == 3


def test_throttling_is_retried_by_exchangelib_and_sent_once(ews, tmp_path):
    ews.state.faults += ["busy", "busy"]
    report, _ = run(messages(1), config(ews.url), tmp_path)
    assert report.outcomes[0].state == "sent"
    assert ews.state.requests.count("CreateItem") == 3 and len(ews.state.sent) == 1


def test_invalid_recipient_is_permanent_with_exchanges_words(ews, tmp_path):
    ews.state.faults.append("invalid_recipient")
    report, journal = run(messages(2), config(ews.url), tmp_path)
    assert [o.state for o in report.outcomes] == ["failed", "sent"]
    assert "ErrorInvalidRecipients" in report.outcomes[0].detail and "isn't valid" in report.outcomes[0].detail
    assert journal.get(messages(2)[0].key).attempts == 1


def test_cut_after_send_is_confirmed_in_sent_items_not_resent(ews, tmp_path):
    ews.state.faults.append("cut_after_send")
    ews.state.visible_after = 0.3  # Sent Items lags behind the send
    msgs = messages(2)
    report, journal = run(msgs, config(ews.url), tmp_path)
    assert [o.state for o in report.outcomes] == ["sent", "sent"]
    assert ews.state.message_ids() == [m.message_id for m in msgs]
    assert "FindItem" in ews.state.requests


def test_after_a_crash_pending_messages_are_looked_up_before_resending(ews, tmp_path):
    msgs = messages(2)
    journal = Journal(tmp_path / "j.sqlite")
    for m in msgs:  # a crash left both being handed over; only the first had reached Exchange
        journal.queue(m, "ews", NOW); journal.handing_over(m.key, NOW)
    t = make_transport(config(ews.url), tmp_path / "t.xlsx")
    t.send(msgs[0])
    t.close()
    report, _ = run(msgs, config(ews.url), tmp_path, journal)
    assert [o.state for o in report.outcomes] == ["sent", "sent"]
    assert "confirmed" in report.outcomes[0].detail
    assert ews.state.message_ids() == [m.message_id for m in msgs]  # each exactly once


def test_unreachable_server_defers_the_batch(monkeypatch, tmp_path):
    monkeypatch.setenv("OFSTED_TRACKER_EWS_PASSWORD", "pw")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    report, journal = run(messages(3), config(f"http://127.0.0.1:{port}/EWS/Exchange.asmx"), tmp_path)
    assert [o.state for o in report.outcomes] == ["waiting"] * 3
    assert "cannot reach" in report.outcomes[0].detail


def test_wrong_password_is_reported_and_nothing_sent(ews, tmp_path):
    ews.state.require_auth = "Basic " + base64.b64encode(f"{USER}:right".encode()).decode()
    report, _ = run(messages(2), config(ews.url, max_wait_seconds=1), tmp_path)
    assert [o.state for o in report.outcomes] == ["waiting"] * 2
    assert "wrong password" in report.outcomes[0].detail and ews.state.sent == []


def test_missing_password_names_the_environment_variable(monkeypatch, tmp_path):
    monkeypatch.delenv("OFSTED_TRACKER_EWS_PASSWORD", raising=False)
    monkeypatch.setattr("keyring.get_password", lambda *a: None)
    from automation.errors import ConfigError

    t = EwsTransport.from_config(config("http://127.0.0.1:9/EWS/Exchange.asmx"))
    with pytest.raises(ConfigError, match="OFSTED_TRACKER_EWS_PASSWORD"):
        t.send(messages(1)[0])
