"""One condition language for every rules file: which schools and inspections a rule is for.

A condition (the `applies` key of a contact-plan step, keep-in-touch point or follow-up action):
  - absent or {}                      every inspection
  - a table {facet = values, ...}     all of its facets hold; `not_<facet>` = none of the values
  - a list [cond, cond, ...]          any of them holds
  - a name "la_involved"              a named condition from rules/conditions.toml ("not name" negates)
  - {all = [cond, cond]}              every one holds (to combine a name with facets)
A facet's values are a list of words (matched ignoring case: governance = ["Academy"]) or, for a
yes/no fact, true or false (category = true)."""

from __future__ import annotations

import difflib

from automation.errors import ConfigError

# The words a condition may test, with what they mean (shown in the error for an unknown facet).
FACETS = {
    "governance": "the school's Governance (Maintained, Academy, Independent, Other)",
    "phase": "the school's Phase (Primary, Secondary, Special, Nursery, All-through, PRU)",
    "framework": "the inspection's framework key (eif2024, renewed)",
    "type": "the Inspection type (Graded, Full, Monitoring...)",
    "la_support_accepted": "the Inspections column LA support accepted (Yes, No, or blank)",
    "deferral": "the Deferral column (Requested, Granted, Refused, or blank)",
    "category_of_concern": "the Category of concern as recorded (or implied by the grades)",
}

# The yes/no facts each rules file's conditions may test (true / false), besides the facets.
FOLLOW_UP_FACTS = (
    "ended", "concerns_raised", "conduct_concerns", "complaint_made", "outcome_recorded", "adverse", "category",
    "monitoring", "maintained", "feedback_form_completed", "draft_report_received", "report_published",
    "later_inspection", "learning_review_requested", "learning_review_in_progress", "learning_review_complete",
    "safeguarding_failed", "special_measures", "monitoring_excluded", "trust_recorded", "chair_recorded")
PLAN_FACTS = ("context_notes", "diocese_recorded", "trust_recorded", "nominee_recorded", "planning_call_recorded",
              "final_feedback_recorded", "concerns_raised", "safeguarding_failed")


def _words(value) -> tuple[str, ...] | bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return (value.strip().lower(),)
    return tuple(str(v).strip().lower() for v in value)


def _facet_holds(name: str, want, facets: dict) -> bool:
    have = facets.get(name)
    if isinstance(want, bool):
        return bool(have) == want
    text = "" if have is None or isinstance(have, bool) else str(have).strip().lower()
    return text in want


def applies(cond, facets: dict, named: dict | None = None) -> bool:
    """Whether a condition holds for an inspection's facets (and yes/no facts)."""
    named = named or {}
    if cond is None or cond == {}:
        return True
    if isinstance(cond, str):
        name = cond.strip()
        if name.startswith("not "):
            return not applies(name[4:].strip(), facets, named)
        return applies(named[name], facets, named)
    if isinstance(cond, list):
        return any(applies(c, facets, named) for c in cond)
    for key, value in cond.items():
        if key == "all":
            if not all(applies(c, facets, named) for c in value):
                return False
            continue
        negate = key.startswith("not_")
        ok = _facet_holds(key[4:] if negate else key, _words(value), facets)
        if ok == negate:
            return False
    return True


def check(cond, where: str, facts: tuple[str, ...], named: dict, values: dict | None = None) -> None:
    """Raise ConfigError (naming `where`) for an unknown facet, fact or named condition, or (given
    `values`, the words each facet may name) a word no school or inspection can have."""
    if cond is None:
        return
    if isinstance(cond, str):
        name = cond.strip().removeprefix("not ").strip()
        if name not in named:
            raise ConfigError(f"{where}: the condition {cond!r} is not defined — define it under [conditions] in "
                              f"rules/conditions.toml, or use one of: {', '.join(sorted(named)) or '(none defined)'}.")
        return
    if isinstance(cond, list):
        for c in cond:
            check(c, where, facts, named, values)
        return
    if not isinstance(cond, dict):
        raise ConfigError(f"{where}: a condition must be a table {{governance = [...]}}, a list of them, or a name — "
                          f"not {cond!r}.")
    for key, value in cond.items():
        base = key.removeprefix("not_")
        if key == "all":
            for c in value if isinstance(value, list) else [value]:
                check(c, where, facts, named, values)
        elif base in FACETS:
            if isinstance(value, bool):
                raise ConfigError(f"{where}: {key} takes a list of words, not {value} — write {base} = [\"...\"].")
            _check_words(key, value, where, (values or {}).get(base))
        elif base in facts:
            if not isinstance(value, bool):
                raise ConfigError(f"{where}: {key} is a yes/no fact — write {key} = true or false.")
        else:
            known = ", ".join(list(FACETS) + list(facts))
            raise ConfigError(f"{where}: {key!r} is not something a condition can test — use one of: {known} "
                              "(or not_ before one).")


def _check_words(key: str, value, where: str, known: tuple[str, ...] | None) -> None:
    words = [value] if isinstance(value, str) else value
    if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
        raise ConfigError(f"{where}: {key} takes a list of words in quotes, not {value!r} — write {key} = [\"...\"].")
    if not words:  # [] would match no inspection (or, after not_, every one): a slip, not a rule
        raise ConfigError(f"{where}: {key} = [] names no word, so the condition says nothing — list the words "
                          f"it is for, or leave {key} out.")
    if not known:
        return
    folded = {k.lower() for k in known}
    for w in words:
        if w.strip().lower() not in folded:
            near = difflib.get_close_matches(w, list(known), n=1, cutoff=0.6)
            hint = f"did you mean {near[0]!r}?" if near else f"use one of: {', '.join(map(repr, known))}."
            raise ConfigError(f"{where}: {key} names {w!r}, which no school or inspection can have — {hint}")


def named_conditions(rules) -> dict:
    """The named conditions of rules/conditions.toml."""
    return dict(rules.conditions.conditions)
