"""Everything a learning-review checklist shows, as plain data: details, timeline, outcome,
the checklist sections (some started from the records) and the inspection's emails."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from automation.calendar import WorkingCalendar
from automation.errors import TrackerError
from automation.mail.journal import Record
from automation.model import Inspection, Tracker
from automation.plan.contact import inspection_days
from automation.review.timeline import MET, MISSED, Event, FormFacts, build_timeline, outcome_lines
from automation.rules import Rules

REQUESTED = "Requested"


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
    known = ", ".join(i.inspection_id for i in tracker.inspections[-5:])
    raise TrackerError(f"No inspection {inspection_id!r} on the Inspections sheet (column 'Inspection ID') — "
                       f"check the id, or run the tracker once so new rows get one. Recent ids: {known or 'none'}.")


def reviews_due(tracker: Tracker) -> list[Inspection]:
    """Inspections whose Learning review is Requested (a checklist is produced for each, once)."""
    return [i for i in tracker.inspections if i.learning_review == REQUESTED and i.urn in tracker.schools]


def review_data(tracker: Tracker, rules: Rules, cal: WorkingCalendar, records: list[Record],
                now: datetime, insp: Inspection, form: FormFacts | None = None) -> ReviewData:
    """The checklist's content for one inspection."""
    school = tracker.schools.get(insp.urn)
    if school is None:
        raise TrackerError(f"Inspection {insp.inspection_id}: URN {insp.urn} is not on the Schools sheet — "
                           "add the school, then make the checklist.")
    contact, review = rules.extra["contact_plan"], rules.extra.get("learning_review", {})
    own = [r for r in records if r.inspection_id == insp.inspection_id]
    timeline = build_timeline(insp, school, contact, review, cal, own, tracker.follow_ups, now, form)
    on_site = int(contact["types"].get(f"{insp.framework}.{insp.inspection_type}", {}).get("on_site_days", 2))
    days = inspection_days(insp, on_site, cal)
    cem = tracker.cem_for(school, rules.cem_for_phase)
    details = (
        ("School", school.name), ("URN", school.urn), ("Governance", school.governance), ("Phase", school.phase),
        ("District", school.district or "—"), ("Headteacher", school.headteacher or "—"),
        ("SIM", school.sim), ("AI", school.ai), ("CEM", cem.name if cem else "—"),
        ("Inspection ID", insp.inspection_id), ("Inspection type", insp.inspection_type),
        ("Framework", rules.frameworks[insp.framework].label), ("Notified at", cal.local(insp.notified_at)),
        ("Days on site", " to ".join(f"{d:%a %d/%m/%Y}" for d in (days[0], days[-1])) if len(days) > 1
         else f"{days[0]:%a %d/%m/%Y}"),
        ("Lead inspector", insp.lead_inspector or "—"), ("Learning review", insp.learning_review or "—"),
    )
    outcome = tuple(outcome_lines(insp))
    sections = tuple(Section(s["title"], s.get("prompt", ""), _prefill(s.get("prefill", ""), insp, timeline, outcome, form))
                     for s in review.get("section", []))
    return ReviewData(insp, school.name, details, tuple(timeline), outcome, sections, tuple(own), cal.local(now))


def _prefill(kind: str, insp: Inspection, timeline: list[Event], outcome, form: FormFacts | None) -> str:
    if kind == "outcome":
        return "From the tracker: " + "; ".join(f"{a}: {v}" for a, v in outcome[:-3]) + "."
    if kind == "conduct":
        lines = [f"From the tracker: conduct concerns {insp.conduct_concerns or 'not recorded'}; "
                 f"concerns raised {insp.concerns_raised or 'not recorded'}."]
        if insp.concern_notes:
            lines.append(f"Concern notes (internal): {insp.concern_notes}")
        if form and form.conduct_notes:
            lines.append(f"Feedback form: {form.conduct_notes}")
        return "\n".join(lines)
    if kind == "wellbeing":
        return f"From the feedback form: welfare support signposted: {form.welfare}." if form and form.welfare else ""
    if kind == "contact_plan":
        judged = [e for e in timeline if e.state in (MET, MISSED)]
        missed = [e for e in judged if e.state == MISSED]
        text = f"From the timeline: {len(judged) - len(missed)} of {len(judged)} promises with a record were met."
        if missed:
            text += " Missed: " + "; ".join(f"{e.what} (promised {_when(e.promised)}, "
                                            f"{'done ' + _when(e.actual) if e.actual else 'not done'})" for e in missed) + "."
        unknown = [e for e in timeline if e.state == "Not recorded"]
        if unknown:
            text += f" {len(unknown)} point(s) not recorded: confirm with the officers."
        return text
    return ""


def _when(v) -> str:
    if isinstance(v, datetime):
        return f"{v:%d/%m/%Y %H:%M}"
    if isinstance(v, date):
        return f"{v:%d/%m/%Y}"
    return "—"
