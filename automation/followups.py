"""Compile the Follow-ups sheet from rules held as data (rules/follow_ups.toml).

Each action has a stable Key (inspection id : rule id [: occurrence]), so recompiling is
idempotent: officers' Done and Notes are kept, an action whose reason has gone is marked
"No longer needed" (never deleted), and a typed Done makes its State Done."""

from __future__ import annotations

import bisect
import calendar as _cal
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from automation.calendar import WorkingCalendar
from automation.conditions import FOLLOW_UP_FACTS, applies, check, named_conditions
from automation.errors import ConfigError, Problem
from automation.model import FollowUp, Inspection, School, Tracker
from automation.outcomes import Outcome, outcome
from automation.rules import Rules, fill
from automation.status import last_day

OPEN, DONE, NOT_NEEDED = "Open", "Done", "No longer needed"
PAST = "Past: not tracked"  # already long overdue when first listed (history before the tool)
ANCHORS = ("first_day", "last_day", "final_feedback", "draft_report_received", "report_published", "feedback_form_completed")
FACTS = FOLLOW_UP_FACTS  # the yes/no facts a `when` may name (automation/conditions.py)


@dataclass(frozen=True)
class ActionRule:
    id: str
    action: str
    owner: str
    when: tuple[tuple[str, ...], ...]  # all of: any of
    done_when: tuple[tuple[str, ...], ...]
    anchor: str
    working_days: int
    months: int
    repeat: int
    every: int
    reason: str
    applies: object = None  # who the action is for (conditions.py), beside the `when` facts
    school_days: bool = False  # count (and land) in school days: the Holidays sheet is skipped too


@dataclass
class Compiled:
    """The whole list to write, and what the run summary says about it."""

    follow_ups: list[FollowUp] = field(default_factory=list)
    by_inspection: dict[str, list[FollowUp]] = field(default_factory=dict)
    new: int = 0
    retired: int = 0
    problems: list[Problem] = field(default_factory=list)


def _conds(rule_id: str, key: str, raw) -> tuple[tuple[str, ...], ...]:
    out = []
    for item in raw or ():
        alts = tuple(" ".join(a.split()) for a in str(item).split("|"))
        for a in alts:
            if a.removeprefix("not ") not in FACTS:
                raise ConfigError(f"Rules file follow_ups.toml, action '{rule_id}', {key}: {a!r} is not a known fact — "
                                  f"use one of: {', '.join(FACTS)} (or 'not ' before one).")
        out.append(alts)
    return tuple(out)


def action_rules(rules: Rules) -> list[ActionRule]:
    """The follow-up rules, checked (errors name the rule and key)."""
    out = []
    named = named_conditions(rules)
    # Keys, kinds and the anchor were checked against the file's model as the rules were loaded.
    for a in rules.follow_ups.action:
        check(a.applies, f"Rules file follow_ups.toml, action '{a.id}', applies", FACTS, named)
        out.append(ActionRule(a.id, a.action, a.owner, _conds(a.id, "when", a.when), _conds(a.id, "done_when", a.done_when),
                              a.anchor, a.working_days, a.months, a.repeat, a.every_working_days, a.reason, a.applies,
                              a.school_days))
    return out


def holds(conds: tuple[tuple[str, ...], ...], facts: dict[str, bool]) -> bool:
    """Every condition holds (each is one or more alternatives; 'not x' negates)."""
    return all(any(not facts[a[4:]] if a.startswith("not ") else facts[a] for a in alts) for alts in conds)


def add_months(d: date, months: int) -> date:
    """The same day of the month `months` later (the month's last day if shorter)."""
    y, m = divmod(d.month - 1 + months, 12)
    y, m = d.year + y, m + 1
    return date(y, m, min(d.day, _cal.monthrange(y, m)[1]))


@dataclass(frozen=True)
class Subject:
    """One inspection as the rules see it."""

    insp: Inspection
    outcome: Outcome
    last_day: date
    facts: dict[str, bool]
    anchors: dict[str, date | None]
    fields: dict[str, str]
    facets: dict = field(default_factory=dict)  # facts plus governance, phase, framework, type...


def subject(insp: Inspection, rules: Rules, last_day: date, today: date, later: bool, school: School | bool,
            earlier: list[Inspection] | None = None) -> Subject:
    """The facts, anchor dates and wording fields of an inspection (`earlier`: the school's
    earlier inspections, for the monitoring exclusions)."""
    if isinstance(school, bool):  # older callers passed only "maintained"
        school = School("", "", "Maintained" if school else "Other", "", "", "", "")
    maintained = school.maintained
    o = outcome(insp, rules, earlier)
    fw = rules.frameworks[insp.framework]
    lr = insp.learning_review
    facts = {
        "ended": today > last_day, "concerns_raised": insp.concerns_raised == "Yes",
        "conduct_concerns": insp.conduct_concerns == "Yes", "complaint_made": insp.complaint_made == "Yes",
        "outcome_recorded": o.recorded, "adverse": o.adverse,
        "category": o.in_category, "monitoring": o.monitoring, "maintained": maintained,
        "feedback_form_completed": insp.feedback_form_completed is not None,
        "draft_report_received": insp.draft_report_received is not None,
        "report_published": insp.report_published is not None, "later_inspection": later,
        "learning_review_requested": lr == "Requested", "learning_review_in_progress": lr == "In progress",
        "learning_review_complete": lr == "Complete",
        "safeguarding_failed": o.safeguarding_failed, "special_measures": o.in_category and o.special_measures,
        "monitoring_excluded": bool(o.monitoring_excluded), "trust_recorded": bool(school.trust),
        "chair_recorded": bool(school.chair),
    }
    anchors = {"first_day": insp.start_date, "last_day": last_day,
               "final_feedback": insp.final_feedback_at.date() if insp.final_feedback_at else last_day,
               "draft_report_received": insp.draft_report_received, "report_published": insp.report_published,
               "feedback_form_completed": insp.feedback_form_completed}
    adverse = "; ".join(f"{a} {g}" for a, g in insp.grades.items() if g in fw.adverse)
    if o.safeguarding_failed:
        adverse = "; ".join(x for x in (adverse, f"safeguarding {insp.safeguarding}") if x)
    fo = rules.outcomes.frameworks.get(fw.key)
    fields = {"category": o.category or "implied by the grades — record it in Category of concern",
              "adverse": adverse or o.category or "recorded", "monitoring": adverse or "recorded",
              "learning_review": lr or "blank", "safeguarding": insp.safeguarding or "not recorded", "trust": school.trust or "the trust",
              "diocese": school.diocese or "the diocese",
              "chair": f"the chair of governors ({school.chair})" if school.chair else "the chair of governors",
              "responsible_body": school.trust or ("the trust" if not maintained else "the local authority"),
              "monitoring_excluded": o.monitoring_excluded or "no exclusion recorded",
              "monitoring_check": fo.monitoring.check_by_hand if fo and fo.monitoring else "",
              **{k: str(v) for k, v in rules.outcomes.monitoring.as_dict().items()}}
    facets = {"governance": school.governance, "phase": school.phase, "framework": insp.framework,
              "type": insp.inspection_type, "la_support_accepted": insp.la_support_accepted, "deferral": insp.deferral,
              "category_of_concern": o.category or ("implied" if o.category_expected else ""), **facts}
    return Subject(insp, o, last_day, facts, anchors, fields, facets)


def _due(rule: ActionRule, s: Subject, n: int, cal: WorkingCalendar) -> date | None:
    anchor = s.anchors[rule.anchor]
    if anchor is None:
        return None
    if rule.months:
        return cal.on_or_after(add_months(anchor, rule.months), school=rule.school_days)
    return cal.add_working_days(anchor, rule.working_days + n * rule.every, school=rule.school_days)


def _text(template: str, rule: ActionRule, values: dict) -> str:
    return fill(template, values, f"follow_ups.toml, action '{rule.id}'")


SCHOOL_ROLES = ("SIM", "AI", "CEM")  # owners that depend on the school (owner_for)


def owner_for(role: str, insp: Inspection, tracker: Tracker, rules: Rules) -> str:
    """The Staff name who owns an action: the school's SIM/AI, its phase's CEM, or the role's officer."""
    school = tracker.schools.get(insp.urn)
    if school is None:
        return ""
    if role == "SIM":
        return school.sim
    if role == "AI":
        return school.ai
    if role == "CEM":
        cem = tracker.cem_for(school, rules.cem_for_phase)
        return cem.name if cem else ""
    first = min((s for s in tracker.staff.values() if s.role == role), key=lambda s: s.row, default=None)
    return first.name if first else ""


def proposed(rules_list: list[ActionRule], s: Subject, school_name: str, owner, cal: WorkingCalendar,
             named: dict | None = None, memo: "_Memo | None" = None) -> list[FollowUp]:
    """The actions the rules want for one inspection, with State from the tracker's own data."""
    memo = memo or _Memo(rules_list, cal, named)
    out = []
    iid = s.insp.inspection_id
    for rule, done in memo.wanted(s):
        for n in range(rule.repeat):
            key = f"{iid}:{rule.id}" + (f":{n + 1}" if rule.repeat > 1 else "")
            action, reason = memo.wording(rule, s, n)
            due = memo.due(rule, s, n)
            if due is None:
                reason += f" Due date set once {rule.anchor.replace('_', ' ').capitalize()} is filled in."
            out.append(FollowUp(iid, school_name, action, owner(rule.owner), due,
                                reason=reason, state=DONE if done else OPEN, key=key))
    return out


class DayIndex:
    """Working-day (and school-day) sums by looking up a sorted list of the days, built once
    from the calendar's own answers: the same results as WorkingCalendar.add_working_days and
    on_or_after, without stepping day by day for each of thousands of actions."""

    SPAN = timedelta(days=1200)  # indexed either side of `around` (the follow-ups' horizon is 30 months); beyond, the calendar steps

    def __init__(self, cal: WorkingCalendar, around: date):
        self.cal, self.around = cal, around
        self._days: dict[bool, tuple[date, date, list[date]]] = {}

    def _index(self, school: bool) -> tuple[date, date, list[date]]:
        got = self._days.get(school)
        if got is None:
            ok = self.cal.is_school_day if school else self.cal.is_working_day
            lo, hi = self.around - self.SPAN, self.around + self.SPAN
            got = self._days[school] = (lo, hi, [lo + timedelta(days=i) for i in range((hi - lo).days + 1)
                                                 if ok(lo + timedelta(days=i))])
        return got

    def add_working_days(self, d: date, n: int, school: bool = False) -> date:
        """As WorkingCalendar.add_working_days."""
        lo, hi, days = self._index(school)
        if n == 0:
            return d
        i = bisect.bisect_right(days, d) + n - 1 if n > 0 else bisect.bisect_left(days, d) + n
        if lo < d < hi and 0 <= i < len(days) and (n < 0 or i < len(days) - 1):
            return days[i]
        return self.cal.add_working_days(d, n, school=school)  # outside the index

    def on_or_after(self, d: date, school: bool = False) -> date:
        """As WorkingCalendar.on_or_after."""
        lo, hi, days = self._index(school)
        i = bisect.bisect_left(days, d)
        if lo < d < hi and i < len(days) - 1:
            return days[i]
        return self.cal.on_or_after(d, school=school)


class _Memo:
    """What the rules say for inspections alike: thousands of inspections share a few
    combinations of facts and a few hundred anchor dates, so each answer is worked out once."""

    def __init__(self, rules_list: list[ActionRule], cal: "WorkingCalendar | DayIndex", named: dict | None):
        self.rules_list, self.named = rules_list, named
        self.cal = cal
        self._wanted: dict[tuple, list[tuple[ActionRule, bool]]] = {}
        self._due: dict[tuple, date | None] = {}
        self._wording: dict[tuple, tuple[str, str]] = {}

    def wanted(self, s: Subject) -> list[tuple[ActionRule, bool]]:
        """(rule, already done) for every rule whose `when` and `applies` hold for the subject."""
        facets = s.facets or s.facts
        try:
            key = (tuple(s.facts.items()), tuple(facets.items()))
            hash(key)
        except TypeError:  # an unhashable facet value: work it out afresh
            key = None
        hit = self._wanted.get(key) if key is not None else None
        if hit is None:
            hit = [(rule, bool(rule.done_when) and holds(rule.done_when, s.facts)) for rule in self.rules_list
                   if holds(rule.when, s.facts) and applies(rule.applies, facets, self.named)]
            if key is not None:
                self._wanted[key] = hit
        return hit

    def wording(self, rule: ActionRule, s: Subject, n: int) -> tuple[str, str]:
        """The action's text and reason, filled from the subject's wording fields."""
        key = (rule.id, n, tuple(s.fields.items()))
        hit = self._wording.get(key)
        if hit is None:
            values = {**s.fields, "n": n + 1, "of": rule.repeat}
            hit = self._wording[key] = (_text(rule.action, rule, values), _text(rule.reason, rule, values))
        return hit

    def due(self, rule: ActionRule, s: Subject, n: int) -> date | None:
        """The rule's n-th due date from the subject's anchor (working-day sums cached by date)."""
        key = (s.anchors[rule.anchor], rule.months, rule.working_days + n * rule.every, rule.school_days)
        if key not in self._due:
            self._due[key] = _due(rule, s, n, self.cal)
        return self._due[key]


def merge(new: list[FollowUp], existing: dict[str, FollowUp], stale_before: date | None = None) -> list[FollowUp]:
    """Keep each officer's Done and Notes; a typed Done makes the State Done. A new action
    already due before `stale_before` is history, not a reminder: Past."""
    out = []
    for fu in new:
        old = existing.get(fu.key)
        if old is None:
            past = stale_before and fu.state == OPEN and fu.due is not None and fu.due < stale_before
            out.append(replace(fu, state=PAST) if past else fu)
            continue
        state = DONE if old.done else PAST if old.state == PAST and fu.state == OPEN else fu.state
        out.append(_kept(fu, old, state))
    return out


def _kept(fu: FollowUp, old: FollowUp, state: str) -> FollowUp:
    """fu with the officer's Done, Notes and row kept: dataclasses.replace spelled out, because
    it runs for every action on the sheet (thousands) and replace() inspects the fields each time."""
    return FollowUp(fu.inspection_id, fu.school_name, fu.action, fu.owner, fu.due, done=old.done, reason=fu.reason,
                    state=state, notes=old.notes, key=fu.key, row=old.row)


def compile_follow_ups(tracker: Tracker, rules: Rules, cal: WorkingCalendar, today: date, last_day,
                       days: DayIndex | None = None) -> Compiled:
    """The Follow-ups sheet as it should now be (only in-scope inspections are touched).

    `last_day(insp)` gives the last day on site (from the contact-plan rules); `days`, the
    calendar's day index if the caller has one."""
    rules_list = action_rules(rules)
    named = named_conditions(rules)
    scope = rules.follow_ups.scope
    horizon = scope.months_after_last_day
    grace = scope.past_if_overdue_by_working_days_when_first_listed
    stale_before = cal.add_working_days(today, -grace) if grace is not None else None
    existing = {fu.key: fu for fu in tracker.follow_ups if fu.key}
    by_iid: dict[str, list[FollowUp]] = {}
    for fu in existing.values():
        by_iid.setdefault(fu.key.split(":", 1)[0], []).append(fu)
    latest: dict[str, object] = {}
    by_urn: dict[str, list] = {}  # each school's inspections, in sheet order (not a scan of all per inspection)
    for i in tracker.inspections:
        latest[i.urn] = max(latest.get(i.urn, i.notified_at), i.notified_at)
        by_urn.setdefault(i.urn, []).append(i)
    result = Compiled()
    memo = _Memo(rules_list, days or DayIndex(cal, today), named)
    owners: dict[tuple[str, str], str] = {}  # (role, URN) -> name: the same for every inspection of a school
    missing_roles: set[str] = set()
    for insp in tracker.inspections:
        school = tracker.schools.get(insp.urn)
        end = last_day(insp)
        if school is None or add_months(end, horizon) < today:
            continue

        def owner(role, insp=insp):
            # SIM, AI and CEM depend on the school; any other role is the same officer for every school.
            at = (role, insp.urn) if role in SCHOOL_ROLES else (role, "")
            name = owners.get(at)
            if name is None:
                name = owners[at] = owner_for(role, insp, tracker, rules)
            if not name:
                missing_roles.add(role)
            return name

        earlier = [i for i in by_urn[insp.urn] if i.notified_at < insp.notified_at]
        s = subject(insp, rules, end, today, latest[insp.urn] > insp.notified_at, school, earlier)
        # History applies only to an inspection listed for the first time (none of its actions yet).
        first = insp.inspection_id not in by_iid
        mine = merge(proposed(rules_list, s, school.name, owner, cal, named, memo), existing, stale_before if first else None)
        keys = {fu.key for fu in mine}
        for old in by_iid.get(insp.inspection_id, ()):
            if old.key not in keys:
                mine.append(replace(old, state=DONE if old.done else NOT_NEEDED))
                result.retired += old.state not in (DONE, NOT_NEEDED) and not old.done
        result.new += sum(1 for fu in mine if fu.key not in existing)
        result.follow_ups.extend(mine)
        result.by_inspection[insp.inspection_id] = mine
    for role in sorted(missing_roles):
        result.problems.append(Problem("warning", "Staff", None, "Role", role,
                                       f"follow-up actions for the {role} have no owner: no officer on the Staff sheet covers them",
                                       f"add the officer to the Staff sheet with Role {role} (a CEM needs the Phase they cover)."))
    return result


def compiled(ctx) -> Compiled:
    """The follow-ups for a run's Context, compiled once (the reminders and the tracker
    update must see the same list)."""
    cached = ctx.__dict__.get("_follow_ups")
    if cached is None:
        days = DayIndex(ctx.calendar, ctx.now.date())
        ends: dict[tuple, date] = {}  # (start date, days on site) -> last day

        def end(i):
            key = (i.start_date, ctx.on_site_days(i))
            if key not in ends:
                ends[key] = last_day(i, key[1], days)  # last_day asks only add_working_days of its calendar
            return ends[key]

        cached = compile_follow_ups(ctx.tracker, ctx.rules, ctx.calendar, ctx.now.date(), end, days)
        ctx.__dict__["_follow_ups"] = cached
    return cached
