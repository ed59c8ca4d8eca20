"""Everything a learning-review checklist shows, as plain data: details, timeline, outcome,
the checklist sections (some started from the records) and the inspection's emails."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from automation import values as V
from automation.calendar import LONDON, WorkingCalendar
from automation.errors import TrackerError
from automation.forms.readback import FilledForm, contact_answers
from automation.mail.journal import Record
from automation.model import Inspection, Tracker
from automation.plan.contact import feedback_form_due, inspection_days
from automation.review.prefill import Known, findings
from automation.review.timeline import Event, FormFacts, build_timeline, outcome_lines
from automation.rules import Rules

REQUESTED, IN_PROGRESS = "Requested", "In progress"


@dataclass(frozen=True)
class Section:
    title: str
    prompt: str
    findings: str = ""  # started from the records; the reviewer carries on


@dataclass(frozen=True)
class ReviewData:
    inspection: Inspection
    school_name: str
    details: tuple[tuple[str, object], ...]
    timeline: tuple[Event, ...]
    outcome: tuple[tuple[str, str], ...]
    sections: tuple[Section, ...]
    emails: tuple[Record, ...]
    prepared_at: datetime

    @property
    def misses(self) -> list[Event]:
        return [e for e in self.timeline if e.missed]


def find_inspection(tracker: Tracker, inspection_id: str) -> Inspection:
    """The inspection with this id, or an error saying how to find the right one."""
    want = inspection_id.strip().upper()
    for insp in tracker.inspections:
        if insp.inspection_id.upper() == want:
            return insp
    # The most recently notified, newest first (the sheet's order is the admins' typing order).
    recent = sorted(tracker.inspections, key=lambda i: i.notified_at, reverse=True)[:5]
    known = ", ".join(f"{i.inspection_id} ({i.notified_at:%d/%m/%Y})" for i in recent)
    raise TrackerError(f"No inspection {inspection_id!r} on the Inspections sheet (column 'Inspection ID') — "
                       f"check the id, or run the tracker once so new rows get one. Recent ids: {known or 'none'}.")


def reviews_due(tracker: Tracker) -> list[Inspection]:
    """Inspections whose Learning review is Requested (a checklist is produced for each, once)."""
    return [i for i in tracker.inspections if i.learning_review == REQUESTED and i.urn in tracker.schools]


def reviews_in_progress(tracker: Tracker) -> list[Inspection]:
    """Inspections whose Learning review is In progress (their checklist's records are kept up to date)."""
    return [i for i in tracker.inspections if i.learning_review == IN_PROGRESS and i.urn in tracker.schools]


def review_data(tracker: Tracker, rules: Rules, cal: WorkingCalendar, records: list[Record],
                now: datetime, insp: Inspection, form: FormFacts | None = None) -> ReviewData:
    """The checklist's content for one inspection."""
    school = tracker.schools.get(insp.urn)
    if school is None:
        raise TrackerError(f"Inspection {insp.inspection_id}: URN {insp.urn} is not on the Schools sheet — "
                           "add the school, then make the checklist.")
    contact, review = rules.contact_plan, rules.learning_review
    own = [r for r in records if r.inspection_id == insp.inspection_id]
    timeline = build_timeline(insp, school, contact, review, cal, own, tracker.follow_ups, now, form,
                              form_due=feedback_form_due(insp, school, rules))
    days = inspection_days(insp, rules.contact_plan.on_site_days(insp.framework, insp.inspection_type), cal)
    cem = tracker.cem_for(school, rules.cem_for_phase)
    details = (
        ("School", school.name), ("URN", school.urn), ("Governance", school.governance), ("Phase", school.phase),
        ("District", school.district or "—"), ("Headteacher", school.headteacher or "—"),
        ("SIM", school.sim), ("AI", school.ai), ("CEM", cem.name if cem else "—"),
        ("Inspection ID", insp.inspection_id), ("Inspection type", insp.inspection_type),
        ("Framework", rules.frameworks[insp.framework].label), ("Notified at", cal.local(insp.notified_at)),
        ("Days on site", " to ".join(f"{d:%a %d/%m/%Y}" for d in (days[0], days[-1])) if len(days) > 1
         else f"{days[0]:%a %d/%m/%Y}"),
        ("Lead inspector", insp.lead_inspector or "—"),
        ("Nominee", insp.nominee or (form.said("nominee") if form else "") or "—"),
        ("Draft report received", insp.draft_report_received or "—"), ("Complaint made", insp.complaint_made or "—"),
        ("Report published", insp.report_published or "—"), ("Learning review", insp.learning_review or "—"),
    )
    outcome = tuple(outcome_lines(insp))
    known = Known(insp, days, tuple(timeline), outcome, form, review, cal)
    sections = tuple(Section(s.title, s.prompt_by_framework.get(insp.framework, s.prompt),
                             findings(s.prefill or "", known, s.title))
                     for s in rules.learning_review.section)
    return ReviewData(insp, school.name, details, tuple(timeline), outcome, sections, tuple(own), cal.local(now))


# What the review reads from a feedback form besides the calls and the sign-off (by field key).
ANSWERED = ("nominee", "others_present", "attended_by", "key_feedback", "areas_for_improvement",
            "useful_to_other_schools", "concerns_escalated", "escalated_to_shmi", "pause_requested",
            "ofsted_call_next_day", "escalation_notes", "welfare_signposted", "welfare_notes", "conduct_notes")


def form_facts_of(form: FilledForm) -> FormFacts:
    """What a feedback form, as the forms reader gives it, adds to a review."""
    calls = tuple((at.replace(tzinfo=LONDON), yes) for at, yes in contact_answers(form))
    completed = None
    if form.complete and form.values.get("completed_on") is not None:
        try:
            completed = V.parse_date(form.values["completed_on"])
        except V.BadValue:
            completed = None  # the forms run reports the officer's typo on the Problems sheet
    answers = {k: V.text(form.values.get(k)) for k in ANSWERED if V.text(form.values.get(k))}
    welfare = ": ".join(x for x in (answers.get("welfare_signposted", ""), answers.get("welfare_notes", "")) if x)
    return FormFacts(calls, completed, welfare, answers.get("conduct_notes", ""), answers)
