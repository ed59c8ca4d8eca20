"""The oversight figures (DOMAIN.md step 16) as plain functions: one Facts record per
inspection, then counts by term, district or SIM. No workbook library, no clock."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from statistics import median

from automation.calendar import WorkingCalendar
from automation.mail.journal import Record
from automation.mail.states import DONE_FOR_HISTORY as SENT  # what the LA did
from automation.model import Inspection, Tracker
from automation.outcomes import outcome
from automation.review.timeline import FormFacts, keep_in_touch_points
from automation.purposes import Purpose
from automation.rules import Rules

IN_TIME, LATE, NOT_SENT, NOT_DUE = "In time", "Late", "Not sent", "Not yet due"
NO_DISTRICT = "(no district)"


@dataclass(frozen=True)
class Facts:
    """What oversight needs to know about one inspection."""

    inspection_id: str
    school: str
    urn: str
    term: str
    district: str
    sim: str
    framework: str  # the framework's short label
    inspection_type: str
    outcome: str
    notified_at: datetime
    ack: str  # In time, Late, Not sent, Not yet due
    ack_hours: float | None  # working hours from notification to the school's acknowledgement
    kit_met: int
    kit_missed: int
    kit_unknown: int
    concerns: bool
    conduct: bool
    follow_ups_open: int
    follow_ups_overdue: int
    review: str  # "", Requested, In progress, Complete


def term_of(d: date, rules: Rules) -> str:
    """'2026-27 Autumn': the school year and the term (month rule in rules/oversight.toml)."""
    data = rules.oversight
    start = data.school_year.starts_month
    name = next((t for t, months in data.terms.items() if d.month in months), "Term")
    year = d.year if d.month >= start else d.year - 1
    return f"{year}-{(year + 1) % 100:02d} {name}"


def term_order(term: str, rules: Rules) -> tuple:
    """Sort key for term labels: school year, then the terms' order in the rules."""
    names = list(rules.oversight.terms)
    year, _, name = term.partition(" ")
    return (year, names.index(name) if name in names else len(names))


def outcome_label(insp: Inspection, rules: Rules) -> str:
    """Category of concern, Adverse outcome, No adverse outcome, or Not yet recorded."""
    labels = rules.oversight.outcome_labels
    o = outcome(insp, rules)
    if o.in_category:
        return labels.category
    if o.adverse:
        return labels.adverse
    return labels.fine if o.recorded else labels.none


def _acknowledged(insp: Inspection, records: list[Record]) -> datetime | None:
    sent = [r.updated_at for r in records if r.purpose == Purpose.CONTACT_PLAN_SCHOOL and r.state in SENT]
    return min(sent) if sent else insp.contact_plan_sent


def inspection_facts(tracker: Tracker, rules: Rules, cal: WorkingCalendar, records: list[Record], now: datetime,
                     forms: dict[str, FormFacts] | None = None) -> list[Facts]:
    """One Facts per inspection whose school is known."""
    by_insp: dict[str, list[Record]] = {}
    for r in records:
        by_insp.setdefault(r.inspection_id, []).append(r)
    open_fu: Counter = Counter()
    overdue_fu: Counter = Counter()
    for fu in tracker.follow_ups:
        if fu.state == "Open" and not fu.done:
            open_fu[fu.inspection_id] += 1
            if fu.due and fu.due < now.date():
                overdue_fu[fu.inspection_id] += 1
    contact = rules.contact_plan
    promise = contact.timings.acknowledge_within_working_hours
    terms: dict[tuple[int, int], str] = {}  # term_of depends on the year and month alone
    out = []
    for insp in tracker.inspections:
        school = tracker.schools.get(insp.urn)
        if school is None:
            continue
        notified = cal.local(insp.notified_at)
        month = (notified.year, notified.month)
        term = terms.get(month) or terms.setdefault(month, term_of(notified.date(), rules))
        acked = _acknowledged(insp, by_insp.get(insp.inspection_id, []))
        due = cal.add_working_hours(notified, promise)
        if acked is not None:
            hours = round(cal.working_hours_between(notified, acked), 2)
            ack = IN_TIME if cal.local(acked) <= due else LATE
        else:
            hours, ack = None, (NOT_DUE if now <= due else NOT_SENT)
        form = (forms or {}).get(insp.inspection_id)
        met = missed = unknown = 0
        for when, _ in keep_in_touch_points(insp, school, contact, cal, tracker.staff):
            if when > now:
                continue
            said = form.answer(when) if form else None
            met += said is True
            missed += said is False
            unknown += said is None
        out.append(Facts(insp.inspection_id, school.name, school.urn, term,
                         school.district or NO_DISTRICT, school.sim, _short(rules, insp.framework),
                         insp.inspection_type, outcome_label(insp, rules), notified, ack, hours, met, missed, unknown,
                         insp.concerns_raised == "Yes", insp.conduct_concerns == "Yes",
                         open_fu[insp.inspection_id], overdue_fu[insp.inspection_id], insp.learning_review))
    return out


def _short(rules: Rules, key: str) -> str:
    return {"eif2024": "EIF 2024", "renewed": "Renewed"}.get(key, rules.frameworks[key].label)


# Each measure: a column of the oversight tables, counted over a group of inspections.
MEASURES: tuple[tuple[str, object], ...] = (
    ("Inspections", lambda fs: len(fs)),
    ("Acknowledged in time", lambda fs: sum(f.ack == IN_TIME for f in fs)),
    ("Acknowledged late", lambda fs: sum(f.ack == LATE for f in fs)),
    ("Not acknowledged", lambda fs: sum(f.ack == NOT_SENT for f in fs)),
    ("Median working hours to acknowledge", lambda fs: median_of([f.ack_hours for f in fs])),
    ("Keep-in-touch points met", lambda fs: sum(f.kit_met for f in fs)),
    ("Keep-in-touch points missed", lambda fs: sum(f.kit_missed for f in fs)),
    ("Keep-in-touch points not recorded", lambda fs: sum(f.kit_unknown for f in fs)),
    ("Concerns raised", lambda fs: sum(f.concerns for f in fs)),
    ("Conduct concerns", lambda fs: sum(f.conduct for f in fs)),
    ("Follow-ups open", lambda fs: sum(f.follow_ups_open for f in fs)),
    ("Follow-ups overdue", lambda fs: sum(f.follow_ups_overdue for f in fs)),
    ("Learning reviews requested", lambda fs: sum(bool(f.review) for f in fs)),
    ("Learning reviews completed", lambda fs: sum(f.review == "Complete" for f in fs)),
)


def median_of(values) -> float | None:
    """The median of the known values (rounded to 2 places), or None."""
    vals = [v for v in values if v is not None]
    return round(median(vals), 2) if vals else None


@dataclass(frozen=True)
class Table:
    """Groups (rows) by measures (columns)."""

    by: str
    groups: tuple[str, ...]
    columns: tuple[str, ...]
    values: dict[tuple[str, str], object]

    def get(self, group: str, column: str):
        return self.values.get((group, column), 0)


def table(facts: list[Facts], by: str, rules: Rules, measures=MEASURES) -> Table:
    """Every measure for each group (term, district or sim), in a sensible order."""
    groups: dict[str, list[Facts]] = {}
    for f in facts:
        groups.setdefault(getattr(f, by), []).append(f)
    order = sorted(groups, key=(lambda t: term_order(t, rules)) if by == "term" else str.lower)
    values = {(g, name): fn(groups[g]) for g in order for name, fn in measures}
    return Table(by, tuple(order), tuple(n for n, _ in measures), values)


def breakdown(facts: list[Facts], by: str, what: str, rules: Rules, columns: tuple[str, ...] = ()) -> Table:
    """Counts of a category (e.g. 'type' or 'outcome') per group: one column per category."""
    key = (lambda f: f"{f.inspection_type} ({f.framework})") if what == "type" else (lambda f: getattr(f, what))
    groups = sorted({getattr(f, by) for f in facts}, key=(lambda t: term_order(t, rules)) if by == "term" else str.lower)
    cats = columns or tuple(sorted({key(f) for f in facts}))
    counts = Counter((getattr(f, by), key(f)) for f in facts)
    return Table(by, tuple(groups), cats, {(g, c): counts[(g, c)] for g in groups for c in cats})
