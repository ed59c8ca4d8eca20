"""The send journal: one SQLite file per tracker, shared by the scheduled run, the
command line and the ribbon, so a message is recorded as pending before it is handed
over and as sent after, and survives a crash in between."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from automation.mail.message import OutgoingMessage

# States: pending (being handed over, or a crash left it), sent, deferred (transient
# failure: try again next run), failed (permanent), unconfirmed (may have gone; an
# officer decides), blocked (recipient not allowed: not sent; checked again on every run, so
# correcting the address or the allowed domains lets it go).
FINAL = {"sent", "failed"}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sends (
    key TEXT PRIMARY KEY,
    message_id TEXT NOT NULL,
    inspection_id TEXT NOT NULL,
    purpose TEXT NOT NULL,
    version INTEGER NOT NULL,
    recipients TEXT NOT NULL,
    subject TEXT NOT NULL,
    transport TEXT NOT NULL,
    state TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    attempts INTEGER NOT NULL DEFAULT 0,
    facts TEXT NOT NULL DEFAULT '{}',
    first_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS sends_inspection ON sends(inspection_id, purpose);
"""


@dataclass(frozen=True)
class Record:
    key: str
    message_id: str
    inspection_id: str
    purpose: str
    version: int
    recipients: tuple[str, ...]
    subject: str
    transport: str
    state: str
    detail: str
    attempts: int
    facts: dict
    first_at: datetime
    updated_at: datetime


class Journal:
    """Durable record of every message: pending before hand-over, sent after."""

    def __init__(self, path: Path | str):
        self.path = Path(path) if str(path) != ":memory:" else path
        if isinstance(self.path, Path):
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(self.path), timeout=30, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=DELETE")  # safest on network shares
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(_SCHEMA)

    def close(self) -> None:
        self.db.close()

    def get(self, key: str) -> Record | None:
        row = self.db.execute("SELECT * FROM sends WHERE key=?", (key,)).fetchone()
        return _record(row) if row else None

    def begin(self, msg: OutgoingMessage, transport: str, now: datetime) -> None:
        """Record the message as pending: done, durably, before it is handed over."""
        self.db.execute(
            """INSERT INTO sends (key, message_id, inspection_id, purpose, version, recipients,
                   subject, transport, state, attempts, facts, first_at, updated_at)
               VALUES (?,?,?,?,?,?,?,?, 'pending', 1, ?, ?, ?)
               ON CONFLICT(key) DO UPDATE SET state='pending', attempts=attempts+1,
                   transport=excluded.transport, updated_at=excluded.updated_at""",
            (msg.key, msg.message_id, msg.inspection_id, msg.purpose, msg.version,
             json.dumps(list(msg.recipients)), msg.subject, transport,
             json.dumps(msg.facts, default=str, sort_keys=True), now.isoformat(), now.isoformat()),
        )

    def finish(self, key: str, state: str, now: datetime, detail: str = "") -> None:
        """Record the outcome of a hand-over (sent, deferred, failed, unconfirmed, blocked)."""
        self.db.execute("UPDATE sends SET state=?, detail=?, updated_at=? WHERE key=?",
                        (state, detail, now.isoformat(), key))

    def record_blocked(self, msg: OutgoingMessage, transport: str, now: datetime, detail: str) -> None:
        """Record a message the safety rules refused, so it is reported and never sent."""
        self.begin(msg, transport, now)
        self.finish(msg.key, "blocked", now, detail)

    def records(self, inspection_id: str | None = None, purpose: str | None = None) -> list[Record]:
        """Records in the order they were first made, optionally for one inspection/purpose."""
        sql, args = "SELECT * FROM sends WHERE 1=1", []
        if inspection_id is not None:
            sql += " AND inspection_id=?"
            args.append(inspection_id)
        if purpose is not None:
            sql += " AND purpose=?"
            args.append(purpose)
        rows = self.db.execute(sql + " ORDER BY first_at, rowid", args).fetchall()
        return [_record(r) for r in rows]

    def latest(self, inspection_id: str, purpose: str, states=("sent", "pending", "unconfirmed")) -> Record | None:
        """The highest-version record of a purpose for an inspection, in the given states."""
        recs = [r for r in self.records(inspection_id, purpose) if r.state in states]
        return max(recs, key=lambda r: r.version) if recs else None


def _record(row) -> Record:
    (key, mid, iid, purpose, version, recipients, subject, transport, state, detail,
     attempts, facts, first_at, updated_at) = row
    return Record(key, mid, iid, purpose, version, tuple(json.loads(recipients)), subject,
                  transport, state, detail, attempts, json.loads(facts),
                  datetime.fromisoformat(first_at), datetime.fromisoformat(updated_at))
