"""Deliver a batch exactly once: journal before, at and after the hand-over, retry the
transient, record the permanent, confirm the ambiguous, never guess silently. The states
are in automation/mail/states.py."""

from __future__ import annotations

import email
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import getaddresses
from typing import Callable

from automation.errors import MailError
from automation.mail.journal import Journal, Record
from automation.mail.message import POLICY, OutgoingMessage
from automation.mail.states import FINAL, IN_FLIGHT, MAYBE_GONE, UNDELIVERED, SendState
from automation.mail.transport import (AmbiguousSendError, PermanentSendError,
                                       TransientSendError, Transport, TransportDown, call_send, only_to)

S = SendState
ALREADY = "already"  # an outcome, not a state: settled by an earlier run


@dataclass(frozen=True)
class Outcome:
    message: OutgoingMessage
    state: str  # a SendState value, or "already"
    detail: str = ""
    refused: dict = field(default_factory=dict)  # sent, but these recipients refused it

    def needs_attention(self) -> bool:
        return self.state in UNDELIVERED or bool(self.refused)


@dataclass
class Policy:
    """How hard to try within one run; the next run picks up what is left."""

    attempts: int = 3
    backoff_seconds: float = 2.0
    max_wait_seconds: float = 60.0
    allowed_domains: tuple[str, ...] = ()


@dataclass
class DeliveryReport:
    outcomes: list[Outcome] = field(default_factory=list)
    down: str = ""  # why the mail server (or outbox folder) could not take anything, if so

    def count(self, state: str) -> int:
        return sum(1 for o in self.outcomes if o.state == state)

    def attention(self) -> list[Outcome]:
        """Outcomes an officer must look at: anything not delivered, or refused by a recipient."""
        return [o for o in self.outcomes if o.needs_attention()]


def refused_recipients(msg: OutgoingMessage, allowed: tuple[str, ...]) -> list[str]:
    """Recipients outside the allowed domains (none when no restriction is set)."""
    if not allowed:
        return []
    ok = {d.lower().lstrip("@.") for d in allowed}
    return [a for a in msg.recipients if not _domain_allowed(a.rsplit("@", 1)[-1].lower(), ok)]


def _domain_allowed(domain: str, allowed: set[str]) -> bool:
    """The domain itself, or a subdomain of an allowed one (schools under hants.sch.uk, say)."""
    return any(domain == d or domain.endswith("." + d) for d in allowed)


def unconfirmed_advice(transport: str) -> str:
    """What an officer does about a message that may have gone, in the transport's terms."""
    if transport.startswith("smtp"):
        return ("an SMTP server keeps no Sent Items to check: ask the recipient whether it arrived, then "
                "`ofsted-tracker mail settle WORKBOOK MESSAGE-ID --sent` (it did) or `--resend`")
    return ("the shared mailbox's Sent Items could not be asked just now; the next run looks it up again "
            "(or check Sent Items yourself, then `ofsted-tracker mail settle WORKBOOK MESSAGE-ID --sent` or `--resend`)")


class JournalTrouble(MailError):
    """The send journal could not be written (full disk, read-only folder): the batch stops."""


def _journal_trouble(journal: Journal, exc: Exception) -> JournalTrouble:
    return JournalTrouble(f"The send journal {journal.path} could not be written ({exc}) — free disk space or make "
                          "its folder writable, then run again; nothing more was sent, and anything already "
                          "handed over is settled by the next run.")


def deliver(messages: list[OutgoingMessage], transport: Transport, journal: Journal,
            now: Callable[[], datetime], policy: Policy | None = None,
            sleep: Callable[[float], None] = lambda s: None) -> DeliveryReport:
    """Send each message at most once, recording every step in the journal."""
    policy = policy or Policy()
    report = DeliveryReport()
    batch = _GroupCommit(journal)
    try:
        if idempotent(transport):
            batch.ahead = _queue_ahead(messages, transport, journal, now)
        for msg in messages:
            _pace(transport, batch, report.down)
            batch.hold()
            outcome, down = _deliver_one(msg, transport, batch, journal, now, policy, report.down,
                                         lambda secs: (batch.commit(), sleep(secs)))  # never back off uncommitted
            report.outcomes.append(outcome)
            report.down = report.down or down
        batch.commit()
    except sqlite3.Error as exc:
        raise _journal_trouble(journal, exc)
    return report


def _pace(transport, batch, down: str) -> None:
    """Wait out the transport's rate limit before the message is journalled, never after:
    a run stopped during the wait then leaves nothing in flight to puzzle over."""
    limiter = getattr(transport, "limiter", None)
    if not down and limiter is not None and limiter.delay() > 0:
        batch.commit()
        limiter.sleep(limiter.delay())


def idempotent(transport) -> bool:
    """Whether handing the same message over twice delivers it once, and confirm() tells for
    certain whether it was (the outbox folder: one file per Message-ID)."""
    return bool(getattr(transport, "idempotent", False))


# The detail of a message journalled with its outbox batch and not yet handed over: only a run
# stopped mid-batch leaves it (every outcome replaces it), and settle_interrupted reads it.
QUEUED_AHEAD = "queued with its batch for the outbox"


def _queue_ahead(messages, transport, journal: Journal, now) -> set[str]:
    """For an idempotent transport: every message the journal does not know yet recorded as
    queued, with its bytes, in one durable commit before the first is handed over. Returns
    their keys, whose hand-overs then need no commit of their own (see _GroupCommit)."""
    keys: set[str] = set()
    journal.db.execute("BEGIN IMMEDIATE")  # outside the try: nothing to roll back if it fails
    try:
        for msg in messages:
            if msg.key not in keys and journal.get(msg.key) is None:
                # tried=False: the attempt is counted when it is made, as for any other message,
                # so the row each message ends with is the one it would have without this.
                journal.queue(msg, transport.name, now(), tried=False)
                journal.finish(msg.key, S.QUEUED, now(), QUEUED_AHEAD)
                keys.add(msg.key)
        journal.db.execute("COMMIT")
    except BaseException:
        journal.db.execute("ROLLBACK")
        raise
    return keys


class _GroupCommit:
    """One durable journal commit per message instead of three: queued and the previous
    message's outcome wait in an open transaction, committed together with 'handing_over'
    just before the bytes leave (or at the end of the batch).

    For an idempotent transport (the outbox folder) a message queued ahead needs no commit
    at its hand-over at all, so the batch has two commits, not one per message. What makes
    'handing_over' durable matters for is telling, after a crash, whether the bytes may have
    left; for the outbox that is never in doubt: a record left queued (or handing_over) is
    looked up, and found sent if its file is there (settle_interrupted), and sending it again
    writes nothing if the file is there (OutboxTransport.send). Either way the file is written
    once and the journal ends up saying sent; and queued-with-its-bytes is durable before any
    file is written, so no message can leave without the journal knowing of it. One whose file
    is not there was never handed over and is forgotten, as it would not have been journalled
    yet without this, so the next run's plan decides whether it goes (not this batch's)."""

    def __init__(self, journal: Journal):
        self.db = journal.db
        self.open = False
        self.ahead: set[str] = set()  # keys queued durably before the batch (idempotent transports)

    def hold(self) -> None:
        if not self.open:
            self.db.execute("BEGIN IMMEDIATE")
            self.open = True

    def commit(self) -> None:
        if self.open:
            self.db.execute("COMMIT")
            self.open = False


def _deliver_one(msg, transport, batch, journal, now, policy, down, sleep) -> tuple[Outcome, str]:
    """The message's outcome, and the reason the server is down if this attempt found it so."""
    outcome = _try_one(msg, transport, batch, journal, now, policy, down, sleep)
    return (outcome, "") if isinstance(outcome, Outcome) else outcome


def _try_one(msg, transport, batch, journal, now, policy, down, sleep):
    rec = journal.get(msg.key)
    if rec and rec.state in FINAL:
        return Outcome(msg, ALREADY if rec.state == S.SENT else rec.state.value, rec.detail, rec.refused)
    if rec and rec.state in MAYBE_GONE:
        # A previous attempt may have handed it over: ask before sending again.
        known = transport.confirm(msg)
        if known is True:
            journal.finish(msg.key, S.SENT, now(), "confirmed sent after an interrupted run")
            return Outcome(msg, S.SENT.value, "confirmed sent after an interrupted run")
        if known is None:
            detail = rec.detail if rec.state == S.UNCONFIRMED else (
                f"a run was interrupted while handing it over; {unconfirmed_advice(transport.name)}")
            journal.finish(msg.key, S.UNCONFIRMED, now(), detail)
            return Outcome(msg, S.UNCONFIRMED.value, detail)
    refused = refused_recipients(msg, policy.allowed_domains)
    if refused:
        detail = f"not sent: {', '.join(refused)} outside the allowed domains {', '.join(policy.allowed_domains)}"
        journal.record_blocked(msg, transport.name, now(), detail)
        return Outcome(msg, S.BLOCKED.value, detail)
    if down:  # the server is unreachable or refused the login: do not hammer it, but keep it visible
        journal.queue(msg, transport.name, now(), tried=False)
        return Outcome(msg, S.WAITING.value, journal.wait(msg.key, now(), f"mail server unavailable: {down}"))

    def handover():
        journal.handing_over(msg.key, now())
        if msg.key not in batch.ahead:
            batch.commit()  # durable before the bytes can leave

    for attempt in range(1, policy.attempts + 1):
        batch.hold()
        if attempt > 1 or msg.key in batch.ahead:  # its row already holds these bytes
            journal.attempt(msg.key, transport.name, now())
        else:
            journal.queue(msg, transport.name, now())
        try:
            got = call_send(transport, msg, handover) or {}
        except TransportDown as exc:
            batch.hold()
            return Outcome(msg, S.WAITING.value, journal.wait(msg.key, now(), exc.detail)), exc.detail
        except TransientSendError as exc:
            batch.hold()
            detail = journal.wait(msg.key, now(), exc.detail)
            if attempt == policy.attempts:
                return Outcome(msg, S.WAITING.value, detail)
            wait = exc.retry_after if exc.retry_after is not None else policy.backoff_seconds * 2 ** (attempt - 1)
            sleep(min(wait, policy.max_wait_seconds))
            continue
        except PermanentSendError as exc:
            batch.hold()
            journal.finish(msg.key, S.FAILED, now(), exc.detail)
            return Outcome(msg, S.FAILED.value, exc.detail)
        except AmbiguousSendError as exc:
            batch.hold()
            return _settle_ambiguous(msg, transport, journal, now, exc.detail)
        batch.hold()
        detail = refused_words(got)
        journal.finish(msg.key, S.SENT, now(), detail, refused=dict(got))
        return Outcome(msg, S.SENT.value, detail, dict(got))
    raise AssertionError("unreachable")


def refused_words(refused: dict) -> str:
    """'sent to the others; refused by a@x (550 ...)' or '' when nobody refused it."""
    if not refused:
        return ""
    return "sent to the others; refused by " + "; ".join(f"{a} ({why})" for a, why in refused.items())


def _settle_ambiguous(msg, transport, journal, now, detail) -> Outcome:
    known = transport.confirm(msg)
    if known is True:
        journal.finish(msg.key, S.SENT, now(), f"confirmed sent after: {detail}")
        return Outcome(msg, S.SENT.value, detail)
    if known is False:  # known not to have gone: the next run sends it
        return Outcome(msg, S.WAITING.value, journal.wait(msg.key, now(), detail))
    msg_detail = f"{detail}; the mail server cannot confirm delivery — {unconfirmed_advice(transport.name)}"
    journal.finish(msg.key, S.UNCONFIRMED, now(), msg_detail)
    return Outcome(msg, S.UNCONFIRMED.value, msg_detail)


def stored_message(rec: Record, content: bytes | None) -> OutgoingMessage:
    """The message as journalled: its stored bytes, or (older records) a stand-in with its
    Message-ID and recipients, enough to look it up in Sent Items."""
    if content:
        em = email.message_from_bytes(content, policy=POLICY)
        to = tuple(a for _, a in getaddresses(em.get_all("To", [])) if a)
        cc = tuple(a for _, a in getaddresses(em.get_all("Cc", [])) if a)
    else:
        em = EmailMessage()
        em["Message-ID"], em["Subject"], em["To"] = rec.message_id, rec.subject, ", ".join(rec.recipients)
        to, cc = rec.recipients, ()
    msg = OutgoingMessage(rec.key, rec.inspection_id, rec.purpose, rec.version, to, cc, rec.subject,
                          "not delivered earlier: sent again as it was", em, rec.facts)
    return msg.keep_bytes(content) if content else msg


def settle_interrupted(journal: Journal, transport: Transport, now: datetime) -> list[Record]:
    """At the start of a run, settle what an earlier run left in flight: never handed over ->
    waiting (sent in this batch); handed over -> looked up (outbox file, Sent Items): sent if
    found, waiting if known not to have gone, unconfirmed if it cannot be told (SMTP). An
    unconfirmed message is looked up again where the transport can look. Returns the settled."""
    todo = [r for r in journal.records() if r.state in IN_FLIGHT or r.state == S.UNCONFIRMED]
    out = []
    try:
        for rec in todo:
            ahead = rec.state == S.QUEUED and rec.detail == QUEUED_AHEAD
            if ahead and idempotent(transport) and rec.transport == transport.name:
                # Journalled with an outbox batch (_queue_ahead), whose hand-overs were not
                # committed one by one: its file tells whether it was handed over.
                if transport.confirm(stored_message(rec, journal.content(rec.key))):
                    journal.finish(rec.key, S.SENT, now, "confirmed sent after an interrupted run")
                else:
                    # Never handed over: forgotten, as it would never have been journalled had the
                    # batch not been journalled ahead, so this run's plan decides whether it goes.
                    journal.forget(rec.key)
                    continue
            elif rec.state == S.QUEUED and not ahead:
                journal.wait(rec.key, now, "a run stopped before handing it over; sent again in this run")
            else:  # handed over, or (queued ahead for an outbox no longer configured) it may have been
                known = transport.confirm(stored_message(rec, journal.content(rec.key)))
                if known is True:
                    journal.finish(rec.key, S.SENT, now, "confirmed sent after an interrupted run")
                elif known is False and journal.content(rec.key):
                    journal.wait(rec.key, now, "an interrupted hand-over did not arrive; sent again in this run")
                elif rec.state in IN_FLIGHT:
                    journal.finish(rec.key, S.UNCONFIRMED, now, "a run was interrupted while handing it over; "
                                   + unconfirmed_advice(transport.name))
                else:
                    continue
            out.append(journal.get(rec.key))
    except sqlite3.Error as exc:
        raise _journal_trouble(journal, exc)
    return out


def caught_up(rec: Record, addr: str, records: list[Record]) -> bool:
    """A later copy of the message went to (or was made for) this refused address."""
    a = addr.lower()
    return any(s.key != rec.key and s.inspection_id == rec.inspection_id and s.purpose == rec.purpose
               and s.version == rec.version and s.first_at >= rec.first_at
               and (a in s.accepted() or a in s.facts.get("catch_up_for", ())) for s in records)


def _temporary_refusals(journal: Journal, records: list[Record], planned: list[OutgoingMessage]) -> list[OutgoingMessage]:
    """For a sent message some recipient refused only for now (4xx), a copy to that recipient
    alone, from the stored bytes (unless a step is already sending the purpose again)."""
    out = []
    for rec in records:
        temp = [a for a, why in rec.refused.items() if str(why)[:1] == "4" and not caught_up(rec, a, records)]
        if rec.state != S.SENT or not temp or any(
                m.inspection_id == rec.inspection_id and m.purpose == rec.purpose and m.version == rec.version
                for m in planned):
            continue
        content = journal.content(rec.key)
        if content:
            copy = only_to(stored_message(rec, content), temp, {"catch_up_for": sorted(a.lower() for a in temp)})
            if journal.get(copy.key) is None:
                out.append(copy)
    return out


def stored_retries(journal: Journal, planned: list[OutgoingMessage], now: datetime) -> list[OutgoingMessage]:
    """Waiting messages no step proposed this run, to send again from their stored bytes (and
    copies for recipients who refused a sent one for now). One that a newer message replaces
    (same inspection and purpose, same or later version, e.g. to a corrected address) is
    closed as failed instead, so the old address is never used."""
    keys = {m.key for m in planned}
    records = journal.records()
    out = _temporary_refusals(journal, records, planned)
    for rec in records:
        if rec.state != S.WAITING or rec.key in keys:
            continue
        newer = next((m for m in planned if m.inspection_id == rec.inspection_id and m.purpose == rec.purpose
                      and m.version >= rec.version), None)
        if newer is not None:
            journal.finish(rec.key, S.FAILED, now, f"not sent: replaced by {newer.message_id} "
                           f"(to {', '.join(newer.recipients)})")
            continue
        content = journal.content(rec.key)
        if content:
            out.append(stored_message(rec, content))
    return out
