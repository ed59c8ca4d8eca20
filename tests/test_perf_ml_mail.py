"""Building and sending messages more cheaply sends the same bytes and keeps the journal's
promise: headers parsed once per batch, each message flattened once, compiled templates kept
between runs (never a stale one), and the outbox batch journalled ahead in one commit."""

from __future__ import annotations

import email
import email.generator
import email.policy
import itertools
import os
import shutil
import sqlite3
from datetime import datetime, timezone

import pytest

from automation.mail import message as M
from automation.mail.delivery import Policy, deliver, settle_interrupted, stored_retries
from automation.mail.journal import Journal
from automation.mail.message import Renderer, build_message
from automation.mail.transport import MemoryTransport, OutboxTransport, RedirectTransport
from automation.paths import email_templates_dir
from automation.plan.ics import attach_itip
from automation.purposes import Purpose
from automation.run import run
from tests import e2e

WHEN = datetime(2026, 11, 16, 12, 5, tzinfo=timezone.utc)
NOW = datetime(2026, 11, 16, 12, 20, tzinfo=timezone.utc)


def fixed_boundaries(monkeypatch):
    """From now on, MIME boundaries from a fresh counter instead of random, so two builds can be
    compared byte for byte."""
    counter = itertools.count()
    monkeypatch.setattr(email.generator.Generator, "_make_boundary",
                        classmethod(lambda cls, text=None: f"==============={next(counter):019d}=="))


def _run_bytes(tmp_path, name, cfg, monkeypatch, policy):
    """Every message a real run on a fresh 6-school tracker sends, as bytes, built with `policy`."""
    monkeypatch.setattr(M, "POLICY", policy)
    fixed_boundaries(monkeypatch)
    folder = tmp_path / name
    folder.mkdir()
    e2e.build_tracker(folder / "tracker.xlsx", 6)
    transport = MemoryTransport()
    run(folder / "tracker.xlsx", cfg, NOW, transport=transport)
    return [(m.key, m.as_bytes()) for m in transport.sent]


def test_a_real_run_sends_the_bytes_the_standard_email_policy_makes(tmp_path, cfg, monkeypatch):
    ours = _run_bytes(tmp_path, "ours", cfg, monkeypatch, M.POLICY)
    standard = _run_bytes(tmp_path, "standard", cfg, monkeypatch, email.policy.default)
    assert len(ours) == len(standard) > 20
    assert [k for k, _ in ours] == [k for k, _ in standard]
    assert [k for (k, a), (_, b) in zip(ours, standard) if a != b] == []
    assert any(b"text/calendar" in b for _, b in ours)  # the meeting invitations are among them


TRICKY = [
    dict(sender="ofsted.support@la.example.org", to=["head@school.example.org"], subject="Plain"),
    dict(sender='"Ofsted Support, E&I" <ofsted.support@la.example.org>', to=["Ms O'Neil <head@school.example.org>"],
         cc=[f"officer{i}@la.example.org" for i in range(12)],  # folded over several lines
         subject="St Mary's C of E (Aided) — inspection notified: support plan " + "é" * 3),
    dict(sender="ofsted.support@la.example.org", to=["head@school.example.org"],
         subject="A very long subject line " * 6, reply_to="Sam Imrie <sam.imrie@la.example.org>"),
    dict(sender="ofsted.support@la.example.org", to=["Zoë Ångström <zoe@school.example.org>"],
         subject="=?utf-8?q?looks_encoded?= but is not", html=None),
]


@pytest.mark.parametrize("case", TRICKY, ids=["plain", "display-names-and-fold", "long", "non-ascii-name"])
def test_tricky_headers_come_out_as_the_standard_policy_makes_them(case, monkeypatch):
    out = {}
    for ours, policy in ((True, M.POLICY), (False, email.policy.default)):
        monkeypatch.setattr(M, "POLICY", policy)
        for again in range(2):  # the second time from the parsed-header store
            fixed_boundaries(monkeypatch)
            m = build_message(**{"text": "Dear head,\n\nLine é\n", "html": "<p>Dear head</p>", **case},
                              inspection_id="OFS-1", purpose="digest", version=1, when=WHEN, reason="test")
            if case.get("html", "") is not None:
                attach_itip(m.email, b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", "REQUEST")
            out[ours, again] = m.as_bytes()
    monkeypatch.undo()
    assert out[True, 0] == out[True, 1] == out[False, 0] == out[False, 1]
    assert b"\r\n" in out[True, 0] and b"\n" not in out[True, 0].replace(b"\r\n", b"")


def test_a_parsed_header_is_shared_and_the_store_is_bounded(monkeypatch):
    a, b = (build_message(sender="ofsted.support@la.example.org", to=[f"h{i}@s.example.org"], subject="S", text="t",
                          html=None, inspection_id=f"OFS-{i}", purpose="digest", version=1, when=WHEN, reason="r")
            for i in range(2))
    assert a.email["From"] is b.email["From"]  # parsed once
    assert a.email["To"] is not b.email["To"] and str(a.email["To"]) == "h0@s.example.org"
    registry = M.POLICY.header_factory
    monkeypatch.setattr(type(registry), "KEEP", 3)
    for i in range(10):
        registry("Subject", f"subject {i}")
    assert 0 < len(registry._parsed) <= 3


def test_each_message_is_flattened_once_and_stays_what_a_fresh_flatten_gives(tmp_path, cfg):
    e2e.build_tracker(tmp_path / "tracker.xlsx", 3)
    transport = MemoryTransport()
    run(tmp_path / "tracker.xlsx", cfg, NOW, transport=transport)
    assert len(transport.sent) > 10
    for m in transport.sent:
        assert m.as_bytes() is m.as_bytes()
        assert m.as_bytes() == m.email.as_bytes(policy=email.policy.SMTP)


# ---------------------------------------------------------------- compiled templates kept between runs

LAYOUT = "<html><body>{% block body %}{% endblock %}<p>{{ la_name }}</p></body></html>\n"
DIGEST = ('{% extends "_layout.html" %}{% block subject %}Digest for {{ who }}{% endblock %}'
          "{% block text %}Hello {{ who }}, version {{ v }}\n{% endblock %}"
          "{% block body %}<p>Hello {{ who }}, version {{ v }}</p>{% endblock %}\n")


def _folder(tmp_path, body=DIGEST):
    folder = tmp_path / "templates"
    folder.mkdir(exist_ok=True)
    (folder / "_layout.html").write_text(LAYOUT, encoding="utf-8")
    (folder / "digest.email.j2").write_text(body, encoding="utf-8")
    return folder


def _render(folder, cache, **context):
    r = Renderer(folder, purposes=[Purpose.DIGEST], layout={"la_name": "LA"}, cache=cache)
    return r.render(Purpose.DIGEST, {"who": "<Sam>", "v": 1, **context})


def test_a_warm_cache_renders_what_no_cache_renders(tmp_path):
    cache = tmp_path / "cache"
    cold = _render(_folder(tmp_path), cache)
    assert list(cache.iterdir())  # the compiled templates were kept
    warm = _render(_folder(tmp_path), cache)
    none = _render(_folder(tmp_path), False)
    assert cold == warm == none
    subject, text, html = warm
    # The plain-text and HTML environments compile one file differently: neither's code serves the other.
    assert subject == "Digest for <Sam>" and "Hello <Sam>" in text and "Hello &lt;Sam&gt;" in html


def test_an_edited_template_is_never_served_from_the_cache(tmp_path):
    cache = tmp_path / "cache"
    folder = _folder(tmp_path)
    assert "version 1" in _render(folder, cache)[1]
    path = folder / "digest.email.j2"
    stat = path.stat()
    # Same length, same modification time: only the text differs.
    path.write_text(DIGEST.replace("version {{ v }}", "edition {{ v }}", 1), encoding="utf-8")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert "edition 1" in _render(folder, cache)[1]


def test_the_real_templates_cached_code_is_what_compiling_them_gives(tmp_path):
    folder = tmp_path / "email_templates"
    shutil.copytree(email_templates_dir(), folder)
    cache = tmp_path / "cache"
    context = {"la_name": "LA", "la_phone": "01234", "sender": "ofsted.support@la.example.org"}
    names = sorted(p.name for p in folder.iterdir())
    cold = Renderer(folder, layout=context, cache=cache)
    for env in (cold.html, cold.text):
        for name in names:
            env.get_template(name)
    warm = Renderer(folder, layout=context, cache=cache)
    checked = 0
    for env in (warm.html, warm.text):
        for name in names:
            source, filename, _ = env.loader.get_source(env, name)
            bucket = env.bytecode_cache.get_bucket(env, name, filename, source)
            assert bucket.code is not None and bucket.code == env.compile(source, name, filename), name
            checked += 1
    assert checked == 2 * len(names) >= 2 * (len(Purpose) - 1)
    # and the two environments' code for one file differs (autoescaping is compiled in)
    name = names[-1]
    html, text = ((env, *env.loader.get_source(env, name)[:2]) for env in (warm.html, warm.text))
    assert html[0].compile(html[1], name, html[2]) != text[0].compile(text[1], name, text[2])


def test_a_damaged_or_unusable_cache_is_a_cache_miss(tmp_path):
    cache = tmp_path / "cache"
    good = _render(_folder(tmp_path), cache)
    for f in cache.iterdir():
        data = f.read_bytes()
        f.write_bytes(data[: len(data) // 2])  # cut short, as a full disk might leave it
    assert _render(_folder(tmp_path), cache) == good
    for f in cache.iterdir():
        f.write_bytes(b"not a cache file at all")
    assert _render(_folder(tmp_path), cache) == good
    blocked = tmp_path / "a file, not a folder"
    blocked.write_text("x")
    assert _render(_folder(tmp_path), blocked) == good


def test_the_default_cache_folder_is_the_users_own(tmp_path):
    r = Renderer(_folder(tmp_path), purposes=[Purpose.DIGEST], layout={"la_name": "LA"})
    caches = {r.html.bytecode_cache.pattern, r.text.bytecode_cache.pattern}
    assert len(caches) == 2  # one file name per environment
    folder = r.html.bytecode_cache.directory
    if os.name == "posix":
        st = os.stat(folder)
        assert st.st_uid == os.getuid() and st.st_mode & 0o077 == 0


# ---------------------------------------------------------------- the outbox batch: two commits, same journal

def _messages(n, domain="school.example.org"):
    return [build_message(sender="ofsted.support@la.example.org", to=[f"head{i}@{domain}"], subject=f"Plan {i}",
                          text=f"Dear head {i}\n", html=f"<p>Dear head {i}</p>", inspection_id=f"OFS-{i}",
                          purpose="contact_plan_school", version=1, when=WHEN, reason="new inspection")
            for i in range(n)]


class _Counting:
    """Counts the journal's durable commits (the statements that wait for the disk)."""

    def __init__(self, journal):
        self.commits = 0
        journal.db.set_trace_callback(self)

    def __call__(self, sql):
        self.commits += sql.strip().upper() == "COMMIT"


class _NotIdempotentOutbox(OutboxTransport):
    """The outbox as delivery treated it before: a hand-over committed on its own."""

    idempotent = False


def _rows(journal):
    return journal.db.execute("SELECT rowid, * FROM sends ORDER BY rowid").fetchall()


def test_the_outbox_batch_commits_twice_and_leaves_the_journal_it_always_did(tmp_path):
    msgs = _messages(8) + _messages(1, domain="elsewhere.example.com")  # the last is blocked
    msgs.append(msgs[0])  # the same message twice in one batch
    first = _messages(1)[0]  # an earlier run already sent this one
    out = {}  # (the same message objects both times: the same bytes, boundaries and all)
    for kind, transport_cls in (("ahead", OutboxTransport), ("each", _NotIdempotentOutbox)):
        journal = Journal(tmp_path / f"{kind}.sqlite")
        deliver([first], transport_cls(tmp_path / f"{kind}-box"), journal, lambda: WHEN)
        counter = _Counting(journal)
        report = deliver(msgs, transport_cls(tmp_path / f"{kind}-box"), journal, lambda: NOW,
                         Policy(allowed_domains=("example.org",)))
        out[kind] = (counter.commits, [(o.message.key, o.state, o.detail) for o in report.outcomes], _rows(journal),
                     sorted(p.name for p in (tmp_path / f"{kind}-box").iterdir()))
        journal.close()
    assert out["ahead"][0] == 2 and out["each"][0] >= 8
    assert out["ahead"][1:] == out["each"][1:]
    states = [s for _, s, _ in out["ahead"][1]]
    assert states.count("sent") == 7 and states.count("already") == 2 and states.count("blocked") == 1


class _KilledAfterWriting(OutboxTransport):
    """Dies (as a killed process would) right after writing the n-th file."""

    def __init__(self, folder, n):
        super().__init__(folder)
        self.left = n

    def send(self, message, on_handover=lambda: None):
        super().send(message, on_handover)
        self.left -= 1
        if self.left == 0:
            raise KeyboardInterrupt("killed")


def test_a_run_killed_mid_batch_settles_to_each_file_written_once(tmp_path):
    box, path = tmp_path / "outbox", tmp_path / "journal.sqlite"
    msgs = _messages(6)
    journal = Journal(path)
    seen = []

    class Watching(_KilledAfterWriting):
        def send(self, message, on_handover=lambda: None):
            def check():
                # what another connection (the next run, after a kill) would find: queued, with its bytes
                other = sqlite3.connect(path)
                seen.append(other.execute("SELECT state, length(content) > 0 FROM sends WHERE key=?",
                                          (message.key,)).fetchone())
                other.close()
                on_handover()
            return super().send(message, check)

    with pytest.raises(KeyboardInterrupt):
        deliver(msgs, Watching(box, 3), journal, lambda: NOW)
    journal.db.close()  # killed: nothing more is committed
    assert seen == [("queued", 1)] * 3
    written = {p.name: p.stat().st_mtime_ns for p in box.glob("*.eml")}
    assert len(written) == 3

    journal = Journal(path)
    assert {r.state.value for r in journal.records()} == {"queued"} and len(journal.records()) == 6
    settled = settle_interrupted(journal, OutboxTransport(box), NOW)
    assert sorted((r.state.value, r.detail) for r in settled) == [("sent", "confirmed sent after an interrupted run")] * 3
    # The three never written are forgotten, as if the batch had stopped before journalling them:
    # whether they go is this run's plan's to say.
    assert sorted(r.key for r in journal.records()) == sorted(m.key for m in msgs[:3])
    report = deliver(msgs, OutboxTransport(box), journal, lambda: NOW)
    assert [o.state for o in report.outcomes] == ["already"] * 3 + ["sent"] * 3
    assert {p.name: p.stat().st_mtime_ns for p in box.glob("*.eml") if p.name in written} == written
    assert len(list(box.glob("*.eml"))) == 6 and not list(box.glob(".sending-*"))
    journal.close()


def test_killed_mid_batch_then_another_transport_configured_nothing_is_sent_twice_unasked(tmp_path):
    box, path = tmp_path / "outbox", tmp_path / "journal.sqlite"
    msgs = _messages(4)
    journal = Journal(path)
    with pytest.raises(KeyboardInterrupt):
        deliver(msgs, _KilledAfterWriting(box, 2), journal, lambda: NOW)
    journal.db.close()
    journal = Journal(path)
    smtp_like = _Recording(path)  # cannot look anything up (confirm() is None), as SMTP
    settled = settle_interrupted(journal, smtp_like, NOW)
    # Any of them may have been written to the old outbox: an officer is asked, none is re-sent.
    assert sorted(r.state.value for r in settled) == ["unconfirmed"] * 4
    report = deliver(msgs, smtp_like, journal, lambda: NOW)
    assert smtp_like.seen == [] and {o.state for o in report.outcomes} == {"unconfirmed"}
    journal.close()


class _Recording:
    """A transport that is not idempotent (as SMTP): the journal is looked at from outside at hand-over."""

    name = "recording"

    def __init__(self, path):
        self.path, self.seen = path, []

    def send(self, message, on_handover=lambda: None):
        on_handover()
        other = sqlite3.connect(self.path)
        self.seen.append(other.execute("SELECT state FROM sends WHERE key=?", (message.key,)).fetchone()[0])
        other.close()

    def confirm(self, message):
        return None

    def close(self):
        pass


def test_a_transport_that_is_not_idempotent_still_commits_each_hand_over(tmp_path):
    path = tmp_path / "journal.sqlite"
    journal = Journal(path)
    transport = _Recording(path)
    deliver(_messages(4), transport, journal, lambda: NOW)
    assert transport.seen == ["handing_over"] * 4
    # Test mode over the outbox is idempotent too: each redirected copy has its own fixed Message-ID.
    assert RedirectTransport(OutboxTransport(tmp_path / "box"), "test@la.example.org").idempotent
    assert not RedirectTransport(transport, "test@la.example.org").idempotent
    journal.close()


def test_stored_bytes_parse_back_to_the_message(tmp_path):
    journal = Journal(tmp_path / "j.sqlite")
    m = _messages(1)[0]
    deliver([m], OutboxTransport(tmp_path / "box"), journal, lambda: NOW)
    stored = journal.content(m.key)
    assert stored == m.as_bytes() == (tmp_path / "box" / os.listdir(tmp_path / "box")[0]).read_bytes()
    assert email.message_from_bytes(stored, policy=email.policy.default)["Message-ID"] == m.message_id
    journal.close()


def test_a_message_sent_again_goes_exactly_as_journalled(tmp_path):
    # A subject the standard library folds differently once parsed back (a trailing space).
    m = build_message(sender="ofsted.support@la.example.org", to=["ai06@la.example.org"],
                      subject="Your Ofsted follow-up actions for Thursday 19 November 2026: 1 overdue",
                      text="t\n", html="<p>t</p>", inspection_id="OFS-1", purpose="digest", version=1,
                      when=WHEN, reason="r")
    original = m.as_bytes()
    reflattened = email.message_from_bytes(original, policy=email.policy.default).as_bytes(policy=email.policy.SMTP)
    assert reflattened != original
    journal = Journal(tmp_path / "j.sqlite")
    journal.queue(m, "outbox", NOW)
    journal.wait(m.key, NOW, "connection refused")
    again = stored_retries(journal, [], NOW)
    assert [a.key for a in again] == [m.key] and again[0].message_id == m.message_id
    box = tmp_path / "box"
    report = deliver(again, OutboxTransport(box), journal, lambda: NOW)
    assert [o.state for o in report.outcomes] == ["sent"]
    assert next(box.glob("*.eml")).read_bytes() == journal.content(m.key) == original
    journal.close()


def test_test_mode_copies_share_the_registry_and_come_out_as_before(monkeypatch):
    from automation.mail.transport import redirected

    out = []
    for policy in (M.POLICY, email.policy.default):
        monkeypatch.setattr(M, "POLICY", policy)
        fixed_boundaries(monkeypatch)
        m = build_message(sender="ofsted.support@la.example.org", to=["head@school.example.org"],
                          cc=["office@school.example.org"], subject="Plan", text="Dear head\n", html="<p>Dear head</p>",
                          inspection_id="OFS-1", purpose="contact_plan_school", version=1, when=WHEN, reason="r")
        copy = redirected(m, "tester@la.example.org")
        out.append((policy, copy.email.policy.header_factory, copy.as_bytes()))
    monkeypatch.undo()
    (ours, ours_registry, ours_bytes), (_, _, standard_bytes) = out
    # A deep copy of the message does not copy the store of parsed headers with it.
    assert ours_registry is ours.header_factory
    assert ours_bytes == standard_bytes and b"X-Tracker-Original-Recipients" in ours_bytes
