"""Deliver a batch exactly once: journal before and after, retry the transient,
record the permanent, confirm the ambiguous, never guess silently."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

from automation.mail.journal import FINAL, Journal
from automation.mail.message import OutgoingMessage
from automation.mail.transport import (AmbiguousSendError, PermanentSendError,
                                       TransientSendError, Transport, TransportDown)


@dataclass(frozen=True)
class Outcome:
    message: OutgoingMessage
    state: str  # sent, already, deferred, failed, unconfirmed, blocked, pending
    detail: str = ""


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

    def count(self, state: str) -> int:
        return sum(1 for o in self.outcomes if o.state == state)

    def attention(self) -> list[Outcome]:
        """Outcomes an officer must look at."""
        return [o for o in self.outcomes if o.state in ("failed", "unconfirmed", "blocked", "deferred", "pending")]


def refused_recipients(msg: OutgoingMessage, allowed: tuple[str, ...]) -> list[str]:
    """Recipients outside the allowed domains (none when no restriction is set)."""
    if not allowed:
        return []
    ok = {d.lower().lstrip("@.") for d in allowed}
    return [a for a in msg.recipients if not _domain_allowed(a.rsplit("@", 1)[-1].lower(), ok)]


def _domain_allowed(domain: str, allowed: set[str]) -> bool:
    """The domain itself, or a subdomain of an allowed one (schools under hants.sch.uk, say)."""
    return any(domain == d or domain.endswith("." + d) for d in allowed)


def deliver(messages: list[OutgoingMessage], transport: Transport, journal: Journal,
            now: Callable[[], datetime], policy: Policy | None = None,
            sleep: Callable[[float], None] = lambda s: None) -> DeliveryReport:
    """Send each message at most once, recording every step in the journal."""
    policy = policy or Policy()
    report = DeliveryReport()
    down = ""
    batch = _GroupCommit(journal)
    try:
        for msg in messages:
            if down:  # the server is unreachable or refused the login: do not hammer it
                report.outcomes.append(Outcome(msg, "deferred", f"not tried: {down}"))
                continue
            _pace(transport, batch)
            batch.hold()
            outcome = _deliver_one(msg, _Durable(transport, batch), journal, now, policy,
                                   lambda secs: (batch.commit(), sleep(secs)))  # never back off uncommitted
            report.outcomes.append(outcome)
            if outcome.state == "deferred" and outcome.detail.startswith(DOWN):
                down = outcome.detail[len(DOWN):]
    finally:
        batch.commit()
    return report


def _pace(transport, batch) -> None:
    """Wait out the transport's rate limit before the message is journalled, never after:
    a run stopped during the wait then leaves nothing pending to puzzle over."""
    limiter = getattr(transport, "limiter", None)
    if limiter is not None and limiter.delay() > 0:
        batch.commit()
        limiter.sleep(limiter.delay())


class _GroupCommit:
    """One durable journal commit per message instead of two: a message's outcome waits in an
    open transaction and is committed together with the next message's 'pending' record,
    which is always committed before that message is handed over (or at the end of the batch)."""

    def __init__(self, journal: Journal):
        self.db = journal.db
        self.open = False

    def hold(self) -> None:
        if not self.open:
            self.db.execute("BEGIN IMMEDIATE")
            self.open = True

    def commit(self) -> None:
        if self.open:
            self.db.execute("COMMIT")
            self.open = False


class _Durable:
    """The transport, with everything journalled so far made durable before each hand-over."""

    def __init__(self, transport: Transport, batch: _GroupCommit):
        self.transport, self.batch = transport, batch
        self.name = transport.name

    def send(self, message: OutgoingMessage) -> None:
        self.batch.commit()  # 'pending' is on disk before the message can leave
        try:
            self.transport.send(message)
        finally:
            self.batch.hold()

    def confirm(self, message: OutgoingMessage) -> bool | None:
        return self.transport.confirm(message)


DOWN = "mail server unavailable: "


def _deliver_one(msg, transport, journal, now, policy, sleep) -> Outcome:
    rec = journal.get(msg.key)
    if rec and rec.state in FINAL:
        return Outcome(msg, "already" if rec.state == "sent" else rec.state, rec.detail)
    if rec and rec.state in ("pending", "unconfirmed"):
        # A previous attempt may have handed it over: ask before sending again.
        known = transport.confirm(msg)
        if known is True:
            journal.finish(msg.key, "sent", now(), "confirmed sent after an interrupted run")
            return Outcome(msg, "sent", "confirmed sent after an interrupted run")
        if known is None:
            detail = ("an earlier attempt was interrupted and the mail server cannot confirm whether it went "
                      "(SMTP cannot; Exchange and Graph could not be asked just now and are asked again next run); "
                      "check Sent Items, then `ofsted-tracker mail settle ... --sent` or `--resend`")
            journal.finish(msg.key, "unconfirmed", now(), detail)
            return Outcome(msg, "unconfirmed", detail)
    refused = refused_recipients(msg, policy.allowed_domains)
    if refused:
        detail = f"not sent: {', '.join(refused)} outside the allowed domains {', '.join(policy.allowed_domains)}"
        journal.record_blocked(msg, transport.name, now(), detail)
        return Outcome(msg, "blocked", detail)
    for attempt in range(1, policy.attempts + 1):
        journal.begin(msg, transport.name, now())
        try:
            transport.send(msg)
        except TransportDown as exc:
            journal.finish(msg.key, "deferred", now(), DOWN + exc.detail)
            return Outcome(msg, "deferred", DOWN + exc.detail)
        except TransientSendError as exc:
            if attempt == policy.attempts:
                journal.finish(msg.key, "deferred", now(), exc.detail)
                return Outcome(msg, "deferred", exc.detail)
            journal.finish(msg.key, "deferred", now(), exc.detail)
            wait = exc.retry_after if exc.retry_after is not None else policy.backoff_seconds * 2 ** (attempt - 1)
            sleep(min(wait, policy.max_wait_seconds))
            continue
        except PermanentSendError as exc:
            journal.finish(msg.key, "failed", now(), exc.detail)
            return Outcome(msg, "failed", exc.detail)
        except AmbiguousSendError as exc:
            return _settle_ambiguous(msg, transport, journal, now, exc.detail)
        journal.finish(msg.key, "sent", now())
        return Outcome(msg, "sent")
    raise AssertionError("unreachable")


def _settle_ambiguous(msg, transport, journal, now, detail) -> Outcome:
    known = transport.confirm(msg)
    if known is True:
        journal.finish(msg.key, "sent", now(), f"confirmed sent after: {detail}")
        return Outcome(msg, "sent", detail)
    if known is False:
        # Known not to have gone: leave pending so the next run sends it.
        journal.finish(msg.key, "deferred", now(), detail)
        return Outcome(msg, "deferred", detail)
    msg_detail = (f"{detail}; the mail server cannot confirm delivery — check Sent Items, then "
                  "`ofsted-tracker mail settle ... --sent` or `--resend`")
    journal.finish(msg.key, "unconfirmed", now(), msg_detail)
    return Outcome(msg, "unconfirmed", msg_detail)
