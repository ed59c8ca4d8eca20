"""Template contexts for the contact-plan and concern emails. The school's context is
built only from school-safe fields, so no template can reach an internal note."""

from __future__ import annotations

from datetime import datetime

from automation.config import Config
from automation.model import Inspection, School, Staff, SupportOffer
from automation.plan.contact import ContactPlan, Step

ASAP = "As soon as possible today"
STILL_TO_DO = ("task", "call")  # past deadlines and meetings are over; these can still be done late


def when(dt: datetime) -> str:
    """'Tuesday 17 November 2026, 17:00' in London time."""
    return f"{dt:%A} {dt.day} {dt:%B %Y, %H:%M}"


def day(d) -> str:
    return f"{d:%A} {d.day} {d:%B %Y}"


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
        "calls": [{"when": when(c.start), "label": c.label, "owner": c.owner.name, "phone": c.owner.phone}
                  for c in plan.calls],
        "changes": changes, "updated": bool(changes), "notes": list(plan.notes),
        "inspection_id": insp.inspection_id,
    }


def _internal_when(st: Step, now: datetime) -> str:
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


def internal_context(plan: ContactPlan, cfg: Config, changes: list[str], last_outcome: str, now: datetime) -> dict:
    """For the SIM and AI: everything, including context notes and the escalation route;
    steps whose time has passed by `now` are marked overdue (or passed)."""
    s = plan.school
    return {**_common(plan, cfg, changes),
            "phase": s.phase, "governance": s.governance, "district": s.district,
            "headteacher": s.headteacher or "(not recorded)",
            "school_email": s.headteacher_email or s.email, "context_notes": s.context_notes,
            "last_outcome": last_outcome, "cem": _person(plan.cem), "escalation": list(plan.escalation),
            "steps": [{"when": _internal_when(st, now), "what": st.what, "owner": st.owner,
                       "school_sees": st.school_sees, "overdue": st.when < now} for st in plan.steps],
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
    steps = [(_school_when(st.when, st.kind, now), st) for st in plan.steps if st.school_sees]
    calls = [(_school_when(c.start, "call", now), c) for c in plan.calls]
    return {**_common(plan, cfg, changes),
            "headteacher": plan.school.headteacher, "deferral_passed": now > plan.deferral_deadline,
            "deferral_answer_ahead": now < plan.deferral_answer_by,
            "steps": [{"when": w, "what": st.school_text or st.what, "owner": st.owner} for w, st in steps if w],
            "calls": [{"when": w, "label": c.label, "owner": c.owner.name, "phone": c.owner.phone} for w, c in calls if w],
            "offers": [{"name": o.name, "provider": o.provider, "detail": o.detail, "access": o.access} for o in offers]}


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
