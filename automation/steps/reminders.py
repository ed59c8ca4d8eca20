"""Reminders: once per working day, after a set time, each officer gets one digest of their
open follow-up actions (overdue, due today, due soon); actions overdue by N working days go,
once each, to the CEM for the school's phase. Nothing to say: no email.

The run may be scheduled every 15 minutes: a digest's identity carries the date, so the
journal lets exactly one through per officer per day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from automation.context import Context
from automation.errors import ConfigError
from automation.followups import OPEN, compiled
from automation.mail.message import OutgoingMessage, build_message, message_key
from automation.mail.states import DONE_FOR_HISTORY
from automation.model import FollowUp
from automation.purposes import Purpose
from automation.settled import settled_keys
from automation.steps.base import Step

DIGEST, ESCALATION = Purpose.DIGEST, Purpose.OVERDUE_ESCALATION


@dataclass(frozen=True)
class ReminderSettings:
    enabled: bool = True
    send_after: time = time(7, 30)
    lookahead_working_days: int = 5
    escalate_after_working_days: int = 5


def settings(ctx: Context) -> ReminderSettings:
    """[reminders] from the config (errors name the file and key)."""
    raw, src, d = ctx.config.section("reminders"), ctx.config.source, ReminderSettings()

    def num(key, default):
        v = raw.get(key, default)
        if not isinstance(v, int) or isinstance(v, bool) or v < 0:
            raise ConfigError(f"{src}: key 'reminders.{key}' = {v!r} should be a whole number of working days — correct it.")
        return v

    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ConfigError(f"{src}: key 'reminders.enabled' = {enabled!r} should be true or false.")
    after = raw.get("send_after", "07:30")
    try:
        h, m = str(after).split(":")
        send_after = time(int(h), int(m))
    except ValueError:
        raise ConfigError(f"{src}: key 'reminders.send_after' = {after!r} is not a time like \"07:30\" — correct it.")
    return ReminderSettings(enabled, send_after, num("lookahead_working_days", d.lookahead_working_days),
                            num("escalate_after_working_days", d.escalate_after_working_days))


def digest_id(day: date) -> str:
    """The journal's 'inspection' for the day's reminders: one digest per officer per day."""
    return f"DIGEST-{day:%Y%m%d}"


def digest_day(inspection_id: str) -> date | None:
    """The day a digest_id() stands for (None for any other id)."""
    try:
        return datetime.strptime(inspection_id, "DIGEST-%Y%m%d").date()
    except ValueError:
        return None


def latest_digest_days(ctx: Context) -> dict[str, date]:
    """Per address (lower case), the latest day a digest was addressed to it, whatever became of it.

    Any state counts: a later day's digest that is waiting goes with a later run, and one that
    failed or was blocked would fail again at the same address (a corrected address is a new key)."""
    latest: dict[str, date] = {}
    for r in ctx.history:
        day = digest_day(r.inspection_id) if r.purpose == DIGEST else None
        for address in (r.recipients if day else ()):
            latest[address.lower()] = max(day, latest.get(address.lower(), day))
    return latest


@dataclass(frozen=True)
class Item:
    fu: FollowUp
    late: int  # working days overdue (0 = due today, negative = coming up)

    def row(self) -> dict:
        return {"inspection_id": self.fu.inspection_id, "school": self.fu.school_name, "action": self.fu.action,
                "owner": self.fu.owner, "due": f"{self.fu.due:%a %d/%m/%Y}", "reason": self.fu.reason,
                "notes": self.fu.notes, "late": self.late}


def open_items(ctx: Context, lookahead: int) -> list[Item]:
    """Open actions with an owner and a due date up to `lookahead` working days ahead."""
    cal, today = ctx.calendar, ctx.now.date()
    horizon = cal.add_working_days(today, lookahead)
    manual = [fu for fu in ctx.tracker.follow_ups if not fu.key]  # officers' own rows count too
    items = []
    for fu in compiled(ctx).follow_ups + manual:
        if fu.state != OPEN or fu.done or not fu.owner or fu.due is None or fu.due > horizon:
            continue
        items.append(Item(fu, cal.working_days_between(fu.due, today)))
    return sorted(items, key=lambda i: (i.fu.due, i.fu.school_name, i.fu.action))


def reminder_step(ctx: Context) -> list[OutgoingMessage]:
    """Today's digests and escalations, once the day's send-after time has passed."""
    s = settings(ctx)
    today = ctx.now.date()
    if not s.enabled or not ctx.calendar.is_working_day(today) or ctx.now.time() < s.send_after:
        return []
    items = open_items(ctx, s.lookahead_working_days)
    out = []
    by_owner: dict[str, list[Item]] = {}
    for it in items:
        by_owner.setdefault(it.fu.owner, []).append(it)
    latest, stale = latest_digest_days(ctx), []
    # A run every 15 minutes finds the day's digests already sent: the run would drop them by
    # their key, so they are not rendered only to be dropped.
    settled, day_id = settled_keys(ctx.history), digest_id(today)
    for name, mine in sorted(by_owner.items()):
        officer = ctx.tracker.staff.get(name)
        if officer is None:
            continue  # the Owner is not on Staff: the Problems sheet says so
        # A run whose clock is behind an earlier run's (a catch-up --now) must not send an
        # officer an older day's digest after a newer one: it would be stale and confusing.
        later = latest.get(officer.email.lower())
        if later and later > today:
            stale.append((officer.name, later))
            continue
        if message_key(day_id, DIGEST, (officer.email,), 1) not in settled:
            out.append(_digest(ctx, officer, mine, s))
    if stale:
        ctx.notes.append(f"Reminders: no daily digest for {today:%d/%m/%Y} to {', '.join(n for n, _ in stale)} — "
                         f"the journal already has their digest for {max(d for _, d in stale):%d/%m/%Y} (this run's "
                         "clock is behind an earlier run's); nothing to do.")
    out.extend(_escalations(ctx, [i for i in items if i.late >= max(1, s.escalate_after_working_days)]))
    return out


def _digest(ctx: Context, officer, mine: list[Item], s: ReminderSettings) -> OutgoingMessage:
    groups = {"overdue": [i.row() for i in mine if i.late > 0], "today": [i.row() for i in mine if i.late == 0],
              "soon": [i.row() for i in mine if i.late < 0]}
    context = {"la_name": ctx.config.la_name, "sender": ctx.config.sender, "name": officer.name,
               "day": f"{ctx.now:%A} {ctx.now.day} {ctx.now:%B %Y}", "lookahead": s.lookahead_working_days, **groups}
    subject, text, html = ctx.renderer.render(DIGEST, context)
    counts = ", ".join(f"{len(v)} {k}" for k, v in groups.items() if v)
    return build_message(sender=ctx.config.sender, to=[officer.email], subject=subject, text=text, html=html,
                         inspection_id=digest_id(ctx.now.date()), purpose=DIGEST, version=1, when=ctx.now,
                         reason=f"daily digest for {officer.name}: {counts}",
                         facts={"keys": [i.fu.key for i in mine], "addressee": officer.name})


def _escalated_before(ctx: Context) -> set[str]:
    return {k for r in ctx.history if r.purpose == ESCALATION and r.state in DONE_FOR_HISTORY
            for k in r.facts.get("keys", [])}


def _ident(fu: FollowUp) -> str:
    return fu.key or f"{fu.inspection_id}|{fu.action}"


def _escalations(ctx: Context, late: list[Item]) -> list[OutgoingMessage]:
    """Each action overdue long enough goes once to the CEM for its school's phase."""
    done = _escalated_before(ctx)
    schools = {i.inspection_id: ctx.tracker.schools.get(i.urn) for i in ctx.tracker.inspections}
    by_cem: dict[str, list[Item]] = {}
    for it in late:
        school = schools.get(it.fu.inspection_id)
        cem = ctx.tracker.cem_for(school, ctx.rules.cem_for_phase) if school else None
        if _ident(it.fu) in done:
            continue
        if cem is None:
            ctx.notes.append(f"{it.fu.inspection_id}: '{it.fu.action}' is {it.late} working days overdue but no CEM "
                             "on the Staff sheet covers the school's phase — add the CEM to Staff.")
            continue
        by_cem.setdefault(cem.name, []).append(it)
    out = []
    for name, mine in sorted(by_cem.items()):
        cem = ctx.tracker.staff[name]
        context = {"la_name": ctx.config.la_name, "sender": ctx.config.sender, "name": cem.name,
                   "day": f"{ctx.now:%A} {ctx.now.day} {ctx.now:%B %Y}", "items": [i.row() for i in mine]}
        subject, text, html = ctx.renderer.render(ESCALATION, context)
        out.append(build_message(sender=ctx.config.sender, to=[cem.email], subject=subject, text=text, html=html,
                                 inspection_id=digest_id(ctx.now.date()), purpose=ESCALATION, version=1, when=ctx.now,
                                 reason=f"{len(mine)} follow-up action(s) overdue by "
                                        f"{settings(ctx).escalate_after_working_days}+ working days",
                                 facts={"keys": [_ident(i.fu) for i in mine], "addressee": cem.name}))
    return out


# Last: the reminders read the follow-ups the run compiles.
STEP = Step(reminder_step, "Reminders", 90, (DIGEST, ESCALATION))
