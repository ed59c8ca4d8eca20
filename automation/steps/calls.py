"""Keep-in-touch calls as meeting requests: one calendar object (UID) per call, updated in place
(same UID, higher SEQUENCE) when its time changes, and cancelled exactly once when it leaves
the plan — type or days changed, deferral granted, row deleted.

Each call goes in two messages with the same calendar object: one to the LA's officers (AI,
SIM) and one to the headteacher when the school's plan has the call. So a wrong or refused
school address never keeps the call out of the officers' calendars (RFC 6047 lets an organiser
send each attendee a separate message). What each audience's calendar holds is read back from
the journal: every request and cancellation records its calendar object in `facts`."""

from __future__ import annotations

from datetime import datetime

from automation.context import Context
from automation.mail.journal import Record
from automation.mail.message import OutgoingMessage, build_message
from automation.plan.contact import ContactPlan
from automation.plan.dates import uk
from automation.plan.ics import CANCEL, REQUEST, Attendee, CallInvite, attach_itip, call_uid, itip
from automation.purposes import Purpose

CALL = Purpose.CONTACT_PLAN_CALL  # every request's and cancellation's template; its purpose adds audience and slot
LA, SCHOOL = "la", "school"  # the two audiences of one call


def purpose(method: str, audience: str, slot: str) -> str:
    """e.g. contact_plan_call_school_day2, contact_plan_call_cancel_la_day1: one per audience and
    call, so each message has its own key and its own line on the Problems sheet."""
    return f"{CALL}_{'cancel_' if method == CANCEL else ''}{audience}_{slot}"


def school_has_call(plan: ContactPlan, start: datetime, label: str) -> bool:
    """The school's own plan lists this call (whatever rule put it there or left it out)."""
    return any(st.kind == "call" and st.school_sees and st.when == start and st.what == label for st in plan.steps)


def current_invites(plan: ContactPlan, sender: str, la_name: str, now: datetime) -> list[tuple[str, CallInvite]]:
    """(slot, calendar object) for every calendar call of this plan not yet over."""
    school, domain = plan.school, sender.rsplit("@", 1)[-1]
    head = school.headteacher_email or school.email
    calls = [c for c in plan.calls if c.calendar and c.start.timestamp() + 60 * c.minutes > now.timestamp()]
    out = []
    for c in calls:
        invited = school_has_call(plan, c.start, c.label)
        people = [Attendee(c.owner.name, c.owner.email), Attendee(plan.sim.name, plan.sim.email, "OPT-PARTICIPANT")]
        if invited:
            people.append(Attendee(school.headteacher or school.name, head))
        people = list({a.email.lower(): a for a in reversed(people)}.values())[::-1]  # a SIM who is also the AI: once
        day_no = plan.days.index(c.start.date()) + 1
        uid = call_uid(plan.inspection.inspection_id, day_no, c.label, domain)
        same_day = [x for x in calls if x.start.date() == c.start.date()]
        slot = f"day{day_no}" if len(same_day) == 1 else "-".join(uid.split("@")[0].rsplit("-", 2)[-2:])
        phone = f" on {c.owner.phone}" if c.owner.phone else ""
        description = (f"{c.label}, day {day_no} of {school.name}'s Ofsted inspection. {c.owner.name} ({la_name}) "
                       f"phones {school.headteacher or 'the headteacher'}. If the time does not suit, tell "
                       f"{c.owner.name}{phone}.")
        out.append((slot, CallInvite(uid, c.start, c.minutes, f"{c.label}: {school.name}", description,
                                     tuple(people), invited)))
    return out


def audiences(inv: CallInvite) -> dict[str, tuple[str, ...]]:
    """Who gets the call's messages, by audience (the headteacher is the last attendee, if invited)."""
    emails = tuple(a.email for a in inv.attendees)
    return {LA: emails[:-1], SCHOOL: emails[-1:]} if inv.school_invited else {LA: emails}


def held(history: list[Record]) -> dict[tuple[str, tuple[str, ...]], dict]:
    """The newest calendar object per (UID, recipients) that the journal shows as sent: what
    those people's calendars hold."""
    latest: dict = {}
    for r in history:
        f = r.facts
        if "uid" not in f:
            continue
        key = (f["uid"], tuple(f["to"]))
        if key not in latest or f["sequence"] >= latest[key]["sequence"]:
            latest[key] = f
    return latest


def call_messages(ctx: Context, inspection_id: str, wanted: list[tuple[str, CallInvite]], why: list[str],
                  reply_to: str | None) -> list[OutgoingMessage]:
    """Requests for new or changed calls; cancellations for calls (or recipients) removed, while still ahead."""
    holding = held(ctx.sent(inspection_id, CALL))
    out: list[OutgoingMessage] = []
    for slot, inv in wanted:
        mine = {to: f for (uid, to), f in holding.items() if uid == inv.uid}
        groups = audiences(inv)
        seq = _sequence(inv, mine, set(groups.values()))
        for aud, to in groups.items():
            old = mine.get(to)
            if old is None or old["method"] == CANCEL or old["sequence"] != seq:
                out.append(_message(ctx, inspection_id, slot, inv, REQUEST, seq, aud, to, why, reply_to))
        for to, old in mine.items():
            if to not in groups.values() and old["method"] == REQUEST:
                # RFC 5546 3.2.5: whoever is taken off a call that goes ahead (a new headteacher's
                # predecessor; a school whose plan no longer has the call) gets a cancellation.
                out.append(_cancel_for(ctx, inspection_id, old, max(seq, old["sequence"] + 1), why, reply_to))
    keep = {inv.uid for _, inv in wanted}
    for (uid, _to), old in holding.items():
        if uid not in keep and old["method"] == REQUEST and CallInvite.from_facts(old).end > ctx.now:
            top = max(f["sequence"] for (u, _), f in holding.items() if u == uid)
            out.append(_cancel_for(ctx, inspection_id, old, top + 1, why, reply_to))
    return out


def _sequence(inv: CallInvite, mine: dict, groups: set) -> int:
    """The SEQUENCE for the call as wanted now: the last one while its time and wording are
    unchanged, one more when they change, and always above a cancellation a calendar holds."""
    if not mine:
        return 0
    top = max(f["sequence"] for f in mine.values())
    current = [f for to, f in mine.items() if f["method"] == REQUEST and to in groups]
    best = max(current, key=lambda f: f["sequence"]) if current else None
    seq = best["sequence"] if best and CallInvite.from_facts(best).content()[:4] == inv.content()[:4] else top + 1
    for to in groups:
        old = mine.get(to)
        if old and old["method"] == CANCEL and old["sequence"] >= seq:
            seq = old["sequence"] + 1
    return seq


def _cancel_for(ctx, inspection_id, old: dict, seq: int, why, reply_to) -> OutgoingMessage:
    inv = CallInvite.from_facts(old)
    return _message(ctx, inspection_id, old["slot"], inv, CANCEL, seq, old["audience"], tuple(old["to"]), why, reply_to)


def _message(ctx: Context, inspection_id: str, slot: str, inv: CallInvite, method: str, sequence: int,
             audience: str, recipients: tuple[str, ...], why: list[str], reply_to: str | None) -> OutgoingMessage:
    cfg = ctx.config
    context = {"la_name": cfg.la_name, "sender": cfg.sender, "summary": inv.summary, "description": inv.description,
               "when": uk(inv.start.astimezone(ctx.calendar.tz)), "minutes": inv.minutes,
               "cancelled": method == CANCEL, "updated": sequence > 0 and method == REQUEST, "changes": why,
               "attendees": [a.name for a in inv.attendees]}
    subject, text, html = ctx.renderer.render(CALL, context)
    facts = {**inv.facts(method, sequence), "audience": audience, "slot": slot, "to": list(recipients)}
    msg = build_message(sender=cfg.sender, to=recipients, subject=subject, text=text, html=html,
                        inspection_id=inspection_id, purpose=purpose(method, audience, slot), version=sequence + 1,
                        when=ctx.now, reason=f"{method.lower()} {inv.summary}, {context['when']}", facts=facts,
                        reply_to=reply_to if audience == SCHOOL else None)
    attach_itip(msg.email, itip(inv, method, sequence, cfg.sender, cfg.la_name, ctx.now), method)
    return msg


def orphan_cancellations(ctx: Context) -> list[OutgoingMessage]:
    """Cancel the calls still ahead of inspections whose row has gone from the tracker. Not while
    any Inspections row has an error: such a row is skipped, and must not look deleted."""
    if any(p.sheet == "Inspections" and p.severity == "error" for p in ctx.tracker.problems):
        return []
    present = {i.inspection_id for i in ctx.tracker.inspections}
    gone = sorted({r.inspection_id for r in ctx.history if Purpose.of(r.purpose) is CALL} - present)
    why = ["This inspection is no longer in the local authority's records, so the call will not take place."]
    return [m for iid in gone for m in call_messages(ctx, iid, [], why, None)]
