"""Detect new inspections and send the contact plan (internal + school) exactly once;
send one updated plan when the start date, type or deferral changes; tell the SIM and AI of
a deferral request. The keep-in-touch calls go as meeting requests of their own (steps/calls.py)."""

from __future__ import annotations

from datetime import date

from automation.context import Context
from automation.errors import ConfigError, Problem
from automation.mail.message import OutgoingMessage, build_message
from automation.mail.transport import only_to
from automation.model import Inspection
from automation.plan.contact import ContactPlan, build_plan
from automation.plan.dates import uk
from automation.plan.emails import internal_context, school_context
from automation.purposes import Purpose
from automation.steps import calls
from automation.steps.base import Step

INTERNAL, SCHOOL, DEFERRAL = Purpose.CONTACT_PLAN_INTERNAL, Purpose.CONTACT_PLAN_SCHOOL, Purpose.DEFERRAL
GRANTED = "Granted"
REPLY_TO_KEY = "school_reply_to"  # [mail] school_reply_to = "sim" (default) | "ai" | "sender" | an address


def facts(insp: Inspection) -> dict:
    """What a sent plan was based on; a change to any of these sends an updated plan."""
    return {"start_date": insp.start_date.isoformat(), "inspection_type": insp.inspection_type,
            "deferral": insp.deferral}


def describe_changes(old: dict, new: dict) -> list[str]:
    """Plain-words differences between the facts of the last plan and now."""
    out = []
    moved = old.get("start_date") != new["start_date"]
    granted = new.get("deferral") == GRANTED
    newly_granted = granted and old.get("deferral", new.get("deferral")) != GRANTED
    if moved:
        was = uk(date.fromisoformat(old["start_date"]))
        out.append((f"Ofsted has agreed to defer the inspection: it now starts on "
                    if granted else "The inspection now starts on ")
                   + f"{uk(date.fromisoformat(new['start_date']))} (it was {was}).")
    elif newly_granted:
        out.append("Ofsted has agreed to defer the inspection. The new dates are not known yet: we will send "
                   "the new times as soon as they are.")
    if old.get("inspection_type") != new["inspection_type"]:
        out.append(f"The inspection type is now {new['inspection_type']} (it was {old.get('inspection_type')}).")
    return out


def awaiting_new_dates(ctx: Context, insp: Inspection) -> bool:
    """Deferral granted but the Start date is still the one from before: the old days will not happen."""
    if insp.deferral != GRANTED:
        return False
    before = [r for r in ctx.sent(insp.inspection_id, INTERNAL) if r.facts.get("deferral", "") != GRANTED]
    return bool(before) and max(before, key=lambda r: r.version).facts.get("start_date") == insp.start_date.isoformat()


def school_reply_to(ctx: Context, plan: ContactPlan) -> str | None:
    """Where a school's reply should go: its SIM unless [mail] school_reply_to says otherwise."""
    choice = str(ctx.config.section("mail").get(REPLY_TO_KEY, "sim")).strip()
    if choice.lower() == "sim":
        return plan.sim.email
    if choice.lower() == "ai":
        return plan.ai.email
    if choice.lower() in ("sender", "shared", ""):
        return None
    if "@" in choice:
        return choice
    raise ConfigError(f"{ctx.config.source}: key 'mail.{REPLY_TO_KEY}' = {choice!r} should be \"sim\", \"ai\", "
                      "\"sender\" or an email address — correct it.")


def plan_step(ctx: Context) -> list[OutgoingMessage]:
    """Messages for new inspections, changed plans and deferral requests."""
    out: list[OutgoingMessage] = []
    for insp in ctx.tracker.inspections:
        school = ctx.tracker.schools.get(insp.urn)
        if school is None or school.sim not in ctx.tracker.staff or school.ai not in ctx.tracker.staff:
            continue
        out.extend(_plan_messages(ctx, insp))
        out.extend(_call_messages(ctx, insp, out))
        if insp.deferral == "Requested" and not ctx.sent(insp.inspection_id, DEFERRAL):
            out.append(_deferral_message(ctx, insp))
    return out + calls.orphan_cancellations(ctx)


def _call_messages(ctx: Context, insp: Inspection, proposed: list[OutgoingMessage]) -> list[OutgoingMessage]:
    """Meeting requests and cancellations for the calls of a plan that is sent or going now."""
    going = [m for m in proposed if m.inspection_id == insp.inspection_id and m.purpose == INTERNAL]
    previous = ctx.sent(insp.inspection_id, INTERNAL)
    if not going and not previous:
        return []
    if _over(ctx, insp):
        return []  # every call is over: nothing left to invite to or cancel
    plan = _plan(ctx, insp)
    base = max(previous, key=lambda r: r.version).facts if previous else facts(insp)
    why = going[0].facts.get("changes", []) if going else describe_changes(base, facts(insp))
    wanted = [] if awaiting_new_dates(ctx, insp) else calls.current_invites(plan, ctx.config.sender,
                                                                             ctx.config.la_name, ctx.now)
    return calls.call_messages(ctx, insp.inspection_id, wanted, why, school_reply_to(ctx, plan))


def _plan_messages(ctx: Context, insp: Inspection) -> list[OutgoingMessage]:
    previous = ctx.sent(insp.inspection_id, INTERNAL)
    now_facts = facts(insp)
    if not previous:
        if insp.contact_plan_sent is not None:
            return []  # sent before this journal existed (recorded in the tracker): never again
        if _over(ctx, insp):
            _recorded_after_it_ended(ctx, insp, ctx.last_day(insp))
            return []
        return _messages(ctx, _plan(ctx, insp), 1, [], "new inspection recorded")
    latest = max(previous, key=lambda r: r.version)
    changes = describe_changes(latest.facts, now_facts)
    if not changes:
        return _undelivered(ctx, insp, latest.version)
    if _over(ctx, insp):
        return []
    return _messages(ctx, _plan(ctx, insp), latest.version + 1, changes, "; ".join(changes))


def _recorded_after_it_ended(ctx: Context, insp: Inspection, ended: date) -> None:
    """History typed in after the event: said once in the summary and listed on the Problems
    sheet as information, so a wrong date (not a forgotten school) can be spotted there."""
    note = (f"{insp.inspection_id}: no contact plan sent — the inspection ended on {uk(ended)} "
            "before it was recorded.")
    if note in ctx.notes:  # the run plans once for the preview and once for real
        return
    ctx.notes.append(note)
    ctx.tracker.problems.append(Problem(
        "info", "Inspections", insp.row, "Notified at", f"{insp.notified_at:%d/%m/%Y %H:%M}",
        f"no contact plan sent — the inspection ended on {uk(ended)} before it was recorded",
        "nothing to do if the dates are right; if not, correct Notified at or Start date (day first) "
        "and the plan is sent."))


def _undelivered(ctx: Context, insp: Inspection, version: int) -> list[OutgoingMessage]:
    """The current plan for whoever it has not reached: the school's whole copy again if it
    never got through (e.g. a refused address since corrected), or a copy only to the
    recipients a server refused while the others got it (corrected since, or refused just
    for now): never a second copy to those who have it. Same recipients again = same key,
    which the journal holds back."""
    sent = {p: [r for r in ctx.sent(insp.inspection_id, p) if r.version == version] for p in (INTERNAL, SCHOOL)}
    if sent[SCHOOL] and not any(r.refused for rs in sent.values() for r in rs):
        return []
    if _over(ctx, insp):
        return []
    plan = _plan(ctx, insp)
    out = []
    for m in _messages(ctx, plan, version, [], "the school's copy had not been delivered"):
        done = sent[m.purpose]
        if not done:
            out.extend([m] if m.purpose == SCHOOL else [])
            continue
        refused = sorted({a.lower() for r in done for a in r.refused})
        got = set().union(*(r.accepted() for r in done))
        missing = [a for a in m.recipients if a.lower() not in got]
        if refused and missing:
            out.append(only_to(m, missing, {"catch_up_for": refused}))
    return out


def _over(ctx: Context, insp: Inspection) -> bool:
    # Most rows of a tracker are inspections long over: asking this before building their
    # plan spares a whole plan per row on every run (its last day is the plan's last day).
    return ctx.now.date() > ctx.last_day(insp)


def _plan(ctx: Context, insp: Inspection) -> ContactPlan:
    t = ctx.tracker
    school = t.schools[insp.urn]
    return build_plan(insp, school, t.staff, t.cem_for(school, ctx.rules.cem_for_phase),
                      ctx.rules.contact_plan, ctx.calendar)


def _messages(ctx: Context, plan: ContactPlan, version: int, changes: list[str], reason: str) -> list[OutgoingMessage]:
    cfg, school, insp = ctx.config, plan.school, plan.inspection
    head = school.headteacher_email or school.email
    office_cc = [school.email] if school.headteacher_email else []
    internal_to = [plan.sim.email, plan.ai.email]
    common = dict(sender=cfg.sender, inspection_id=insp.inspection_id, version=version, when=ctx.now,
                  facts={**facts(insp), "changes": changes}, reason=reason)
    awaiting = awaiting_new_dates(ctx, insp)
    invited = calls.current_invites(plan, cfg.sender, cfg.la_name, ctx.now) if not awaiting else []
    extra = {"awaiting_dates": awaiting, "deferral_granted": insp.deferral == GRANTED,
             "school_invited": any(i.school_invited for _, i in invited), "invites": bool(invited)}
    ictx = internal_context(plan, cfg, changes, last_outcome(ctx, insp), ctx.now, _acknowledged(ctx, insp))
    subject, text, html = ctx.renderer.render(INTERNAL, {**ictx, **extra})
    internal = build_message(to=internal_to, subject=subject, text=text, html=html, purpose=INTERNAL, **common)
    sctx = school_context(plan, cfg, changes, ctx.tracker.support_offers, ctx.now)
    subject, text, html = ctx.renderer.render(SCHOOL, {**sctx, **extra})
    school_msg = build_message(to=[head], cc=office_cc + internal_to, subject=subject, text=text, html=html,
                               purpose=SCHOOL, reply_to=school_reply_to(ctx, plan), **common)
    return [internal, school_msg]


def _acknowledged(ctx: Context, insp: Inspection):
    """When the school's acknowledgement (its copy of the plan) went: the journal's first sent
    copy, or now for the plan going in this run."""
    sent = [r for r in ctx.sent(insp.inspection_id, SCHOOL) if r.state == "sent"]
    return min(ctx.calendar.local(r.updated_at) for r in sent) if sent else ctx.now


def last_outcome(ctx: Context, insp: Inspection) -> str:
    """The school's previous inspection outcome in one line, if the tracker has it."""
    earlier = [i for i in ctx.tracker.inspections if i.urn == insp.urn and i.notified_at < insp.notified_at]
    if not earlier:
        return ""
    prev = max(earlier, key=lambda i: i.notified_at)
    parts = [f"{a}: {g}" for a, g in prev.grades.items()]
    if prev.safeguarding:
        parts.append(f"safeguarding {prev.safeguarding}")
    if prev.category_of_concern:
        parts.append(prev.category_of_concern)
    head = f"{prev.inspection_type} inspection starting {uk(prev.start_date)}"
    return head + (": " + "; ".join(parts) if parts else " (no outcome recorded)")


def _deferral_message(ctx: Context, insp: Inspection) -> OutgoingMessage:
    t = ctx.tracker
    school = t.schools[insp.urn]
    sim, ai = t.staff[school.sim], t.staff[school.ai]
    plan = _plan(ctx, insp)
    context = {"la_name": ctx.config.la_name, "sender": ctx.config.sender, "school_name": school.name, "inspection_id": insp.inspection_id,
               "headteacher": school.headteacher or "the headteacher", "start": uk(insp.start_date),
               "deferral_open": plan.deferral_open, "deferral_deadline": uk(plan.deferral_deadline),
               "deferral_answer_by": uk(plan.deferral_answer_by), "sim": sim.name, "ai": ai.name}
    subject, text, html = ctx.renderer.render(DEFERRAL, context)
    return build_message(sender=ctx.config.sender, to=[sim.email, ai.email], subject=subject, text=text,
                         html=html, inspection_id=insp.inspection_id, purpose=DEFERRAL, version=1,
                         when=ctx.now, reason="Deferral set to Requested", facts=facts(insp))


STEP = Step(plan_step, "Contact plans", 10, (INTERNAL, SCHOOL, Purpose.CONTACT_PLAN_CALL, DEFERRAL))
