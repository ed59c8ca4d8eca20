"""The send journal: one SQLite file per tracker, shared by the scheduled run, the
command line and the ribbon. Each message is recorded with its full bytes as queued before
it is handed over, as handing_over at the moment of hand-over and as sent after, so a crash
anywhere in between is settled by the next run (automation/mail/states.py)."""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from automation.mail.states import DONE_FOR_HISTORY, LEGACY, SendState, state_of

if TYPE_CHECKING:  # a look at the journal (review, oversight) need not load jinja2 and the email package
    from automation.mail.message import OutgoingMessage

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

# Columns added after the first release; an older journal gets them on open.
_ADDED = {
    "content": "BLOB",                         # the message's exact bytes, to re-send it unchanged
    "refused": "TEXT NOT NULL DEFAULT '{}'",   # recipients the server refused: address -> its words
    "since": "TEXT NOT NULL DEFAULT ''",       # when it started waiting
}
_COLUMNS = ("key, message_id, inspection_id, purpose, version, recipients, subject, transport, state, "
            "detail, attempts, facts, first_at, updated_at, refused, since")


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
    state: SendState
    detail: str
    attempts: int
    facts: dict
    first_at: datetime
    updated_at: datetime
    refused: dict = field(default_factory=dict)  # address -> the server's words (sent to the others)
    since: datetime | None = None  # when it started waiting

    def accepted(self) -> set[str]:
        """Lower-cased recipients the server took it for (none unless it was sent)."""
        if self.state != SendState.SENT:
            return set()
        refused = {a.lower() for a in self.refused}
        return {a.lower() for a in self.recipients} - refused


class Journal:
    """Durable record of every message: queued, handing_over, then its outcome."""

    def __init__(self, path: Path | str):
        self.path = Path(path) if str(path) != ":memory:" else path
        if isinstance(self.path, Path):
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(self.path), timeout=30, isolation_level=None)
        try:
            self.db.execute("PRAGMA journal_mode=DELETE")  # safest on network shares
            self.db.execute("PRAGMA synchronous=FULL")
            self.db.executescript(_SCHEMA)
            self._migrate()
        except BaseException:
            self.db.close()
            raise

    def _migrate(self) -> None:
        """Add the newer columns and rename legacy states, once, under a write lock."""
        have = {row[1] for row in self.db.execute("PRAGMA table_info(sends)")}
        legacy = self.db.execute(f"SELECT 1 FROM sends WHERE state IN ({','.join('?' * len(LEGACY))}) LIMIT 1",
                                 tuple(LEGACY)).fetchone()
        if set(_ADDED) <= have and not legacy:
            return
        self.db.execute("BEGIN IMMEDIATE")
        try:
            have = {row[1] for row in self.db.execute("PRAGMA table_info(sends)")}
            for name, decl in _ADDED.items():
                if name not in have:
                    self.db.execute(f"ALTER TABLE sends ADD COLUMN {name} {decl}")
            for old, new in LEGACY.items():
                self.db.execute("UPDATE sends SET state=? WHERE state=?", (new.value, old))
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    def check(self) -> None:
        """Read every page once, so a corrupt or truncated file shows now (sqlite3.DatabaseError)."""
        bad = self.db.execute("PRAGMA quick_check(1)").fetchone()
        if bad and bad[0] != "ok":
            raise sqlite3.DatabaseError(bad[0])
        self.db.execute("SELECT count(*), sum(length(content)) FROM sends").fetchone()

    def close(self) -> None:
        self.db.close()

    def get(self, key: str) -> Record | None:
        row = self.db.execute(f"SELECT {_COLUMNS} FROM sends WHERE key=?", (key,)).fetchone()
        return _record(row) if row else None

    def content(self, key: str) -> bytes | None:
        """The stored bytes of a message (None for records older than this column)."""
        row = self.db.execute("SELECT content FROM sends WHERE key=?", (key,)).fetchone()
        return bytes(row[0]) if row and row[0] is not None else None

    def queue(self, msg: OutgoingMessage, transport: str, now: datetime, tried: bool = True) -> None:
        """Record the message, with its bytes, as queued: before anything is handed over."""
        self.db.execute(
            """INSERT INTO sends (key, message_id, inspection_id, purpose, version, recipients,
                   subject, transport, state, attempts, facts, first_at, updated_at, content)
               VALUES (?,?,?,?,?,?,?,?, 'queued', ?, ?, ?, ?, ?)
               ON CONFLICT(key) DO UPDATE SET state='queued', attempts=attempts+excluded.attempts,
                   transport=excluded.transport, updated_at=excluded.updated_at, content=excluded.content,
                   subject=excluded.subject, facts=excluded.facts, refused='{}'""",
            (msg.key, msg.message_id, msg.inspection_id, msg.purpose, msg.version,
             json.dumps(list(msg.recipients)), msg.subject, transport, int(tried),
             json.dumps(msg.facts, default=str, sort_keys=True), now.isoformat(), now.isoformat(),
             msg.as_bytes()),
        )

    def attempt(self, key: str, transport: str, now: datetime) -> None:
        """Record one more attempt of a message queue() has already stored in this batch: the
        same row queue() would leave, without writing its bytes, subject and facts again."""
        self.db.execute("UPDATE sends SET state='queued', attempts=attempts+1, transport=?, updated_at=?, "
                        "refused='{}' WHERE key=?", (transport, now.isoformat(), key))

    def forget(self, key: str) -> None:
        """Remove a record still queued (journalled ahead of a hand-over that never came)."""
        self.db.execute("DELETE FROM sends WHERE key=? AND state='queued'", (key,))

    def handing_over(self, key: str, now: datetime) -> None:
        """Record that the message is being handed over this moment."""
        self.finish(key, SendState.HANDING_OVER, now, "being handed over")

    def finish(self, key: str, state: SendState | str, now: datetime, detail: str = "",
               refused: dict | None = None) -> None:
        """Record an outcome (sent, waiting, failed, unconfirmed, blocked, or back to queued)."""
        state = state_of(state)
        # "waiting since" survives the retries in between (queued, handing_over), not an outcome
        since = "since" if state in (SendState.WAITING, SendState.QUEUED, SendState.HANDING_OVER) else "''"
        self.db.execute(f"UPDATE sends SET state=?, detail=?, updated_at=?, since={since}, "
                        "refused=coalesce(?, refused) WHERE key=?",
                        (state.value, detail, now.isoformat(),
                         json.dumps(refused, sort_keys=True) if refused is not None else None, key))

    def wait(self, key: str, now: datetime, reason: str) -> str:
        """Record that the message waits for the next run; returns the detail written
        ("waiting since 09:15, 4 tries: connection refused")."""
        row = self.db.execute("SELECT state, since, attempts FROM sends WHERE key=?", (key,)).fetchone()
        since = datetime.fromisoformat(row[1]) if row and row[1] else now
        tries = row[2] if row else 0
        local = since.astimezone(now.tzinfo) if now.tzinfo and since.tzinfo else since
        when = f"{local:%H:%M}" if local.date() == now.date() else f"{local:%d/%m/%Y %H:%M}"
        count = f"{tries} {'try' if tries == 1 else 'tries'}" if tries else "not tried yet"
        detail = f"waiting since {when}, {count}: {reason}"
        self.db.execute("UPDATE sends SET state='waiting', detail=?, updated_at=?, since=? WHERE key=?",
                        (detail, now.isoformat(), since.isoformat(), key))
        return detail

    def record_blocked(self, msg: OutgoingMessage, transport: str, now: datetime, detail: str) -> None:
        """Record a message the safety rules refused, so it is reported and never sent."""
        self.queue(msg, transport, now, tried=False)
        self.finish(msg.key, SendState.BLOCKED, now, detail)

    def records(self, inspection_id: str | None = None, purpose: str | None = None) -> list[Record]:
        """Records in the order they were first made, optionally for one inspection/purpose."""
        sql, args = f"SELECT {_COLUMNS} FROM sends WHERE 1=1", []
        if inspection_id is not None:
            sql += " AND inspection_id=?"
            args.append(inspection_id)
        if purpose is not None:
            sql += " AND purpose=?"
            args.append(purpose)
        rows = self.db.execute(sql + " ORDER BY first_at, rowid", args).fetchall()
        return [_record(r) for r in rows]

    def latest(self, inspection_id: str, purpose: str, states=DONE_FOR_HISTORY) -> Record | None:
        """The highest-version record of a purpose for an inspection, in the given states."""
        recs = [r for r in self.records(inspection_id, purpose) if r.state in states]
        return max(recs, key=lambda r: r.version) if recs else None


def _record(row) -> Record:
    (key, mid, iid, purpose, version, recipients, subject, transport, state, detail,
     attempts, facts, first_at, updated_at, refused, since) = row
    try:
        st = state_of(state)
    except ValueError:  # written by a newer version: never re-send what it may have sent
        st = SendState.UNCONFIRMED
    return Record(key, mid, iid, purpose, version, tuple(json.loads(recipients)), subject,
                  transport, st, detail, attempts, json.loads(facts),
                  datetime.fromisoformat(first_at), datetime.fromisoformat(updated_at),
                  json.loads(refused or "{}"), datetime.fromisoformat(since) if since else None)


def open_checked(path: Path, now: datetime) -> tuple[Journal, Path | None]:
    """The journal at `path`; a corrupt or truncated one is moved aside to
    `<name>.corrupt-<YYYYmmdd-HHMMSS>` and a fresh one started. Returns (journal, moved-to or None)."""
    try:
        journal = Journal(path)
    except sqlite3.DatabaseError as exc:
        if not is_corrupt(exc):
            raise
        journal = None
    if journal is not None:
        try:
            journal.check()
            return journal, None
        except sqlite3.DatabaseError as exc:
            journal.close()
            if not is_corrupt(exc):
                raise
    path = Path(path)
    aside = path.with_name(f"{path.name}.corrupt-{now:%Y%m%d-%H%M%S}")
    os.replace(path, aside)
    hot = path.with_name(path.name + "-journal")  # SQLite's rollback file belongs to the bad copy
    if hot.exists():
        os.replace(hot, aside.with_name(aside.name + "-journal"))
    return Journal(path), aside


def is_corrupt(exc: sqlite3.DatabaseError) -> bool:
    """Corrupt or not a database at all; not a full disk, a lock or a folder that cannot be
    written (those are sqlite3.OperationalError: the file itself is fine)."""
    return not isinstance(exc, sqlite3.OperationalError)
