"""Template contexts for the contact-plan and concern emails. The school's context is
built only from school-safe fields, so no template can reach an internal note."""

from __future__ import annotations

from datetime import datetime

from automation.config import Config
from automation.model import Inspection, School, Staff, SupportOffer
from automation.plan.contact import ContactPlan, Step
from automation.plan.dates import uk

ASAP = "As soon as possible today"
STILL_TO_DO = ("task", "call")  # past deadlines and meetings are over; these can still be done late
# The plan's first step: the school's own copy of the plan is that acknowledgement, so once it has
# gone the step is done, and the school is never shown it as an appointment.
ACKNOWLEDGE = "Acknowledge the notification"

when = day = uk  # the one date style (automation/plan/dates.py); older names kept for other modules


def _person(s: Staff | None) -> dict:
    if s is None:
        return {"name": "the County Education Manager", "email": "", "phone": "", "role": "CEM"}
    return {"name": s.name, "email": s.email, "phone": s.phone, "role": s.role}


def _common(plan: ContactPlan, cfg: Config, changes: list[str]) -> dict:
    insp, school = plan.inspection, plan.school
    return {
        "la_name": cfg.la_name, "la_phone": cfg.la_phone, "sender": cfg.sender,
        "school_name": school.name, "inspection_type": insp.inspection_type,
        "framework": insp.framework, "notified_at": when(insp.notified_at),
        "start": day(plan.days[0]), "days": [day(d) for d in plan.days], "last_day": day(plan.days[-1]),
        "lead_inspector": insp.lead_inspector, "sim": _person(plan.sim), "ai": _person(plan.ai),
        "deferral_open": plan.deferral_open, "deferral_deadline": when(plan.deferral_deadline),
        "deferral_answer_by": when(plan.deferral_answer_by), "feedback_text": plan.feedback_text,
        "calls": [{"when": when(c.start), "label": c.label, "owner": c.owner.name} for c in plan.calls],
        "contacts": _contacts(plan, cfg),
        "changes": changes, "updated": bool(changes), "notes": list(plan.notes),
        "inspection_id": insp.inspection_id,
        # Rules data (contact_plan.toml): whether the LA's full commitment applies (maintained, or an
        # academy that accepted support), the deferral request in the call (¶76), Ofsted's routes.
        "la_involved": plan.involved, "deferral_in_call_only": plan.deferral_in_call_only,
        "ofsted": dict(plan.ofsted), "nominee": plan.nominee,
        "planning_call_at": when(plan.planning_call_at) if plan.planning_call_at else "",
        "trust": plan.school.trust, "diocese": plan.school.diocese, "chair": plan.school.chair,
    }


def _contacts(plan: ContactPlan, cfg: Config) -> list[dict]:
    """The SIM and AI (once, if one person is both) and the team number if it is not theirs."""
    people: dict[str, dict] = {}
    for short, role, s in (("SIM", "School Improvement Manager", plan.sim), ("AI", "Attached inspector", plan.ai)):
        key = s.email.lower()
        if key in people:
            people[key]["role"] += f" and {role[0].lower()}{role[1:]}"
            people[key]["short"] += f" and {short}"
        else:
            people[key] = {"name": s.name, "role": role, "short": short, "email": s.email, "phone": s.phone}
    out = list(people.values())
    if cfg.la_phone and cfg.la_phone not in {p["phone"] for p in out}:
        out.append({"name": "Team number", "role": cfg.la_name, "short": "Team", "email": "", "phone": cfg.la_phone})
    return out


def _is_acknowledgement(st: Step) -> bool:
    return getattr(st, "id", "").startswith("acknowledge") or st.what.startswith(ACKNOWLEDGE)


def _internal_when(st: Step, now: datetime, acknowledged: datetime | None) -> str:
    if acknowledged is not None and _is_acknowledgement(st):
        if acknowledged >= now:
            return f"Done with this plan: the school's copy goes now (due {when(st.when)})"
        return f"Done: the school's copy of the plan went {when(acknowledged)}"
    if st.when >= now:
        return when(st.when)
    if st.kind in STILL_TO_DO:
        return f"As soon as possible (overdue: due {when(st.when)})"
    return f"{when(st.when)} (passed)"


def _school_when(moment: datetime, kind: str, now: datetime) -> str | None:
    """A time the school can rely on: never one already past. None leaves the step out."""
    if moment >= now:
        return when(moment)
    if kind in STILL_TO_DO and moment.date() == now.astimezone(moment.tzinfo).date():
        return ASAP
    return None


def internal_context(plan: ContactPlan, cfg: Config, changes: list[str], last_outcome: str, now: datetime,
                     acknowledged: datetime | None = None) -> dict:
    """For the SIM and AI: everything, including context notes and the escalation route;
    steps whose time has passed by `now` are marked overdue (or passed), except the
    acknowledgement once the school's copy has gone (`acknowledged`)."""
    s = plan.school
    return {**_common(plan, cfg, changes),
            "phase": s.phase, "governance": s.governance, "district": s.district,
            "headteacher": s.headteacher or "(not recorded)",
            "school_email": s.headteacher_email or s.email, "context_notes": s.context_notes,
            "last_outcome": last_outcome, "cem": _person(plan.cem), "escalation": list(plan.escalation),
            "steps": [{"when": _internal_when(st, now, acknowledged), "what": st.what, "owner": st.owner,
                       "school_sees": st.school_sees,
                       "overdue": st.when < now and st.kind in STILL_TO_DO
                                  and not (acknowledged and _is_acknowledgement(st))}
                      for st in plan.steps],
            "record": ["Deferral (Requested / Granted / Refused) and any new Start date",
                       "Concerns raised = Yes, with Concern notes, the moment a concern is shared",
                       "Final feedback at, Safeguarding, Category of concern and the judgements",
                       "Conduct concerns, and the date the feedback form is completed",
                       "Complaint made = Yes if the school makes a formal complaint to Ofsted"]}


def school_context(plan: ContactPlan, cfg: Config, changes: list[str], offers: list[SupportOffer],
                   now: datetime) -> dict:
    """For the headteacher: only what the school should see (no notes, no other schools), and
    no time already past at `now`: a call or task due earlier today is "as soon as possible
    today"; past deadlines, meetings and earlier days' steps are left out."""
    granted = plan.inspection.deferral == "Granted"  # the deferral deadline is history, not a choice
    steps = [(_school_when(st.when, st.kind, now), st) for st in plan.steps if _school_step(st, plan)
             and not (granted and getattr(st, "id", "") == "deferral")]
    calls = [(_school_when(c.start, "call", now), c) for c in plan.calls
             if any(st.kind == "call" and st.school_sees and st.when == c.start and st.what == c.label
                    for st in plan.steps)]
    return {**_common(plan, cfg, changes),
            "headteacher": plan.school.headteacher, "deferral_passed": now > plan.deferral_deadline,
            "deferral_answer_ahead": now < plan.deferral_answer_by,
            "steps": [{"when": w, "what": st.school_text or st.what, "owner": st.owner} for w, st in steps if w],
            "calls": [{"when": w, "label": c.label, "owner": c.owner.name} for w, c in calls if w],
            "offers": [{"name": o.name, "provider": o.provider, "detail": o.detail, "access": o.access} for o in offers],
            "still_to_come": _lower_first(next((st.school_text for st in plan.steps
                                                if _is_acknowledgement(st) and st.school_text), ""))}


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _school_step(st: Step, plan: ContactPlan) -> bool:
    """What the school's "what happens when" lists: the steps it sees, except the keep-in-touch
    calls (those have their own list) and the acknowledgement, which this very email is."""
    if not st.school_sees or _is_acknowledgement(st):
        return False
    if st.kind == "call":
        return not any(c.start == st.when and c.label == st.what for c in plan.calls)
    return True


def concern_context(insp: Inspection, school: School, sim: Staff, ai: Staff, cem: Staff | None,
                    cfg: Config, escalation: list[str], version: int, previous_notes: str) -> dict:
    """For the SIM, AI and CEM: the concern as recorded and the agreed escalation route."""
    return {"la_name": cfg.la_name, "sender": cfg.sender, "school_name": school.name, "phase": school.phase,
            "governance": school.governance, "headteacher": school.headteacher or "(not recorded)",
            "inspection_id": insp.inspection_id, "inspection_type": insp.inspection_type,
            "start": day(insp.start_date), "lead_inspector": insp.lead_inspector or "(not recorded)",
            "notes": insp.concern_notes or "(no notes recorded yet: ask the AI)",
            "previous_notes": previous_notes, "version": version,
            "sim": _person(sim), "ai": _person(ai), "cem": _person(cem), "escalation": escalation}
