"""The SMTP transport against a real aiosmtpd server on 127.0.0.1 with TLS, AUTH and faults."""

from __future__ import annotations

import email
import email.policy
import ssl
from datetime import datetime, timezone

import pytest
import trustme

from automation.mail.delivery import Policy, deliver
from automation.mail.journal import Journal
from automation.mail.smtp import SmtpTransport
from automation.mail.transport import (AmbiguousSendError, PermanentSendError, RateLimiter,
                                       TransientSendError, TransportDown)
from tests.standins.messages import messages
from tests.standins.smtp import PASSWORD, USER, SmtpStandIn

NOW = datetime(2026, 11, 16, 12, 30, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def ca():
    return trustme.CA()


def client_ctx(ca):
    ctx = ssl.create_default_context()
    ca.configure_trust(ctx)
    return ctx


def transport(ca, server, security="starttls", password=PASSWORD, **kw):
    return SmtpTransport("127.0.0.1", server.port, USER, security, USER, password,
                         timeout=5, rate_per_minute=0, ssl_context=client_ctx(ca), **kw)


@pytest.fixture
def server(ca):
    with SmtpStandIn(ca) as s:
        yield s


def run(msgs, t, tmp_path):
    journal = Journal(tmp_path / "j.sqlite")
    try:
        return deliver(msgs, t, journal, lambda: NOW, Policy(attempts=3)), journal
    finally:
        t.close()


def test_batch_over_starttls_with_auth_uses_one_connection_and_keeps_bytes(ca, server, tmp_path):
    msgs = messages(5)
    report, journal = run(msgs, transport(ca, server), tmp_path)
    assert [o.state for o in report.outcomes] == ["sent"] * 5
    assert server.state.connections == 1
    assert server.state.message_ids() == [m.message_id for m in msgs]
    got = email.message_from_bytes(server.state.messages[0]["data"], policy=email.policy.default)
    assert got["X-Tracker-Key"] == msgs[0].key
    kinds = [p.get_content_type() for p in got.walk()]
    assert {"text/plain", "text/html", "text/calendar"} <= set(kinds)
    assert ".A line starting with a dot." in got.get_body(("plain",)).get_content()
    assert sorted(server.state.messages[0]["rcpt"]) == sorted(msgs[0].recipients)
    assert {r.state for r in journal.records()} == {"sent"}


def test_implicit_tls(ca, tmp_path):
    with SmtpStandIn(ca, mode="ssl") as s:
        report, _ = run(messages(2), transport(ca, s, security="ssl"), tmp_path)
        assert report.count("sent") == 2 and len(s.state.messages) == 2


def test_plain_only_when_explicit_and_starttls_refused_when_missing(ca, tmp_path):
    with SmtpStandIn(mode="none", auth=False) as s:
        t = SmtpTransport("127.0.0.1", s.port, USER, "starttls", timeout=5, rate_per_minute=0)
        with pytest.raises(TransportDown, match="does not offer STARTTLS"):
            t.send(messages(1)[0])
        plain = SmtpTransport("127.0.0.1", s.port, USER, "none", timeout=5, rate_per_minute=0)
        plain.send(messages(1)[0])
        plain.close()
        assert len(s.state.messages) == 1


def test_untrusted_certificate_is_refused(ca, server):
    t = SmtpTransport("127.0.0.1", server.port, USER, "starttls", USER, PASSWORD, timeout=5, rate_per_minute=0)
    with pytest.raises(TransportDown, match="TLS .* failed"):
        t.send(messages(1)[0])
    assert server.state.messages == []


def test_wrong_password_stops_the_batch_and_nothing_is_lost(ca, server, tmp_path):
    report, journal = run(messages(4), transport(ca, server, password="wrong"), tmp_path)
    assert [o.state for o in report.outcomes] == ["waiting"] * 4
    assert "refused the login" in report.outcomes[0].detail and "OFSTED_TRACKER_SMTP_PASSWORD" in report.outcomes[0].detail
    assert "not tried yet: mail server unavailable" in report.outcomes[1].detail
    assert {r.state for r in journal.records()} == {"waiting"}  # every one journalled, so visible
    assert server.state.connections == 1  # did not hammer the server
    # the next run with the right password sends all four
    report, _ = run(messages(4), transport(ca, server), tmp_path)
    assert report.count("sent") == 4 and len(server.state.messages) == 4


def test_rejected_recipient_is_permanent_with_the_servers_words_and_nothing_goes(ca, server, tmp_path):
    msgs = messages(3)
    server.state.reject.add(msgs[1].to[0])
    report, journal = run(msgs, transport(ca, server), tmp_path)
    assert [o.state for o in report.outcomes] == ["sent", "failed", "sent"]
    assert "550 5.1.1" in report.outcomes[1].detail and msgs[1].to[0] in report.outcomes[1].detail
    assert journal.get(msgs[1].key).state == "failed"
    assert msgs[1].message_id not in server.state.message_ids()  # not even to the cc
    assert journal.get(msgs[1].key).attempts == 1  # not retried


def test_temporary_4xx_is_retried_then_sent(ca, server, tmp_path):
    server.state.faults += ["temp_rcpt", "temp_data"]
    sleeps = []
    journal = Journal(tmp_path / "j.sqlite")
    t = transport(ca, server)
    report = deliver(messages(1), t, journal, lambda: NOW, Policy(attempts=3), sleeps.append)
    t.close()
    assert report.outcomes[0].state == "sent" and sleeps == [2.0, 4.0]
    assert len(server.state.messages) == 1 and journal.get(messages(1)[0].key).attempts == 3


def test_permanent_after_data_is_failed(ca, server, tmp_path):
    server.state.faults.append("perm_data")
    report, _ = run(messages(1), transport(ca, server), tmp_path)
    assert report.outcomes[0].state == "failed" and "554 5.7.1" in report.outcomes[0].detail


def test_cut_after_data_is_unconfirmed_never_resent(ca, server, tmp_path):
    msgs = messages(3)
    server.state.faults.append("drop_after_data")
    report, journal = run(msgs, transport(ca, server), tmp_path)
    assert [o.state for o in report.outcomes] == ["unconfirmed", "sent", "sent"]
    assert "cannot confirm" in report.outcomes[0].detail
    # a second run does not guess: it stays unconfirmed for an officer, and is not sent twice
    report, _ = run(msgs, transport(ca, server), tmp_path)
    assert [o.state for o in report.outcomes] == ["unconfirmed", "already", "already"]
    assert sorted(server.state.message_ids()) == sorted(m.message_id for m in msgs)


def test_cut_mid_data_is_reported_not_silently_dropped(ca, server, tmp_path):
    server.state.faults.append("drop_mid_data")
    report, journal = run(messages(2), transport(ca, server), tmp_path)
    # the client handed over the whole message and lost the line: it cannot know, so it says so
    assert report.outcomes[0].state == "unconfirmed"
    assert report.outcomes[1].state == "sent"
    assert server.state.message_ids() == [messages(2)[1].message_id]


def test_transport_raises_classified_errors(ca, server):
    t = transport(ca, server)
    m = messages(1)[0]
    server.state.faults.append("temp_data")
    with pytest.raises(TransientSendError, match="451"):
        t.send(m)
    server.state.faults.append("drop_after_data")
    with pytest.raises(AmbiguousSendError):
        t.send(m)
    server.state.reject.add(m.to[0])
    with pytest.raises(PermanentSendError, match="550"):
        t.send(m)
    t.close()
    assert t.confirm(m) is None


def test_rate_limiter_spaces_hand_overs():
    clock = [0.0]
    slept = []

    def sleep(s):
        slept.append(s)
        clock[0] += s

    lim = RateLimiter(30, lambda: clock[0], sleep)
    times = []
    for _ in range(75):
        lim.wait()
        times.append(clock[0])
        clock[0] += 0.1
    # never more than 30 in any 60 seconds, and no waiting beyond that
    assert all(b - a >= 60 - 1e-6 for a, b in zip(times, times[30:]))
    assert len(slept) == 2 and times[-1] < 122


def test_rate_limit_applies_to_the_server(ca, server):
    clock = [0.0]
    slept = []
    t = transport(ca, server, clock=lambda: clock[0], sleep=lambda s: (slept.append(s), clock.__setitem__(0, clock[0] + s)))
    t.limiter.per_minute = 2
    for m in messages(3):
        t.send(m)
    t.close()
    assert slept == [60.0] and len(server.state.messages) == 3


def test_rate_limit_wait_happens_before_the_message_is_journalled(ca, server, tmp_path):
    msgs = messages(3)
    journal = Journal(tmp_path / "j.sqlite")
    clock = [0.0]
    seen = []

    def sleep(s):  # while waiting, a second connection sees the journal as a crash would leave it
        other = Journal(tmp_path / "j.sqlite")
        seen.append((s, other.get(msgs[2].key), [other.get(m.key).state for m in msgs[:2]]))
        other.close()
        clock[0] += s

    t = transport(ca, server, clock=lambda: clock[0], sleep=sleep)
    t.limiter.per_minute = 2
    report = deliver(msgs, t, journal, lambda: NOW, Policy())
    t.close()
    assert report.count("sent") == 3
    assert seen == [(60.0, None, ["sent", "sent"])]  # nothing pending during the wait; earlier ones durable
