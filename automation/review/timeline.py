"""The learning review's timeline: what the LA promised beside what happened, from the
tracker row, the send journal and the follow-ups. Pure: no workbook library, no clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time

from automation.calendar import WorkingCalendar
from automation.mail.journal import Record
from automation.model import FollowUp, Inspection, School, Staff
from automation.mail.states import DONE_FOR_HISTORY as SENT_STATES  # what the LA did
from automation.plan.contact import inspection_days, keep_in_touch_calls
from automation.purposes import Purpose
from automation.rules_schema import ContactPlanFile, LearningReviewFile

MET, MISSED, NOT_RECORDED, NOT_DUE, OPEN = "Met", "Missed", "Not recorded", "Not yet due", "Open"


@dataclass(frozen=True)
class Event:
    """One line of the timeline: what, when promised, when it happened, and the verdict."""

    what: str
    promised: datetime | date | None
    actual: datetime | date | None
    state: str = ""  # Met, Missed, Not recorded, Not yet due, Open, or "" (a fact, nothing promised)
    who: str = ""
    note: str = ""

    @property
    def missed(self) -> bool:
        return self.state == MISSED


@dataclass(frozen=True)
class FormFacts:
    """What the feedback form adds: the officer's Yes/No for each planned keep-in-touch call
    (by its planned time), and the date the form was completed."""

    calls: tuple[tuple[datetime, bool], ...] = ()
    completed_on: date | None = None
    welfare: str = ""  # "Yes: which support, for whom" as the officer wrote it
    conduct_notes: str = ""
    answers: dict[str, str] = field(default_factory=dict)  # every other filled-in field, by its key

    def said(self, key: str) -> str:
        """The officer's answer to one field ("" when blank)."""
        return self.answers.get(key, "")

    def answer(self, planned: datetime) -> bool | None:
        return next((yes for at, yes in self.calls if at == planned), None)


def _moment(v: datetime | date, cal: WorkingCalendar, end_of_day: bool = True) -> datetime:
    if isinstance(v, datetime):
        return cal.local(v)
    return cal.at(v, time(23, 59) if end_of_day else time(0, 0))


def judge(promised, actual, now: datetime, cal: WorkingCalendar, recorded: bool = True) -> str:
    """Met or Missed against the promise; Not yet due / Not recorded when nothing happened yet."""
    if promised is None:
        return ""
    if actual is not None:
        if isinstance(actual, date) and not isinstance(actual, datetime):
            return MET if actual <= (promised.date() if isinstance(promised, datetime) else promised) else MISSED
        return MET if _moment(actual, cal) <= _moment(promised, cal) else MISSED
    if now <= _moment(promised, cal):
        return NOT_DUE
    return MISSED if recorded else NOT_RECORDED


def _first_sent(records: list[Record], purpose: str) -> Record | None:
    sent = [r for r in records if r.purpose == purpose and r.state in SENT_STATES]
    return min(sent, key=lambda r: (r.version, r.updated_at)) if sent else None


def _t(text: str) -> time:
    h, m = text.split(":")
    return time(int(h), int(m))


def keep_in_touch_points(insp: Inspection, school: School, contact_rules: ContactPlanFile, cal: WorkingCalendar,
                         staff: dict[str, Staff] | None = None) -> list[tuple[datetime, str]]:
    """Every keep-in-touch point the contact plan promised this school, in time order: the plan's
    own calls, so a point whose `applies` leaves the school out (an offer-only academy) is not counted."""
    ai = (staff or {}).get(school.ai) or Staff(school.ai, "AI", "")  # only the name is needed here
    return sorted((c.start, c.label) for c in keep_in_touch_calls(insp, school, ai, contact_rules, cal))


def expected_publication(review_rules: LearningReviewFile) -> int:
    """The working days the LA expects between the last day on site and publication (rules data)."""
    return review_rules.timings.report_expected_within_working_days


def publication_note(insp: Inspection, last: date, review_rules: LearningReviewFile, cal: WorkingCalendar) -> str:
    """How long the report took (or has taken so far), in working days after the last day on site."""
    n = expected_publication(review_rules)
    if insp.report_published is None:
        return f"not yet published (or not yet recorded); the LA expects it within {n} working days of the last day on site"
    took = cal.working_days_between(last, insp.report_published)
    return f"{took} working days after the last day on site (the LA expects within {n})"


def build_timeline(insp: Inspection, school: School, contact_rules: ContactPlanFile, review_rules: LearningReviewFile,
                   cal: WorkingCalendar, records: list[Record], follow_ups: list[FollowUp],
                   now: datetime, form: FormFacts | None = None, form_due: bool = True) -> list[Event]:
    """The timeline of one inspection, promised beside actual, in time order. form_due: whether
    the LA owed a feedback form (plan/contact.py feedback_form_due): if not, none is counted as missed."""
    t = contact_rules.timings
    notified = cal.local(insp.notified_at)
    days = inspection_days(insp, contact_rules.on_site_days(insp.framework, insp.inspection_type), cal)
    records = [r for r in records if r.inspection_id == insp.inspection_id]
    sim_ai = f"{school.sim} (SIM) / {school.ai} (AI)"
    ev: list[Event] = [Event("Ofsted notified the school", None, notified, note=f"{insp.inspection_type} inspection, "
                             f"starting {insp.start_date:%d/%m/%Y}")]

    ack_due = cal.add_working_hours(notified, t.acknowledge_within_working_hours)
    for purpose, what in ((Purpose.CONTACT_PLAN_INTERNAL, "Contact plan sent to the SIM and AI"),
                          (Purpose.CONTACT_PLAN_SCHOOL, "Acknowledgement and contact plan sent to the school")):
        rec = _first_sent(records, purpose)
        # Without a journal record, the tracker's Contact plan sent column dates both emails
        # (the tool sends them together).
        actual = cal.local(rec.updated_at) if rec else insp.contact_plan_sent
        note = f"within {t.acknowledge_within_working_hours} working hours of notification"
        if rec is None and actual is not None:
            note += " (time from the tracker's Contact plan sent column)"
        ev.append(Event(what, ack_due, actual, judge(ack_due, actual, now, cal), sim_ai, note))
    for rec in sorted((r for r in records if r.purpose == Purpose.CONTACT_PLAN_INTERNAL and r.version > 1
                       and r.state in SENT_STATES), key=lambda r: r.version):
        ev.append(Event(f"Updated contact plan sent (version {rec.version})", None, cal.local(rec.updated_at),
                        note=f"start {rec.facts.get('start_date', '?')}, type {rec.facts.get('inspection_type', '?')}"))

    if insp.deferral:
        deadline = cal.at(notified.date(), _t(t.deferral_deadline))
        rec = _first_sent(records, Purpose.DEFERRAL)
        ev.append(Event(f"Deferral: {insp.deferral}", deadline, cal.local(rec.updated_at) if rec else None,
                        note="deadline for a request; the time shown is when the SIM and AI were told"
                        if rec else "deadline for a request"))

    for when, label in keep_in_touch_points(insp, school, contact_rules, cal):
        said = form.answer(when) if form else None
        if said is None:
            state, note = (NOT_DUE if now <= when else NOT_RECORDED), "confirm with the AI whether and when it happened"
        else:
            state = MET if said else MISSED
            note = "the feedback form says it " + ("happened" if said else "did not happen")
        ev.append(Event(f"{label} ({when:%a %d/%m})", when, None, state, school.ai, note))

    escalations = sorted((r for r in records if r.purpose == Purpose.CONCERN and r.state in SENT_STATES),
                         key=lambda r: r.version)
    for rec in escalations:
        ev.append(Event("Concern escalated to the SIM and CEM" if rec.version == 1 else
                        f"Concern notes changed: escalated again (version {rec.version})", None, cal.local(rec.updated_at),
                        "", ", ".join(rec.recipients), "promise: at once, on the first run after it was recorded"))
    if insp.concerns_raised == "Yes" and not escalations:
        ev.append(Event("Concern escalated to the SIM and CEM", None, None, NOT_RECORDED, "",
                        "Concerns raised = Yes but no escalation email is in the journal"))
    if insp.conduct_concerns == "Yes":
        ev.append(Event("Concerns about inspectors' conduct recorded", None, insp.final_feedback_at or days[-1],
                        note="see the conduct section of the checklist"))

    feedback_state = "" if insp.final_feedback_at else NOT_DUE if now.date() <= days[-1] else NOT_RECORDED
    ev.append(Event("Final feedback meeting", days[-1], insp.final_feedback_at, feedback_state, sim_ai,
                    "LA attends: " + ("always (maintained school)" if school.maintained else "if invited, or if safeguarding is not met")))
    completed = insp.feedback_form_completed or (form.completed_on if form else None)
    if form_due:
        due = cal.at(cal.add_working_days(days[-1], t.feedback_form_within_working_days), cal.day_end)
        ev.append(Event("Feedback form completed", due, completed, judge(due, completed, now, cal),
                        "the officer who attended feedback",
                        f"within {t.feedback_form_within_working_days} working days of the last day"))
    else:
        ev.append(Event("Feedback form completed", None, completed, "", "",
                        "not owed: the LA did not attend final feedback (an academy that did not accept the LA's support)"))

    if insp.draft_report_received:
        n = review_rules.timings.factual_accuracy_working_days
        ev.append(Event("Draft report received", None, insp.draft_report_received,
                        note=f"factual-accuracy comments due within {n} working days"))
        ev.append(Event("Factual-accuracy comments due", cal.add_working_days(insp.draft_report_received, n), None,
                        "", school.sim, "the school's deadline; the SIM supports"))
    ev.append(Event("Report published", None, insp.report_published, note=publication_note(insp, days[-1], review_rules, cal)))
    if insp.complaint_made == "Yes":
        ev.append(Event("Formal complaint made to Ofsted", None, None, "", school.sim,
                        "Complaint made = Yes: its stages and dates are in the checklist's complaint section"))

    for fu in follow_ups:
        if fu.inspection_id != insp.inspection_id or fu.state == "No longer needed":
            continue
        done = _done_date(fu.done)
        if fu.done or fu.state == "Done":
            state = judge(fu.due, done, now, cal) if done and fu.due else MET
        else:
            state = judge(fu.due, None, now, cal) if fu.due else OPEN
            state = OPEN if state == NOT_DUE else state
        ev.append(Event(f"Follow-up: {fu.action}", fu.due, done, state, fu.owner, fu.notes))
    return sorted(ev, key=lambda e: _sort_key(e, cal))


def _done_date(text: str) -> date | None:
    from automation import values as V

    try:
        return V.parse_date(text) if text and text.strip().lower() != "yes" else None
    except V.BadValue:
        return None


def _sort_key(e: Event, cal: WorkingCalendar) -> datetime:
    v = e.actual if e.actual is not None else e.promised
    if v is None:
        return cal.at(date.max, time(0, 0))
    return _moment(v, cal, end_of_day=not isinstance(v, datetime))


def outcome_lines(insp: Inspection) -> list[tuple[str, str]]:
    """The outcome as (label, value) lines, in the framework's order, blanks shown as 'not recorded'."""
    out = [(area, grade) for area, grade in insp.grades.items()]
    out += [("Safeguarding", insp.safeguarding or "not recorded"),
            ("Category of concern", insp.category_of_concern or "none"),
            ("Concerns raised", insp.concerns_raised or "not recorded"),
            ("Conduct concerns", insp.conduct_concerns or "not recorded"),
            ("Learning review", insp.learning_review or "not requested")]
    return out
