"""What an inspection's recorded outcome means (rules/frameworks.toml + rules/outcomes.toml):
adverse, category of concern, may be monitored — and whether the recorded Category of concern
agrees with the grades (a warning on the Problems sheet, never a silent fix)."""

from __future__ import annotations

from dataclasses import dataclass

from automation.errors import Problem
from automation.model import Inspection
from automation.rules import Framework, Rules
from automation.rules_schema import FrameworkOutcomes, Monitoring, SpecialMeasures

NONE = FrameworkOutcomes(categories=[])  # a framework outcomes.toml says nothing about


@dataclass(frozen=True)
class Outcome:
    recorded: bool  # any grade or safeguarding judgement is in the tracker
    adverse: bool  # the LA's programme of support applies
    category_expected: bool  # the grades or safeguarding mean a category of concern
    category: str  # as recorded (blank if none)
    monitoring: bool  # Ofsted may monitor (not in a category; the framework's exclusions do not apply)
    safeguarding_failed: bool
    special_measures_expected: bool = False  # the grades meet the framework's special-measures test
    monitoring_excluded: str = ""  # why a school with eligible grades is not normally monitored

    @property
    def in_category(self) -> bool:
        """Recorded, or implied by the grades (the warning asks someone to confirm)."""
        return bool(self.category) or self.category_expected

    @property
    def special_measures(self) -> bool:
        """Special measures recorded (or, with none recorded, implied by the grades)."""
        if self.category:
            return self.category == "Special measures"
        return self.category_expected and self.special_measures_expected


def _rules(rules: Rules, fw: Framework) -> FrameworkOutcomes:
    return rules.outcomes.frameworks.get(fw.key, NONE)


def special_measures_met(grades: dict[str, str], sm: SpecialMeasures | None) -> bool:
    """The framework's special-measures test on the grades (rules data), True when none is set."""
    if sm is None or not sm.grade:
        return True
    bad = {a for a, g in grades.items() if g == sm.grade}
    if sm.any_of and not bad & set(sm.any_of):
        return False
    if not set(sm.all_of) <= bad:
        return False
    return len(bad - set(sm.all_of)) >= sm.other_areas_at_least


def _monitoring_exclusion(insp: Inspection, fw: Framework, m: Monitoring, earlier: list[Inspection]) -> str:
    """Why a school with eligible grades is not normally monitored (S3 ¶51), or ''."""
    good = set(m.good_grades)
    for area in m.not_if_good:
        if insp.grades.get(area) in good:
            return f"{area} is {insp.grades[area]}"
    keys = [a for a in fw.areas if a not in fw.provision_areas and a in insp.grades]
    if m.not_if_key_judgements_good and keys and all(insp.grades[a] in good for a in keys):
        return "the school is good or better for every judgement other than the provision judgements"
    since = m.not_if_previous_graded_good_since
    graded = [e for e in earlier if e.framework == insp.framework and e.inspection_type in m.types
              and e.grades and e.start_date < insp.start_date]
    if since and graded:
        prev = max(graded, key=lambda e: e.start_date)
        if prev.start_date >= since and all(g in good for g in prev.grades.values()):
            return f"the previous graded inspection ({prev.start_date:%d/%m/%Y}) graded every judgement good or better"
    return ""


def outcome(insp: Inspection, rules: Rules, earlier: list[Inspection] | None = None) -> Outcome:
    """The meaning of the grades, safeguarding and category recorded for an inspection
    (`earlier`: the school's earlier inspections in the tracker, for the monitoring exclusions)."""
    fw = rules.frameworks[insp.framework]
    fr = _rules(rules, fw)
    grades = set(insp.grades.values())
    sg_failed = insp.safeguarding in fw.safeguarding_failed
    expected = bool(grades & set(fw.category_trigger)) or sg_failed
    m = fr.monitoring
    eligible = m is not None and bool(grades & set(m.eligible_grades))
    if m is not None and m.types and insp.inspection_type not in m.types:
        eligible = False
    excluded = _monitoring_exclusion(insp, fw, m, earlier or []) if eligible else ""
    in_cat = expected or bool(insp.category_of_concern)
    return Outcome(
        recorded=bool(grades or insp.safeguarding or insp.category_of_concern),
        adverse=bool(grades & set(fw.adverse)) or sg_failed or bool(insp.category_of_concern),
        category_expected=expected,
        category=insp.category_of_concern,
        monitoring=not in_cat and eligible and not excluded,
        safeguarding_failed=sg_failed,
        special_measures_expected=fr.special_measures is not None and special_measures_met(insp.grades, fr.special_measures),
        monitoring_excluded=excluded if not in_cat else "",
    )


def consistency_problems(insp: Inspection, rules: Rules) -> list[Problem]:
    """Warnings where the recorded Category of concern and the grades disagree."""
    fw = rules.frameworks[insp.framework]
    o = outcome(insp, rules)
    if not insp.grades and not insp.safeguarding:
        return []  # nothing to check against yet (outcomes are filled in over time)
    out = []
    fr = _rules(rules, fw)
    cats = tuple(fr.categories)
    where = dict(sheet="Inspections", row=insp.row, column="Category of concern")
    if o.category_expected and not o.category:
        why = _triggers(insp, fw)
        out.append(Problem("warning", value="", message=f"{insp.inspection_id}: {why}, which means a category of concern, "
                           "but Category of concern is blank",
                           fix=f"record the category Ofsted gave ({' or '.join(cats) or 'the category'}), or correct the grades.", **where))
    elif o.category and not o.category_expected:
        out.append(Problem("warning", value=o.category, message=f"{insp.inspection_id}: a category of concern is recorded, "
                           f"but no grade is {' or '.join(fw.category_trigger)} and safeguarding is not {' or '.join(fw.safeguarding_failed)}",
                           fix="check the report: correct the grades, the Safeguarding column or the Category of concern.", **where))
    if o.category and cats and o.category not in cats:
        out.append(Problem("warning", value=o.category, message=f"{o.category!r} is not a category used by the {fw.label}",
                           fix=f"choose one of: {', '.join(cats)}.", **where))
    sm = fr.special_measures
    if o.category == "Special measures" and sm and sm.grade and insp.grades and not special_measures_met(insp.grades, sm):
        out.append(Problem("warning", value=o.category, message=f"{insp.inspection_id}: special measures under the {fw.label} "
                           f"needs {_sm_words(sm)}, and the grades recorded do not show it",
                           fix=f"check the report: it may be {cats[0] if cats else 'another category'}, or a grade is missing or wrong.",
                           **where))
    return out


def _sm_words(sm: SpecialMeasures) -> str:
    parts = []
    if sm.any_of:
        parts.append(f"{' or '.join(sm.any_of)} to be {sm.grade}")
    if sm.all_of:
        parts.append(f"{' and '.join(sm.all_of)} to be {sm.grade}")
    if sm.other_areas_at_least:
        parts.append(f"at least {sm.other_areas_at_least} other area(s) {sm.grade} as well")
    return ", ".join(parts)


def _triggers(insp: Inspection, fw: Framework) -> str:
    parts = [f"{a} is {g}" for a, g in insp.grades.items() if g in fw.category_trigger]
    if insp.safeguarding in fw.safeguarding_failed:
        parts.append(f"safeguarding is {insp.safeguarding}")
    return "; ".join(parts)
