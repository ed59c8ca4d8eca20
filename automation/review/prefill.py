"""The learning review's findings boxes, started from the records (learning_review.toml `prefill`):
the tracker row, the timeline and the feedback form. Pure: text in, text out; the reviewer carries on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from automation.calendar import WorkingCalendar
from automation.errors import ConfigError
from automation.model import Inspection
from automation.rules_schema import LearningReviewFile
from automation.review.timeline import MET, MISSED, NOT_RECORDED, Event, FormFacts, publication_note

NOT_RECORDED_TEXT = "not recorded"


@dataclass(frozen=True)
class Known:
    """Everything a findings box may start from, for one inspection."""

    insp: Inspection
    days: tuple[date, ...]
    timeline: tuple[Event, ...]
    outcome: tuple[tuple[str, str], ...]
    form: FormFacts | None
    rules: LearningReviewFile
    cal: WorkingCalendar

    def said(self, key: str) -> str:
        return self.form.said(key) if self.form else ""


def day(v: date | datetime | None) -> str:
    """dd/mm/yyyy (with the time for a moment), or 'not recorded'."""
    if isinstance(v, datetime):
        return f"{v:%d/%m/%Y %H:%M}"
    return f"{v:%a %d/%m/%Y}" if isinstance(v, date) else NOT_RECORDED_TEXT


def _outcome(k: Known) -> str:
    return "From the tracker: " + "; ".join(f"{a}: {v}" for a, v in k.outcome[:-3]) + "."


def _school_account(k: Known) -> str:
    nominee = k.insp.nominee or k.said("nominee") or NOT_RECORDED_TEXT
    lines = [f"Who accompanied the headteacher at meetings (the nominee): {nominee}."]
    for key, label in (("others_present", "Also present at final feedback"), ("attended_by", "Attended for the LA by"),
                       ("areas_for_improvement", "Areas for improvement fed back"), ("key_feedback", "Strengths fed back")):
        if k.said(key):
            lines.append(f"{label} (feedback form): {k.said(key)}")
    return "\n".join(lines)


def _conduct(k: Known) -> str:
    lines = [f"From the tracker: conduct concerns {k.insp.conduct_concerns or NOT_RECORDED_TEXT}; "
             f"concerns raised {k.insp.concerns_raised or NOT_RECORDED_TEXT}."]
    if k.insp.concern_notes:
        lines.append(f"Concern notes (internal): {k.insp.concern_notes}")
    if k.said("conduct_notes"):
        lines.append(f"Feedback form: {k.said('conduct_notes')}")
    return "\n".join(lines)


def _escalation(k: Known) -> str:
    sent = [e for e in k.timeline if e.what.startswith("Concern escalated") and e.actual is not None]
    lines = [f"From the tracker: concerns raised {k.insp.concerns_raised or NOT_RECORDED_TEXT}; "
             + (f"escalated to the SIM and CEM on {day(sent[0].actual)}." if sent else "no escalation email in the journal.")]
    if k.form is None:
        return "\n".join(lines + ["No feedback form yet: ask the officer who attended final feedback."])
    next_day = k.cal.next_working_day(k.days[-1])
    answers = [(label, k.said(key) or NOT_RECORDED_TEXT) for key, label in (
        ("concerns_escalated", "concerns escalated beyond the lead inspector"),
        ("escalated_to_shmi", "escalated to the linked SHMI"), ("pause_requested", "a pause requested"),
        ("ofsted_call_next_day", f"the school called Ofsted on the next working day ({day(next_day)})"))]
    lines.append("From the feedback form: " + "; ".join(f"{label}: {v}" for label, v in answers) + ".")
    if k.said("escalation_notes"):
        lines.append(f"Escalation notes: {k.said('escalation_notes')}")
    return "\n".join(lines)


def _complaint(k: Known) -> str:
    n = k.rules.timings.factual_accuracy_working_days
    got = k.insp.draft_report_received
    lines = [f"From the tracker: draft report received {day(got)}"
             + (f"; factual-accuracy comments due by {day(k.cal.add_working_days(got, n))} ({n} working days)." if got else ".")]
    lines.append(f"Complaint made: {k.insp.complaint_made or NOT_RECORDED_TEXT}; "
                 f"conduct concerns: {k.insp.conduct_concerns or NOT_RECORDED_TEXT}.")
    stages = k.rules.complaint_stages
    if stages:
        lines.append("Stages (record the date and outcome of each reached): "
                     + "; ".join(f"{i}. {s}" for i, s in enumerate(stages, start=1)) + ".")
    return "\n".join(lines)


def _publication(k: Known) -> str:
    got = k.insp.draft_report_received
    lines = [f"From the tracker: last day on site {day(k.days[-1])}; draft report received {day(got)}"
             + (f" ({k.cal.working_days_between(k.days[-1], got)} working days later)" if got else "")
             + f"; report published {day(k.insp.report_published) if k.insp.report_published else 'not yet'}.",
             "Report: " + publication_note(k.insp, k.days[-1], k.rules, k.cal) + "."]
    return "\n".join(lines)


def _confidentiality(k: Known) -> str:
    if k.insp.report_published:
        return (f"From the tracker: the final report was published on {day(k.insp.report_published)}; until then the "
                "outcomes were provisional and confidential (not public, not for parents).")
    return ("From the tracker: the final report is not published yet, so the outcomes are still provisional: "
            "leaders may share them in confidence, not publicly or with parents.")


def _wellbeing(k: Known) -> str:
    return f"From the feedback form: welfare support signposted: {k.form.welfare}." if k.form and k.form.welfare else ""


def _contact_plan(k: Known) -> str:
    judged = [e for e in k.timeline if e.state in (MET, MISSED)]
    missed = [e for e in judged if e.state == MISSED]
    text = f"From the timeline: {len(judged) - len(missed)} of {len(judged)} promises with a record were met."
    if missed:
        text += " Missed: " + "; ".join(f"{e.what} (promised {_when(e.promised)}, "
                                        f"{'done ' + _when(e.actual) if e.actual else 'not done'})" for e in missed) + "."
    unknown = [e for e in k.timeline if e.state == NOT_RECORDED]
    if unknown:
        text += f" {len(unknown)} point(s) not recorded: confirm with the officers."
    return text


def _shared_learning(k: Known) -> str:
    said = k.said("useful_to_other_schools")
    return f"Feedback useful to other schools (feedback form): {said}" if said else ""


def _when(v) -> str:
    if isinstance(v, datetime):
        return f"{v:%d/%m/%Y %H:%M}"
    if isinstance(v, date):
        return f"{v:%d/%m/%Y}"
    return "—"


PREFILLS = {"outcome": _outcome, "school_account": _school_account, "conduct": _conduct, "escalation": _escalation,
            "complaint": _complaint, "publication": _publication, "confidentiality": _confidentiality,
            "wellbeing": _wellbeing, "contact_plan": _contact_plan, "shared_learning": _shared_learning}


def findings(kind: str, known: Known, title: str = "") -> str:
    """The findings box's opening text for a section's `prefill` ("" for none)."""
    if not kind:
        return ""
    if kind not in PREFILLS:
        raise ConfigError(f"Rules file learning_review.toml, section '{title}': prefill = {kind!r} is not one of "
                          f"{', '.join(PREFILLS)} — correct it or remove the line.")
    return PREFILLS[kind](known)
