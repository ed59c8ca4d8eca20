"""Compute an inspection's contact plan from the rules data and the working-day calendar.
Pure: the inspection, school, staff, rules and calendar go in; dated, owned steps come out."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from automation.calendar import WorkingCalendar
from automation.model import Inspection, School, Staff
from automation.status import last_day


@dataclass(frozen=True)
class Step:
    when: datetime  # the deadline or appointment, London time
    what: str
    owner: str  # an officer's name, or who at the school
    school_sees: bool = True  # shown in the school's email (internal-only steps are not)
    kind: str = "task"  # task | call | deadline | meeting
    school_text: str = ""  # how the school's email puts it, when that differs


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
    deferral_open: bool
    deferral_deadline: datetime
    deferral_answer_by: datetime
    feedback_text: str
    escalation: tuple[str, ...]
    notes: tuple[str, ...] = field(default=())  # plain-words remarks (e.g. bank holiday)


def _t(text: str) -> time:
    h, m = text.split(":")
    return time(int(h), int(m))


def inspection_days(insp: Inspection, on_site_days: int, cal: WorkingCalendar) -> tuple[date, ...]:
    """The days on site: consecutive working days from the start date."""
    end = last_day(insp, on_site_days, cal)
    days, d = [insp.start_date], insp.start_date
    while d < end:
        d = cal.next_working_day(d)
        days.append(d)
    return tuple(days)


def build_plan(insp: Inspection, school: School, staff: dict[str, Staff], cem: Staff | None,
               rules: dict, cal: WorkingCalendar) -> ContactPlan:
    """The contact plan for one inspection, every step with an owner and a time."""
    t = rules["timings"]
    sim, ai = staff[school.sim], staff[school.ai]
    on_site = int(rules["types"].get(f"{insp.framework}.{insp.inspection_type}", {}).get("on_site_days", 2))
    days = inspection_days(insp, on_site, cal)
    involvement = rules["involvement"].get(school.governance, rules["involvement"]["Other"])
    notified = cal.local(insp.notified_at)
    deadline = cal.at(notified.date(), _t(t["deferral_deadline"]))
    answer_by = cal.at(notified.date() + timedelta(days=1), _t(t["deferral_answer_by"]))
    first = cal.at(days[0], _t(t["lead_inspector_call_by"]))
    steps = [
        Step(cal.add_working_hours(notified, t["acknowledge_within_working_hours"]),
             "Acknowledge the notification to the school and set out the LA's keep-in-touch times",
             f"{sim.name} (SIM) or {ai.name} (AI)",
             school_text="A call from us to talk through how we will support you, and anything you need"),
        Step(_end_of_working_day(notified, cal), "SIM and AI agree the approach for this school: a visit before "
             "the start by the AI, email, or phone", f"{sim.name} and {ai.name}", school_sees=False),
    ]
    if school.context_notes:
        steps.append(Step(cal.at(days[0], _t(t["context_to_lead_inspector_by"])),
                          "Offer the lead inspector context before the start (see the context notes)",
                          sim.name, school_sees=False))
    steps.append(_deferral_step(notified, deadline, answer_by, sim, ai))
    if involvement["lead_inspector_call"]:
        steps.append(Step(first, "The lead inspector's call with the LA representative, before the start",
                          f"{sim.name} or {ai.name}", kind="call"))
    else:
        steps.append(Step(_end_of_working_day(notified, cal), "Offer support; the LA joins Ofsted's discussions only if "
                          "the school invites us or Ofsted asks", sim.name))
    calls = _calls(days, rules.get("keep_in_touch", []), ai, cal)
    steps.extend(Step(c.start, c.label, c.owner.name, kind="call") for c in calls)
    feedback_at = insp.final_feedback_at or cal.at(days[-1], time(15, 0))
    steps.append(Step(feedback_at, "Final feedback meeting" + (" (time to be confirmed by the lead inspector)"
                                                                if insp.final_feedback_at is None else ""),
                      f"{sim.name} or {ai.name}" if involvement["attends_feedback"] == "always"
                      else "the LA, if invited or if safeguarding is not met", kind="meeting"))
    steps.append(Step(cal.at(cal.add_working_days(days[-1], t["feedback_form_within_working_days"]), cal.day_end),
                      "Complete the feedback form: why judgements were made, key feedback, any conduct concerns, "
                      "whether welfare support should be signposted", "the officer who attended feedback",
                      school_sees=False, kind="deadline"))
    return ContactPlan(insp, school, sim, ai, cem, days, tuple(sorted(steps, key=lambda s: s.when)), calls,
                       notified <= deadline, deadline, answer_by, involvement["feedback_text"],
                       tuple(rules["escalation"]["steps"]), _notes(days, notified, cal))


def _end_of_working_day(moment: datetime, cal: WorkingCalendar) -> datetime:
    d = moment.date()
    if not cal.is_working_day(d) or moment.time() >= cal.day_end:
        d = cal.next_working_day(d)
    return cal.at(d, cal.day_end)


def _deferral_step(notified, deadline, answer_by, sim, ai) -> Step:
    if notified <= deadline:
        return Step(deadline, f"Deadline for asking Ofsted to defer (Ofsted replies the same day or by "
                              f"{answer_by:%H:%M} on {answer_by:%A %d %B})", f"the headteacher, supported by {sim.name} or {ai.name}",
                    kind="deadline")
    return Step(notified, f"The deferral window closed at {deadline:%H:%M}, before Ofsted's call "
                          f"({notified:%H:%M}); a late request is not normally considered",
                f"{sim.name} or {ai.name} can still advise", kind="deadline")


def _calls(days, points, ai: Staff, cal: WorkingCalendar) -> tuple[Call, ...]:
    calls = []
    for p in points:
        if not p.get("enabled", True):
            continue
        chosen = {"each": days, "first": days[:1], "last": days[-1:]}[p.get("days", "each")]
        for d in chosen:
            calls.append(Call(len(calls) + 1, cal.at(d, _t(p["time"])), int(p.get("minutes", 30)),
                              p["label"], ai, bool(p.get("calendar", True))))
    return tuple(sorted(calls, key=lambda c: c.start))


def _notes(days, notified, cal: WorkingCalendar) -> tuple[str, ...]:
    notes = []
    d = notified.date()
    while d <= days[-1]:
        name = cal.bank_holiday(d)
        if name:
            notes.append(f"{d:%A %d %B} is a bank holiday ({name}): it is not counted as a working day.")
        d += timedelta(days=1)
    return tuple(notes)
