"""Detect new inspections and send the contact plan (internal + school) exactly once;
send one updated plan when the start date or type changes; tell the SIM and AI of a
deferral request."""

from __future__ import annotations

from automation.context import Context
from automation.mail.message import OutgoingMessage, build_message
from automation.model import Inspection
from automation.plan.contact import ContactPlan, build_plan
from automation.plan.emails import day, internal_context, school_context
from automation.plan.ics import calls_invite

INTERNAL, SCHOOL, DEFERRAL = "contact_plan_internal", "contact_plan_school", "deferral_requested"


def facts(insp: Inspection) -> dict:
    """What a sent plan was based on; a change to any of these sends an updated plan."""
    return {"start_date": insp.start_date.isoformat(), "inspection_type": insp.inspection_type}


def describe_changes(old: dict, new: dict) -> list[str]:
    """Plain-words differences between the facts of the last plan and now."""
    out = []
    if old.get("start_date") != new["start_date"]:
        from datetime import date
        out.append(f"The inspection now starts on {day(date.fromisoformat(new['start_date']))} "
                   f"(it was {day(date.fromisoformat(old['start_date']))}).")
    if old.get("inspection_type") != new["inspection_type"]:
        out.append(f"The inspection type is now {new['inspection_type']} (it was {old.get('inspection_type')}).")
    return out


def plan_step(ctx: Context) -> list[OutgoingMessage]:
    """Messages for new inspections, changed plans and deferral requests."""
    out: list[OutgoingMessage] = []
    for insp in ctx.tracker.inspections:
        school = ctx.tracker.schools.get(insp.urn)
        if school is None or school.sim not in ctx.tracker.staff or school.ai not in ctx.tracker.staff:
            continue
        out.extend(_plan_messages(ctx, insp))
        if insp.deferral == "Requested" and not ctx.sent(insp.inspection_id, DEFERRAL):
            out.append(_deferral_message(ctx, insp))
    return out


def _plan_messages(ctx: Context, insp: Inspection) -> list[OutgoingMessage]:
    previous = ctx.sent(insp.inspection_id, INTERNAL)
    now_facts = facts(insp)
    if not previous:
        if insp.contact_plan_sent is not None:
            return []  # sent before this journal existed (recorded in the tracker): never again
        plan = _plan(ctx, insp)
        if ctx.now.date() > plan.days[-1]:
            ctx.notes.append(f"{insp.inspection_id}: no contact plan sent — the inspection ended on "
                             f"{plan.days[-1]:%d/%m/%Y} before it was recorded.")
            return []
        return _messages(ctx, plan, 1, [], "new inspection recorded")
    latest = max(previous, key=lambda r: r.version)
    changes = describe_changes(latest.facts, now_facts)
    if not changes:
        return _undelivered(ctx, insp, latest.version)
    plan = _plan(ctx, insp)
    if ctx.now.date() > plan.days[-1]:
        return []
    return _messages(ctx, plan, latest.version + 1, changes, "; ".join(changes))


def _undelivered(ctx: Context, insp: Inspection, version: int) -> list[OutgoingMessage]:
    """The school's copy of the current plan again, if it never got through (e.g. a refused
    address since corrected). Same address again = same key, which the journal holds back."""
    if any(r.version == version for r in ctx.sent(insp.inspection_id, SCHOOL)):
        return []
    plan = _plan(ctx, insp)
    if ctx.now.date() > plan.days[-1]:
        return []
    return [m for m in _messages(ctx, plan, version, [], "the school's copy had not been delivered")
            if m.purpose == SCHOOL]


def _plan(ctx: Context, insp: Inspection) -> ContactPlan:
    t = ctx.tracker
    school = t.schools[insp.urn]
    return build_plan(insp, school, t.staff, t.cem_for(school, ctx.rules.cem_for_phase),
                      ctx.rules.extra["contact_plan"], ctx.calendar)


def _messages(ctx: Context, plan: ContactPlan, version: int, changes: list[str], reason: str) -> list[OutgoingMessage]:
    cfg, school, insp = ctx.config, plan.school, plan.inspection
    head = school.headteacher_email or school.email
    office_cc = [school.email] if school.headteacher_email else []
    internal_to = [plan.sim.email, plan.ai.email]
    common = dict(sender=cfg.sender, inspection_id=insp.inspection_id, version=version, when=ctx.now,
                  facts=facts(insp), reason=reason)
    ictx = internal_context(plan, cfg, changes, last_outcome(ctx, insp), ctx.now)
    subject, text, html = ctx.renderer.render(INTERNAL, ictx)
    invite_internal = calls_invite(plan, cfg.sender, [plan.ai.email, head], version, ctx.now, cfg.la_name)
    internal = build_message(to=internal_to, subject=subject, text=text, html=html, purpose=INTERNAL,
                             attachments=[a for a in [invite_internal] if a], **common)
    sctx = school_context(plan, cfg, changes, ctx.tracker.support_offers, ctx.now)
    subject, text, html = ctx.renderer.render(SCHOOL, sctx)
    school_msg = build_message(to=[head], cc=office_cc + internal_to, subject=subject, text=text, html=html,
                               purpose=SCHOOL, reply_to=plan.sim.email,
                               attachments=[a for a in [invite_internal] if a], **common)
    return [internal, school_msg]


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
    head = f"{prev.inspection_type} inspection starting {prev.start_date:%d/%m/%Y}"
    return head + (": " + "; ".join(parts) if parts else " (no outcome recorded)")


def _deferral_message(ctx: Context, insp: Inspection) -> OutgoingMessage:
    t = ctx.tracker
    school = t.schools[insp.urn]
    sim, ai = t.staff[school.sim], t.staff[school.ai]
    plan = _plan(ctx, insp)
    context = {"la_name": ctx.config.la_name, "sender": ctx.config.sender, "school_name": school.name, "inspection_id": insp.inspection_id,
               "headteacher": school.headteacher or "the headteacher", "start": day(insp.start_date),
               "deferral_open": plan.deferral_open, "deferral_deadline": f"{plan.deferral_deadline:%H:%M}",
               "deferral_answer_by": f"{plan.deferral_answer_by:%H:%M on %A}", "sim": sim.name, "ai": ai.name}
    subject, text, html = ctx.renderer.render(DEFERRAL, context)
    return build_message(sender=ctx.config.sender, to=[sim.email, ai.email], subject=subject, text=text,
                         html=html, inspection_id=insp.inspection_id, purpose=DEFERRAL, version=1,
                         when=ctx.now, reason="Deferral set to Requested", facts=facts(insp))
