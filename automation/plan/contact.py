"""Compute an inspection's contact plan from the rules data (rules/contact_plan.toml) and the
working-day calendar. Pure: the inspection, school, staff, rules and calendar go in; dated, owned
steps come out. Which steps a school gets is data (`applies`), never an `if` here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path

from automation.calendar import WorkingCalendar
from automation.conditions import PLAN_FACTS, applies  # noqa: F401 - PLAN_FACTS re-exported
from automation.model import Inspection, School, Staff
from automation.plan.dates import uk
from automation.rules import fill, validate_file
from automation.rules_schema import PLAN_ANCHORS, UNSET, ContactPlanFile, DeferralTexts, KeepInTouch, PlanStep
from automation.status import last_day

ANCHORS = PLAN_ANCHORS


@dataclass(frozen=True)
class Step:
    when: datetime  # the deadline or appointment, London time
    what: str
    owner: str  # an officer's name, or who at the school
    school_sees: bool = True  # shown in the school's email (internal-only steps are not)
    kind: str = "task"  # task | call | deadline | meeting
    school_text: str = ""  # how the school's email puts it, when that differs
    id: str = ""  # the rules entry it comes from


@dataclass(frozen=True)
class Call:
    """A keep-in-touch point, also sent as a calendar invite."""

    index: int
    start: datetime
    minutes: int
    label: str
    owner: Staff
    calendar: bool


@dataclass(frozen=True)
class ContactPlan:
    inspection: Inspection
    school: School
    sim: Staff
    ai: Staff
    cem: Staff | None
    days: tuple[date, ...]
    steps: tuple[Step, ...]
    calls: tuple[Call, ...]
    deferral_open: bool  # always True: a request during the notification call is always possible (¶76)
    deferral_deadline: datetime  # the cut-off for requests made after the call
    deferral_answer_by: datetime
    feedback_text: str
    escalation: tuple[str, ...]
    notes: tuple[str, ...] = field(default=())  # plain-words remarks (e.g. bank holiday)
    involved: bool = True  # the LA's full commitment applies (maintained, or an academy that accepted support)
    deferral_in_call_only: bool = False  # notified after the cut-off: only a request in (or straight after) the call
    ofsted: dict = field(default_factory=dict)  # Ofsted's helpline, pausing route, next-working-day call (rules data)
    nominee: str = ""
    planning_call_at: datetime | None = None


def _t(text: str) -> time:
    h, m = text.split(":")
    return time(int(h), int(m))


def inspection_days(insp: Inspection, on_site_days: int, cal: WorkingCalendar) -> tuple[date, ...]:
    """The days on site: consecutive school days from the start date."""
    end = last_day(insp, on_site_days, cal)
    days, d = [insp.start_date], insp.start_date
    while d < end:
        d = cal.next_working_day(d, school=True)
        days.append(d)
    return tuple(days)


def plan_facets(insp: Inspection, school: School) -> dict:
    """What a contact-plan condition can test about one inspection."""
    return {"governance": school.governance, "phase": school.phase, "framework": insp.framework,
            "type": insp.inspection_type, "la_support_accepted": insp.la_support_accepted,
            "deferral": insp.deferral, "category_of_concern": insp.category_of_concern,
            "context_notes": bool(school.context_notes), "diocese_recorded": bool(school.diocese),
            "trust_recorded": bool(school.trust),
            "nominee_recorded": bool(insp.nominee), "planning_call_recorded": insp.planning_call_at is not None,
            "final_feedback_recorded": insp.final_feedback_at is not None,
            "concerns_raised": insp.concerns_raised == "Yes", "safeguarding_failed": False}


def feedback_form_due(insp: Inspection, school: School, rules) -> bool:
    """Whether the LA completes a feedback form for this inspection (feedback_form.toml `applies`)."""
    from automation.conditions import named_conditions

    fw = rules.frameworks[insp.framework]
    facets = {**plan_facets(insp, school), "safeguarding_failed": insp.safeguarding in fw.safeguarding_failed}
    return applies(rules.feedback_form.applies, facets, named_conditions(rules))


def text_values(insp: Inspection, school: School, sim: Staff, ai: Staff, cem: Staff | None) -> dict[str, str]:
    """What a plan text's {fields} are filled with (rules.TEXT_FIELDS names them for the load-time check)."""
    return {"sim": sim.name, "ai": ai.name, "cem": cem.name if cem else "the County Education Manager",
            "trust": school.trust or "the trust", "diocese": school.diocese or "the diocese",
            "chair": school.chair or "the chair of governors", "nominee": insp.nominee or "the nominee",
            "lead_inspector": insp.lead_inspector or "the lead inspector"}


def deferral_values(deadline: datetime, answer_by: datetime) -> dict[str, str]:
    """The [deferral] texts' own {fields} (rules.DEFERRAL_FIELDS)."""
    return {"deadline": f"{deadline:%H:%M} on {uk(deadline.date())}", "deadline_time": f"{deadline:%H:%M}",
            "answer_by": f"{answer_by:%H:%M} on {uk(answer_by.date())}"}


def _fill(text: str, values: dict, where: str) -> str:
    return fill(text, values, f"contact_plan.toml, {where}")


def _day_time(d: date, spec, cal: WorkingCalendar) -> datetime:
    return cal.at(d, cal.day_end if spec in (None, "end") else _t(spec))


def _when(s: PlanStep, anchors: dict, cal: WorkingCalendar) -> tuple[datetime, bool]:
    """The step's moment, and whether its anchor was blank (the fallback was used)."""
    at, blank = s.at, False
    base = anchors[at]
    if base is None:
        at, blank = s.fallback, True
        base = anchors[at]
    if isinstance(base, datetime):
        if s.working_hours:
            return cal.add_working_hours(base, s.working_hours), blank
        if not s.working_days and not s.school_days:
            return base, blank
        base = base.date()
    d = base
    if s.school_days:
        d = cal.add_working_days(d, s.school_days, school=True)
    elif s.working_days:
        d = cal.add_working_days(d, s.working_days)
    return _day_time(d, s.fallback_time if blank else s.time, cal), blank


def build_plan(insp: Inspection, school: School, staff: dict[str, Staff], cem: Staff | None,
               rules: ContactPlanFile | dict, cal: WorkingCalendar) -> ContactPlan:
    """The contact plan for one inspection, every step with an owner and a time (`rules`: the
    loaded contact_plan.toml, or the same data as a plain table, checked here)."""
    if isinstance(rules, dict):
        rules = validate_file(ContactPlanFile, rules, Path("contact_plan.toml"))
    t = rules.timings
    named = rules.conditions
    facets = plan_facets(insp, school)
    sim, ai = staff[school.sim], staff[school.ai]
    days = inspection_days(insp, rules.on_site_days(insp.framework, insp.inspection_type), cal)
    notified = cal.local(insp.notified_at)
    deadline = cal.at(notified.date(), _t(t.deferral_deadline))
    answer_by = cal.at(notified.date() + timedelta(days=1), _t(t.deferral_answer_by))
    feedback = insp.final_feedback_at
    anchors = {"notified": notified, "notified_day_end": _end_of_working_day(notified, cal),
               "first_day": days[0], "last_day": days[-1],
               "final_feedback": cal.local(feedback) if feedback else None,
               "planning_call": cal.local(insp.planning_call_at) if insp.planning_call_at else None}
    ofsted = rules.ofsted.as_dict()
    values = {**text_values(insp, school, sim, ai, cem), **ofsted}
    steps = [_deferral_step(rules.deferral, notified, deadline, answer_by, values)]
    for s in rules.step:
        if not applies(s.applies, facets, named):
            continue
        moment, blank = _when(s, anchors, cal)
        where = f"step '{s.id}'"
        what = _fill(s.what, values, where) + (_fill(s.fallback_note, values, where) if blank else "")
        school_text = _fill(s.school_text, values, where)
        if school_text and blank:
            school_text += s.school_fallback_note
        steps.append(Step(moment, what, _fill(s.owner, values, where), s.school_sees, s.kind, school_text, s.id))
    calls = _calls(days, rules.keep_in_touch, ai, cal, facets, named)
    steps.extend(Step(c.start, c.label, c.owner.name, kind="call", id="keep_in_touch") for c in calls)
    texts = [f.text for f in rules.feedback_text if applies(f.applies, facets, named)]
    return ContactPlan(insp, school, sim, ai, cem, days, tuple(sorted(steps, key=lambda s: s.when)), calls,
                       True, deadline, answer_by, texts[0] if texts else "",
                       tuple(rules.escalation.steps), _notes(days, notified, cal),
                       involved=applies("la_involved", facets, named) if "la_involved" in named else True,
                       deferral_in_call_only=notified > deadline, ofsted=ofsted, nominee=insp.nominee,
                       planning_call_at=anchors["planning_call"])


def keep_in_touch_calls(insp: Inspection, school: School, ai: Staff, rules: ContactPlanFile,
                        cal: WorkingCalendar) -> tuple[Call, ...]:
    """The plan's keep-in-touch calls alone, the same as build_plan's `calls`: for figures over
    every inspection, which need neither the steps nor their texts (a tenth of the work)."""
    days = inspection_days(insp, rules.on_site_days(insp.framework, insp.inspection_type), cal)
    return _calls(days, rules.keep_in_touch, ai, cal, plan_facets(insp, school), rules.conditions)


def _end_of_working_day(moment: datetime, cal: WorkingCalendar) -> datetime:
    d = moment.date()
    if not cal.is_working_day(d) or moment.time() >= cal.day_end:
        d = cal.next_working_day(d)
    return cal.at(d, cal.day_end)


def _deferral_step(texts: DeferralTexts, notified, deadline, answer_by, values) -> Step:
    fields = {**values, **deferral_values(deadline, answer_by)}
    owner = _fill(texts.owner, fields, "[deferral] owner")
    if notified <= deadline:
        return Step(deadline, _fill(texts.before_cutoff, fields, "[deferral]"),
                    owner, kind="deadline", id="deferral")
    return Step(notified, _fill(texts.after_cutoff, fields, "[deferral]"),
                owner, kind="task", id="deferral")


def _calls(days, points: list[KeepInTouch], ai: Staff, cal: WorkingCalendar, facets: dict,
           named: dict) -> tuple[Call, ...]:
    calls = []
    for p in points:
        # A point without `applies` is for the schools of the LA's full commitment, where that is defined.
        cond = p.applies if p.applies is not UNSET else ("la_involved" if "la_involved" in named else None)
        if not p.enabled or not applies(cond, facets, named):
            continue
        chosen = {"each": days, "first": days[:1], "last": days[-1:]}[p.days]
        for d in chosen:
            calls.append(Call(len(calls) + 1, cal.at(d, _t(p.time)), p.minutes, p.label, ai, p.calendar))
    return tuple(sorted(calls, key=lambda c: c.start))


def _notes(days, notified, cal: WorkingCalendar) -> tuple[str, ...]:
    notes = []
    d = notified.date()
    while d <= days[-1]:
        name = cal.bank_holiday(d)
        if name:
            notes.append(f"{uk(d)} is a bank holiday ({name}): it is not counted as a working day.")
        elif cal.is_working_day(d) and not cal.is_school_day(d):
            notes.append(f"{uk(d)} is in the school holidays: it is not counted as a school day.")
        d += timedelta(days=1)
    return tuple(notes)
