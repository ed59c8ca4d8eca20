"""mail test, mail unsettled and mail settle: try the configured transport with one message,
list messages an officer must look at, and settle an unconfirmed one (mark sent / resend)."""

from __future__ import annotations

import sqlite3
from collections import Counter
from datetime import datetime
from pathlib import Path

from automation.calendar import LONDON
from automation.config import load_config
from automation.errors import MailError, TrackerError
from automation.mail.states import HANDED_OVER, SendState
from automation.purposes import Purpose

# What an officer can decide for a message the product could not settle itself.
SETTLE = {
    "sent": (SendState.SENT, "marked sent by an officer who checked it arrived"),
    "resend": (SendState.WAITING, "an officer asked for it to be sent again; the next run sends it"),
}


def register(sub) -> None:
    from automation.commands.tracker import add_tracker

    p = sub.add_parser("mail", help="try the mail transport; list and settle unconfirmed messages")
    msub = p.add_subparsers(dest="mail_command", required=True, metavar="ACTION")

    t = msub.add_parser("test", help="send one test message through the configured transport")
    t.add_argument("--config", type=Path, help="config.toml (default: embedded, to outbox/)")
    t.add_argument("--to", help="address to send to (default: the shared mailbox, [mail] sender)")
    t.add_argument("--outbox-base", type=Path, default=Path("tracker.xlsx"),
                   help="with the outbox transport: a workbook path whose folder holds outbox/")
    t.set_defaults(handler=cmd_test)

    u = msub.add_parser("unsettled", help="list every message not (yet) sent: waiting, queued, being handed over, unconfirmed, failed or blocked")
    add_tracker(u)
    u.add_argument("--config", type=Path)
    u.set_defaults(handler=cmd_unsettled)

    s = msub.add_parser("settle", help="decide an unconfirmed message: --sent (it went) or --resend")
    add_tracker(s)
    s.add_argument("message", help="the Message ID from the Email log (or its key)")
    s.add_argument("--config", type=Path)
    how = s.add_mutually_exclusive_group(required=True)
    how.add_argument("--sent", dest="decision", action="store_const", const="sent",
                     help="you found it in the shared mailbox's Sent Items: record it as sent")
    how.add_argument("--resend", dest="decision", action="store_const", const="resend",
                     help="it did not go: the next run sends it again")
    s.set_defaults(handler=cmd_settle)


def test_message(cfg, to: str, now: datetime):
    """A small message that says which transport and config sent it."""
    from automation.mail.message import build_message

    text = (f"This is a test message from ofsted-tracker for {cfg.la_name}.\n"
            f"Transport: {cfg.transport}; config: {cfg.source}; sent {now:%d %B %Y %H:%M}.\n"
            "If you can read this, the mail settings work. No school was contacted.\n")
    return build_message(sender=cfg.sender, to=[to], subject=f"ofsted-tracker test message ({cfg.transport})",
                         text=text, html=None, inspection_id="TEST", purpose=Purpose.TRANSPORT_TEST,
                         version=int(now.timestamp()), when=now, reason="mail test command")


def cmd_test(args) -> int:
    from automation.mail.delivery import Policy, deliver
    from automation.mail.factory import make_transport
    from automation.mail.journal import Journal

    cfg = load_config(args.config)
    now = datetime.now(LONDON)
    msg = test_message(cfg, args.to or cfg.sender, now)
    transport = make_transport(cfg, args.outbox_base)
    journal = Journal(":memory:")  # a test message is not part of any tracker's record
    try:
        report = deliver([msg], transport, journal, lambda: now,
                         Policy(attempts=2, allowed_domains=cfg.allowed_domains))
    finally:
        transport.close()
        journal.close()
    outcome = report.outcomes[0]
    where = ", ".join(msg.recipients) if not cfg.redirect_to else f"{cfg.redirect_to} (test mode)"
    if outcome.state == "sent":
        print(f"Sent a test message through {transport.name} to {where}. Message ID {msg.message_id}.")
        written = getattr(transport, "written", None)  # the outbox says where the file went
        if written is not None:
            print(f"The message is the file {written(msg)} (open it in Outlook or any mail program).")
        return 0
    print(f"The test message was NOT confirmed sent through {transport.name}: {outcome.state}: {outcome.detail}")
    return MailError.exit_code


def _journal(args):
    """(config, the tracker, its journal): a SharePoint tracker's journal is on this machine, by its item id."""
    from automation.commands.tracker import open_tracker
    from automation.mail.journal import Journal
    from automation.session import journal_path

    cfg = load_config(args.config)
    tracker = open_tracker(args, cfg)
    path = journal_path(tracker.identity, cfg)
    if not path.exists():
        raise TrackerError(f"No send journal for {tracker.name} at {path} — nothing has been sent from it yet "
                           "(or use the same --config as the runs, so test mode and real mode are not mixed up).")
    try:
        journal = Journal(path)
        journal.check()
    except sqlite3.DatabaseError as exc:
        raise MailError(f"The send journal {path} cannot be read ({exc}) — the next `ofsted-tracker run` moves it "
                        "aside and carries on from the tracker's Email log; until then there is nothing to settle.")
    return cfg, tracker, journal


def cmd_unsettled(args) -> int:
    _, _, journal = _journal(args)
    try:
        recs = [r for r in journal.records() if r.state != SendState.SENT]
    finally:
        journal.close()
    for r in recs:
        print(f"{r.state.value:<12} {r.inspection_id:<12} {r.purpose:<22} {', '.join(r.recipients)}\n"
              f"             {r.message_id}  {r.detail}")
    unconfirmed = sum(1 for r in recs if r.state == SendState.UNCONFIRMED)
    by = Counter(r.state.value for r in recs)
    parts = ", ".join(f"{n} {s}" for s, n in sorted(by.items()))
    line = f"{_count(len(recs), 'message')} not sent" + (f" ({parts})" if parts else "")
    if unconfirmed:
        line += (f"; {_count(unconfirmed, 'unconfirmed message')} need{'s' if unconfirmed == 1 else ''} an officer "
                 "(ask the recipient, or check Sent Items if the mail goes through Exchange, then "
                 "`ofsted-tracker mail settle WORKBOOK MESSAGE-ID --sent` or `--resend`)")
    print(line + ".")
    # A script or scheduled check can tell from the status whether an officer must act.
    return 1 if unconfirmed else 0


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def cmd_settle(args) -> int:
    from automation.session import run_lock

    cfg, tracker, journal = _journal(args)
    try:
        wanted = args.message.strip()
        rec = journal.get(wanted) or next((r for r in journal.records() if r.message_id.strip("<>") == wanted.strip("<>")), None)
        if rec is None:
            raise TrackerError(f"No message {wanted!r} in the journal of {tracker.name} — copy the Message ID "
                               "from the Email log sheet (or from `ofsted-tracker mail unsettled`).")
        if rec.state == "sent":
            print(f"{rec.message_id} is already recorded as sent; nothing changed.")
            return 0
        if args.decision == "sent" and rec.state not in HANDED_OVER:
            why = ("the mail server refused it" if rec.state == SendState.FAILED
                   else "it was never handed to a mail server")
            raise TrackerError(f"{rec.message_id} is {rec.state.value}: {why}, so it cannot have arrived — only a "
                               "message that may have gone (unconfirmed) can be settled as sent; use --resend, or "
                               "leave it for the next run.")
        if rec.state == SendState.BLOCKED:
            raise TrackerError(f"{rec.message_id} is blocked: {rec.detail} — correct the address or [mail] "
                               "allowed_domains; the next run checks it again.")
        state, detail = SETTLE[args.decision]
        with run_lock(tracker.identity, cfg):  # never while a run is sending
            journal.finish(rec.key, state, datetime.now(LONDON), detail)
    finally:
        journal.close()
    print(f"{rec.message_id} ({rec.purpose}, {rec.inspection_id}): {detail}.")
    return 0
