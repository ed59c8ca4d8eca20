"""The HMI meeting summary: a short HTML document of one term's themes — counts, concerns
about conduct by theme, timeliness — for the LA's meetings with its linked HMIs. With
anonymise, no school name, URN or lead inspector appears (checked before writing)."""

from __future__ import annotations

import calendar as months
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import jinja2

from automation.context import Context
from automation.errors import TemplateError, TrackerError
from automation.model import Tracker
from automation.oversight.figures import IN_TIME, LATE, NOT_SENT, Facts, median_of
from automation.plan.contact import inspection_days
from automation.oversight.settings import report_paths
from automation.review.timeline import judge
from automation.safefiles import file_in
from automation.workbook.raw import RawWorkbook

TERM = re.compile(r"^(\d{4})-(\d{2}) (\w+)$")
OTHER = "Other"


@dataclass(frozen=True)
class ConcernRow:
    label: str
    type: str
    started: str
    lead_inspector: str
    conduct: str
    themes: str


def themes_of(notes: str, themes: dict[str, list[str]]) -> list[str]:
    """The themes whose words appear in a concern's notes (Other when none do)."""
    text = notes.lower()
    found = [name for name, words in themes.items() if any(w.lower() in text for w in words)]
    return found or [OTHER]


def summary_context(ctx: Context, facts: list[Facts], term: str, anonymise: bool) -> dict:
    """Everything the summary shows for a term, as plain values."""
    rules, tracker, cal = ctx.rules, ctx.tracker, ctx.calendar
    chosen = [f for f in facts if f.term == term]
    insp_by_id = {i.inspection_id: i for i in tracker.inspections}
    theme_words = rules.oversight.themes
    themes: Counter = Counter()
    rows = []
    for n, f in enumerate(sorted((f for f in chosen if f.concerns or f.conduct), key=lambda f: f.notified_at)):
        insp = insp_by_id[f.inspection_id]
        found = themes_of(insp.concern_notes, theme_words) if insp.concern_notes else [OTHER]
        themes.update(found)
        rows.append(ConcernRow(f"Inspection {chr(65 + n % 26)}{n // 26 or ''}" if anonymise else f.school,
                               f.inspection_type, f"{insp.start_date:%B %Y}" if anonymise else f"{insp.start_date:%d/%m/%Y}",
                               insp.lead_inspector or "—", "Yes" if f.conduct else "No", "; ".join(found)))
    governance = Counter(tracker.schools[insp_by_id[f.inspection_id].urn].governance for f in chosen)
    t = rules.contact_plan.timings
    form_kept = form_missed = form_unknown = 0
    for f in chosen:
        insp = insp_by_id[f.inspection_id]
        days = inspection_days(insp, ctx.on_site_days(insp), cal)
        due = cal.at(cal.add_working_days(days[-1], t.feedback_form_within_working_days), cal.day_end)
        verdict = judge(due, insp.feedback_form_completed, ctx.now, cal)
        form_kept += verdict == "Met"
        form_missed += verdict == "Missed"
        form_unknown += verdict not in ("Met", "Missed")
    median = median_of([f.ack_hours for f in chosen])
    terms = rules.oversight.terms
    return {
        "title": f"Ofsted inspections: themes for the LA–HMI meeting, {term}", "term": term,
        "la_name": ctx.config.la_name, "prepared": f"{ctx.now:%d/%m/%Y}", "anonymised": anonymise,
        "terms_text": "; ".join(f"{k.lower()} {months.month_abbr[v[0]]}–{months.month_abbr[v[-1]]}" for k, v in terms.items() if v),
        "total": len(chosen),
        "governance_text": ", ".join(f"{n} {g.lower()}" for g, n in sorted(governance.items())),
        "types": sorted(Counter(f"{f.inspection_type} ({f.framework})" for f in chosen).items()),
        "outcomes": sorted(Counter(f.outcome for f in chosen).items()),
        "concerns": sum(f.concerns for f in chosen), "conduct": sum(f.conduct for f in chosen),
        "themes": sorted(themes.items(), key=lambda kv: (-kv[1], kv[0])), "concern_rows": rows,
        "timeliness": [
            {"what": f"Acknowledge the school within {t.acknowledge_within_working_hours} working hours",
             "kept": sum(f.ack == IN_TIME for f in chosen), "missed": sum(f.ack in (LATE, NOT_SENT) for f in chosen),
             "unknown": sum(f.ack not in (IN_TIME, LATE, NOT_SENT) for f in chosen)},
            {"what": "Keep-in-touch points (from the feedback forms)", "kept": sum(f.kit_met for f in chosen),
             "missed": sum(f.kit_missed for f in chosen), "unknown": sum(f.kit_unknown for f in chosen)},
            {"what": f"Feedback form within {t.feedback_form_within_working_days} working days of the last day",
             "kept": form_kept, "missed": form_missed, "unknown": form_unknown},
        ],
        "median_hours": f"{median:g} working hours" if median is not None else "not available",
        "reviews_requested": sum(bool(f.review) for f in chosen),
        "reviews_completed": sum(f.review == "Complete" for f in chosen),
    }


def render_summary(context: dict) -> str:
    """The HTML, from the strict, autoescaping template beside this module."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(Path(__file__).parent)),
                             undefined=jinja2.StrictUndefined, autoescape=True)
    try:
        return env.get_template("hmi_summary.html").render(context)
    except (jinja2.TemplateNotFound, jinja2.UndefinedError) as exc:
        raise TemplateError(f"The HMI summary template (automation/oversight/hmi_summary.html) is broken: {exc} — restore it.")


def leaks(html: str, tracker: Tracker) -> list[str]:
    """School names, URNs and lead inspectors that appear in the document."""
    text = html.lower()
    found = [s.name for s in tracker.schools.values() if s.name and s.name.lower() in text]
    found += [s.urn for s in tracker.schools.values() if re.search(rf"\b{s.urn}\b", html)]
    found += sorted({i.lead_inspector for i in tracker.inspections if i.lead_inspector and i.lead_inspector.lower() in text})
    return found


def check_term(term: str, facts: list[Facts]) -> str:
    """The term label, checked: '2026-27 Autumn' style."""
    m = TERM.match(" ".join(term.split()))
    if not m:
        raise TrackerError(f"--term {term!r} is not a term like \"2026-27 Autumn\" — terms in the tracker: {known_terms(facts)}.")
    label = f"{m.group(1)}-{m.group(2)} {m.group(3).capitalize()}"
    if not any(f.term == label for f in facts):
        raise TrackerError(f"The tracker has no inspections in {label}, so no summary was written — "
                           f"terms in the tracker: {known_terms(facts)}.")
    return label


def known_terms(facts: list[Facts], most: int = 12) -> str:
    """Every term the tracker has, oldest first (the latest `most` of a long history)."""
    terms = sorted({f.term for f in facts})  # "2025-26 Autumn" < "2025-26 Spring" < "2025-26 Summer"
    if not terms:
        return "none yet"
    shown = ", ".join(terms[-most:])
    return shown if len(terms) <= most else f"{shown} (and {len(terms) - most} older)"


def write_summary(ctx: Context, raw: RawWorkbook | None, workbook: Path, term: str, anonymise: bool,
                  out: Path | None = None) -> Path:
    """Write the summary for a term; refuses to write an anonymised one that would name a school."""
    from automation.oversight.service import facts_for

    facts = facts_for(ctx, raw, workbook)
    term = check_term(term, facts)
    html = render_summary(summary_context(ctx, facts, term, anonymise))
    if anonymise:
        named = leaks(html, ctx.tracker)
        if named:
            raise TrackerError(f"The anonymised summary would still name {', '.join(named[:3])} — not written. "
                               "Check the theme words in rules/oversight.toml and the LA name in the config.")
    dest = Path(out) if out else file_in(report_paths(ctx.config, workbook).summaries,
                                         f"HMI summary {term}{' (anonymised)' if anonymise else ''}.html")
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(html, encoding="utf-8")
    return dest
