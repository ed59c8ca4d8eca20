"""The Graph transport through real msal and requests against a local HTTPS Graph + token stand-in."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
import trustme

from automation.config import parse_config
from automation.errors import ConfigError
from automation.mail.delivery import Policy, deliver
from automation.mail.factory import make_transport
from automation.mail.graph import GraphTransport
from automation.mail.journal import Journal
from tests.standins.graph import CLIENT_ID, CLIENT_SECRET, TENANT, GraphStandIn
from tests.standins.messages import messages

NOW = datetime(2026, 11, 16, 12, 30, tzinfo=timezone.utc)
MAILBOX = "ofsted.support@la.example.org"


@pytest.fixture(scope="module")
def ca(tmp_path_factory):
    ca = trustme.CA()
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    ca.path = str(path)
    return ca


@pytest.fixture
def graph(ca, monkeypatch):
    monkeypatch.setenv("OFSTED_TRACKER_GRAPH_CLIENT_SECRET", CLIENT_SECRET)
    with GraphStandIn(ca) as g:
        yield g


def config(g, ca, **more):
    sec = {"tenant_id": TENANT, "client_id": CLIENT_ID, "authority": g.base, "graph_url": g.graph_url,
           "ca_bundle": ca.path, "rate_per_minute": 0, "confirm_wait_seconds": 1, "confirm_every_seconds": 0.1, **more}
    return parse_config({"mail": {"transport": "graph", "sender": MAILBOX, "graph": sec}}, "test.toml")


def run(msgs, cfg, tmp_path, journal=None, sleeps=None):
    t = make_transport(cfg, tmp_path / "tracker.xlsx")
    journal = journal or Journal(tmp_path / "j.sqlite")
    try:
        return deliver(msgs, t, journal, lambda: NOW, Policy(attempts=3),
                       (sleeps.append if sleeps is not None else lambda s: None)), journal
    finally:
        t.close()


def test_sends_mime_as_the_shared_mailbox_with_an_msal_token(graph, ca, tmp_path):
    msgs = messages(3)
    report, _ = run(msgs, config(graph, ca), tmp_path)
    assert [o.state for o in report.outcomes] == ["sent"] * 3
    assert [m["mime"] for m in graph.state.sent] == [m.as_bytes() for m in msgs]
    assert {m["sender"] for m in graph.state.sent} == {MAILBOX}
    assert graph.state.tokens_issued == 1  # msal caches the token for the batch
    form = graph.state.token_requests[0]
    assert form["grant_type"] == "client_credentials" and form["scope"] == "https://graph.microsoft.com/.default"


@pytest.mark.parametrize("fault", ["throttle", "unavailable"])
def test_429_and_503_honour_retry_after(graph, ca, tmp_path, fault):
    graph.state.faults += [fault, fault]
    t = GraphTransport.from_config(config(graph, ca))
    waits = []
    t.sleep = waits.append
    journal = Journal(tmp_path / "j.sqlite")
    report = deliver(messages(1), t, journal, lambda: NOW, Policy(attempts=3))
    assert report.outcomes[0].state == "sent" and waits == [7.0, 7.0]
    assert len(graph.state.sent) == 1 and journal.get(messages(1)[0].key).attempts == 1


def test_throttling_beyond_max_wait_is_left_for_the_next_try(graph, ca, tmp_path):
    graph.state.faults += ["throttle"] * 3
    graph.state.retry_after = "50"
    t = GraphTransport.from_config(config(graph, ca, max_wait_seconds=60))
    t.sleep = lambda s: None
    sleeps = []
    report = deliver(messages(1), t, Journal(tmp_path / "j.sqlite"), lambda: NOW, Policy(attempts=3), sleeps.append)
    # first try: waited 50 s once, then gave up; deliver backed off as Graph asked and the second try went
    assert report.outcomes[0].state == "sent" and sleeps == [50.0] and len(graph.state.sent) == 1


def test_expired_token_is_refreshed_once(graph, ca, tmp_path):
    graph.state.faults += ["", "expire_token"]
    report, _ = run(messages(3), config(graph, ca), tmp_path)
    assert report.count("sent") == 3 and graph.state.tokens_issued == 2 and len(graph.state.sent) == 3


def test_wrong_client_secret_defers_the_batch_with_a_clear_reason(graph, ca, tmp_path, monkeypatch):
    monkeypatch.setenv("OFSTED_TRACKER_GRAPH_CLIENT_SECRET", "wrong")
    report, _ = run(messages(2), config(graph, ca), tmp_path)
    assert [o.state for o in report.outcomes] == ["waiting", "waiting"]
    assert "AADSTS7000215" in report.outcomes[0].detail and "OFSTED_TRACKER_GRAPH_CLIENT_SECRET" in report.outcomes[0].detail
    assert graph.state.sent == []


def test_invalid_recipient_is_permanent(graph, ca, tmp_path):
    graph.state.faults.append("invalid_recipient")
    report, _ = run(messages(2), config(graph, ca), tmp_path)
    assert [o.state for o in report.outcomes] == ["failed", "sent"]
    assert "ErrorInvalidRecipients" in report.outcomes[0].detail


@pytest.mark.parametrize("fault", ["cut_after_send", "gateway_timeout"])
def test_ambiguous_send_is_confirmed_in_sent_items_not_resent(graph, ca, tmp_path, fault):
    graph.state.faults.append(fault)
    graph.state.visible_after = 0.3
    msgs = messages(2)
    report, _ = run(msgs, config(graph, ca), tmp_path)
    assert [o.state for o in report.outcomes] == ["sent", "sent"]
    assert graph.state.message_ids() == [m.message_id for m in msgs]
    assert any("SentItems" in r for r in graph.state.requests)


def test_pending_after_crash_not_in_sent_items_is_sent(graph, ca, tmp_path):
    msgs = messages(1)
    journal = Journal(tmp_path / "j.sqlite")
    journal.queue(msgs[0], "graph", NOW); journal.handing_over(msgs[0].key, NOW)
    report, _ = run(msgs, config(graph, ca), tmp_path, journal)
    assert report.outcomes[0].state == "sent" and graph.state.message_ids() == [msgs[0].message_id]


def test_untrusted_certificate_is_refused(graph, ca, tmp_path):
    cfg = config(graph, ca, ca_bundle="")
    report, _ = run(messages(1), cfg, tmp_path)
    assert report.outcomes[0].state == "waiting" and graph.state.sent == []


def test_injected_token_provider(graph, ca):
    graph.state.valid_tokens.add("injected")
    t = GraphTransport.from_config(config(graph, ca), token=lambda force: "injected")
    t.send(messages(1)[0])
    assert graph.state.tokens_issued == 0 and len(graph.state.sent) == 1 and t.confirm(messages(1)[0]) is True


def test_missing_tenant_is_a_config_error_naming_file_and_key():
    with pytest.raises(ConfigError, match=r"la.toml: transport 'graph' needs key 'mail.graph.tenant_id'"):
        parse_config({"mail": {"transport": "graph", "graph": {"client_id": CLIENT_ID}}}, "la.toml")
