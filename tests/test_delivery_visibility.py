"""The lifecycle's pieces on their own: the states' groupings, an older journal's migration,
settling what a stopped run left in flight (per transport), and a hand-over that cannot be
journalled never leaving."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone

import pytest

from automation.errors import MailError
from automation.mail.delivery import deliver, settle_interrupted, stored_retries
from automation.mail.journal import Journal
from automation.mail.states import (DONE_FOR_HISTORY, FINAL, IN_FLIGHT, MAYBE_GONE, UNDELIVERED, SendState,
                                    state_of)
from automation.mail.transport import MemoryTransport, OutboxTransport, outbox_filename
from tests.standins.messages import messages

NOW = datetime(2026, 11, 16, 12, 30, tzinfo=timezone.utc)


class CannotTell(MemoryTransport):
    """Like SMTP: accepts everything, can never say afterwards whether something went."""

    name = "smtp"

    def confirm(self, message):
        return None


def test_states_compare_as_their_stored_strings_and_legacy_names_map():
    assert "sent" in FINAL and SendState.SENT in {"sent"} and state_of("pending") is SendState.HANDING_OVER
    assert state_of("deferred") is SendState.WAITING
    assert UNDELIVERED == set(SendState) - {SendState.SENT}
    assert IN_FLIGHT == {"queued", "handing_over"} and MAYBE_GONE == {"handing_over", "unconfirmed"}
    assert DONE_FOR_HISTORY == {"sent", "unconfirmed", "handing_over"}


def test_an_older_journal_gains_the_new_columns_and_state_names(tmp_path):
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.executescript("""CREATE TABLE sends (key TEXT PRIMARY KEY, message_id TEXT NOT NULL, inspection_id TEXT NOT NULL,
        purpose TEXT NOT NULL, version INTEGER NOT NULL, recipients TEXT NOT NULL, subject TEXT NOT NULL,
        transport TEXT NOT NULL, state TEXT NOT NULL, detail TEXT NOT NULL DEFAULT '', attempts INTEGER NOT NULL
        DEFAULT 0, facts TEXT NOT NULL DEFAULT '{}', first_at TEXT NOT NULL, updated_at TEXT NOT NULL);""")
    for key, state in (("a", "pending"), ("b", "deferred"), ("c", "sent")):
        db.execute("INSERT INTO sends VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                   (key, f"<{key}@la.example.org>", "INS-1", "digest", 1, '["x@la.example.org"]', "s", "smtp", state,
                    "", 1, "{}", NOW.isoformat(), NOW.isoformat()))
    db.commit()
    db.close()
    j = Journal(path)
    assert {r.key: r.state for r in j.records()} == {"a": "handing_over", "b": "waiting", "c": "sent"}
    assert j.content("a") is None and j.get("c").refused == {}
    j.close()


def _left_in_flight(tmp_path, transport_name, states):
    j = Journal(tmp_path / "j.sqlite")
    msgs = messages(len(states))
    for m, state in zip(msgs, states):
        j.queue(m, transport_name, NOW)
        if state == "handing_over":
            j.handing_over(m.key, NOW)
    return j, msgs


def test_smtp_never_reached_data_is_sent_again_and_a_cut_hand_over_goes_to_an_officer(tmp_path):
    j, (queued, handed) = _left_in_flight(tmp_path, "smtp", ["queued", "handing_over"])
    t = CannotTell()
    settle_interrupted(j, t, NOW)
    assert j.get(queued.key).state == "waiting" and j.get(handed.key).state == "unconfirmed"
    assert "ask the recipient" in j.get(handed.key).detail
    retry = stored_retries(j, [], NOW)
    assert [m.key for m in retry] == [queued.key] and retry[0].as_bytes() == queued.as_bytes()
    deliver(retry, t, j, lambda: NOW)
    assert [m.key for m in t.sent] == [queued.key] and j.get(queued.key).state == "sent"
    assert j.get(handed.key).state == "unconfirmed"  # never re-sent by itself over SMTP


def test_outbox_settles_every_interruption_itself(tmp_path):
    j, (written, lost) = _left_in_flight(tmp_path, "outbox", ["handing_over", "handing_over"])
    box = OutboxTransport(tmp_path / "outbox")
    box.send(written)  # this one reached the folder before the run stopped
    settle_interrupted(j, box, NOW)
    assert j.get(written.key).state == "sent" and j.get(lost.key).state == "waiting"
    report = deliver(stored_retries(j, [], NOW), box, j, lambda: NOW)
    assert report.count("sent") == 1
    assert sorted(p.name for p in (tmp_path / "outbox").glob("*.eml")) == sorted(
        outbox_filename(m.message_id) for m in (written, lost))


def test_an_unconfirmed_message_is_looked_up_again_where_the_transport_can_look(tmp_path):
    j, (m,) = _left_in_flight(tmp_path, "graph", ["handing_over"])
    j.finish(m.key, SendState.UNCONFIRMED, NOW, "Sent Items could not be asked")
    found = MemoryTransport()
    found.sent.append(m)  # it is in Sent Items after all
    settle_interrupted(j, found, NOW)
    assert j.get(m.key).state == "sent"


def test_a_hand_over_that_cannot_be_journalled_never_leaves(tmp_path):
    j = Journal(tmp_path / "j.sqlite")
    t = MemoryTransport()
    m = messages(1)[0]
    j.db.execute("CREATE TRIGGER full BEFORE UPDATE OF state ON sends WHEN NEW.state = 'handing_over' "
                 "BEGIN SELECT RAISE(FAIL, 'database or disk is full'); END")
    with pytest.raises(MailError, match="could not be written .*disk is full"):
        deliver([m], t, j, lambda: NOW)
    assert t.sent == []


def test_outbox_files_are_readable_by_a_pickup_service(tmp_path):
    """mkstemp makes 0600 files; an .eml handed to another system's pickup must be readable."""
    import os
    import stat

    from automation.mail.transport import OutboxTransport
    from tests.standins.messages import messages

    old = os.umask(0o022)
    try:
        box = OutboxTransport(tmp_path / "outbox")
        msg = messages(1)[0]
        box.send(msg)
    finally:
        os.umask(old)
    (eml,) = (tmp_path / "outbox").glob("*.eml")
    assert stat.S_IMODE(eml.stat().st_mode) == 0o644
