"""What an inspection's recorded outcome means (rules/frameworks.toml + rules/outcomes.toml):
adverse, category of concern, monitoring expected — and whether the recorded Category of
concern agrees with the grades (a warning on the Problems sheet, never a silent fix)."""

from __future__ import annotations

from dataclasses import dataclass

from automation.errors import Problem
from automation.model import Inspection
from automation.rules import Framework, Rules


@dataclass(frozen=True)
class Outcome:
    recorded: bool  # any grade or safeguarding judgement is in the tracker
    adverse: bool  # the LA's programme of support applies
    category_expected: bool  # the grades or safeguarding mean a category of concern
    category: str  # as recorded (blank if none)
    monitoring: bool  # monitoring without a category
    safeguarding_failed: bool

    @property
    def in_category(self) -> bool:
        """Recorded, or implied by the grades (the warning asks someone to confirm)."""
        return bool(self.category) or self.category_expected


def _rules(rules: Rules, fw: Framework) -> dict:
    return rules.extra.get("outcomes", {}).get("frameworks", {}).get(fw.key, {})


def outcome(insp: Inspection, rules: Rules) -> Outcome:
    """The meaning of the grades, safeguarding and category recorded for an inspection."""
    fw = rules.frameworks[insp.framework]
    grades = set(insp.grades.values())
    sg_failed = insp.safeguarding in fw.safeguarding_failed
    expected = bool(grades & set(fw.category_trigger)) or sg_failed
    return Outcome(
        recorded=bool(grades or insp.safeguarding or insp.category_of_concern),
        adverse=bool(grades & set(fw.adverse)) or sg_failed or bool(insp.category_of_concern),
        category_expected=expected,
        category=insp.category_of_concern,
        monitoring=not (expected or insp.category_of_concern) and bool(grades & set(_rules(rules, fw).get("monitoring_trigger", ()))),
        safeguarding_failed=sg_failed,
    )


def consistency_problems(insp: Inspection, rules: Rules) -> list[Problem]:
    """Warnings where the recorded Category of concern and the grades disagree."""
    fw = rules.frameworks[insp.framework]
    o = outcome(insp, rules)
    if not insp.grades and not insp.safeguarding:
        return []  # nothing to check against yet (outcomes are filled in over time)
    out = []
    where = dict(sheet="Inspections", row=insp.row, column="Category of concern")
    if o.category_expected and not o.category:
        why = _triggers(insp, fw)
        out.append(Problem("warning", value="", message=f"{insp.inspection_id}: {why}, which means a category of concern, "
                           "but Category of concern is blank",
                           fix="record the category Ofsted gave (Serious weaknesses or Special measures), or correct the grades.", **where))
    elif o.category and not o.category_expected:
        out.append(Problem("warning", value=o.category, message=f"{insp.inspection_id}: a category of concern is recorded, "
                           f"but no grade is {' or '.join(fw.category_trigger)} and safeguarding is not {' or '.join(fw.safeguarding_failed)}",
                           fix="check the report: correct the grades, the Safeguarding column or the Category of concern.", **where))
    fr = _rules(rules, fw)
    if o.category and o.category not in fr.get("categories", (o.category,)):
        out.append(Problem("warning", value=o.category, message=f"{o.category!r} is not a category used by the {fw.label}",
                           fix=f"choose one of: {', '.join(fr['categories'])}.", **where))
    needs, grade = fr.get("special_measures_needs", ()), fr.get("special_measures_grade", "")
    if o.category == "Special measures" and needs and insp.grades and not any(insp.grades.get(a) == grade for a in needs):
        out.append(Problem("warning", value=o.category, message=f"{insp.inspection_id}: special measures under the {fw.label} "
                           f"needs {' or '.join(needs)} to be {grade}, and neither is",
                           fix="check the report: it may be Serious weaknesses, or a grade is missing or wrong.", **where))
    return out


def _triggers(insp: Inspection, fw: Framework) -> str:
    parts = [f"{a} is {g}" for a, g in insp.grades.items() if g in fw.category_trigger]
    if insp.safeguarding in fw.safeguarding_failed:
        parts.append(f"safeguarding is {insp.safeguarding}")
    return "; ".join(parts)


def monitoring_window(rules: Rules) -> dict:
    """Months from publication for the expected monitoring inspection (rules data)."""
    return dict(rules.extra.get("outcomes", {}).get("monitoring", {}))
