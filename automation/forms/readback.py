"""The core of feedback forms: which forms are due, what a new form is pre-filled with, and
how a completed form's values become tracker cells. A tracker cell is only ever filled when
blank; a different value already there is reported as a Problem, never overwritten."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date, datetime

from automation import values as V
from automation.context import Context
from automation.errors import Problem, WorkbookError
from automation.model import Inspection, School
from automation.plan.contact import build_plan, feedback_form_due
from automation.plan.emails import day, when
from automation.rules import Framework, Rules
from automation.safefiles import name_part
from automation.forms.spec import NO_CATEGORY, Field, FormSpec, form_spec
from automation.mail.states import DONE_FOR_HISTORY as SENT_STATES  # what the LA did
from automation.purposes import words


@dataclass(frozen=True)
class ContactPoint:
    when: datetime
    what: str
    confirm: bool = False  # a planned call: the officer says whether it happened


@dataclass(frozen=True)
class FormPlan:
    """A pre-filled form to write for one inspection."""

    inspection: Inspection
    spec: FormSpec
    values: dict[str, object]
    contacts: tuple[ContactPoint, ...]
    file_name: str


@dataclass(frozen=True)
class FilledForm:
    """A form as read back from its file."""

    name: str  # the file name, for messages
    framework: str
    inspection_type: str
    values: dict[str, object]  # key -> cell value
    rows: dict[str, int] = field(default_factory=dict)  # key -> row on the form
    data: bytes = field(default=b"", compare=False, repr=False)  # the file, to attach
    labels: dict[str, str] = field(default_factory=dict, compare=False)  # key -> column B, e.g. a contact's "when — what"

    @property
    def inspection_id(self) -> str:
        return V.text(self.values.get("inspection_id"))

    @property
    def complete(self) -> bool:
        return V.text(self.values.get("form_complete")).lower() == "yes"


CONTACT = "contact:"  # the key prefix of a contact-point row (column A)
CONTACT_WHEN = "%A %d %B %Y, %H:%M"  # how the form writes a contact's time (plan/dates.py uk())


def contact_answers(form: FilledForm) -> tuple[tuple[datetime, bool], ...]:
    """The officer's Yes/No for each planned contact, by its planned time. Raises WorkbookError
    when an answered row's time cannot be read: a changed layout must not empty a review."""
    out = []
    for key, value in form.values.items():
        if not key.startswith(CONTACT) or V.text(value) not in ("Yes", "No"):
            continue
        label = V.text(form.labels.get(key))
        try:
            at = datetime.strptime(label.split(" — ")[0], CONTACT_WHEN)
        except ValueError:
            raise WorkbookError(f"The feedback form {form.name}, row {form.rows.get(key, '?')}, column B: "
                                f"{label!r} does not start with the contact's time as the tool writes it "
                                "(e.g. 'Friday 4 December 2026, 16:30 — ...') — put the text back as it was, "
                                "or ask for a new form to be written and copy the answers across.")
        out.append((at, V.text(value) == "Yes"))
    return tuple(out)


@dataclass
class ReadBack:
    """What one completed form means for the tracker."""

    form: FilledForm
    inspection: Inspection
    cells: dict[str, object] = field(default_factory=dict)  # Inspections header -> value to write
    problems: list[Problem] = field(default_factory=list)
    conflicts: int = 0  # how many of the problems are a form value the tracker disagrees with


def file_name(insp: Inspection, school: School) -> str:
    """'<Inspection ID> <School name> feedback form.xlsx', safe on every system."""
    return f"{insp.inspection_id} {name_part(school.name)} feedback form.xlsx"


def forms_due(ctx: Context) -> list[FormPlan]:
    """A form for every inspection on or past its last day on site whose form is still to do,
    where the LA completes one (feedback_form.toml `applies`: not an offer-only academy)."""
    out = []
    today = ctx.now.date()
    window = ctx.rules.feedback_form.write_within_working_days
    for insp in ctx.tracker.inspections:
        school = ctx.tracker.schools.get(insp.urn)
        if school is None or insp.feedback_form_completed or insp.report_published \
                or not feedback_form_due(insp, school, ctx.rules):
            continue
        end = ctx.last_day(insp)
        if today < end or today > ctx.calendar.add_working_days(end, window):
            continue
        spec = form_spec(ctx.rules, insp.framework, insp.inspection_type)
        out.append(FormPlan(insp, spec, prefill(ctx, insp, school), contact_points(ctx, insp, school),
                            file_name(insp, school)))
    return out


def prefill(ctx: Context, insp: Inspection, school: School) -> dict[str, object]:
    """The values the tool knows: the school, the dates, and any outcomes already in the tracker."""
    n = ctx.on_site_days(insp)
    end = ctx.last_day(insp)
    values: dict[str, object] = {
        "inspection_id": insp.inspection_id, "school": school.name, "urn": school.urn,
        "school_type": f"{school.phase}, {school.governance}",
        "inspection": f"{insp.inspection_type} inspection, {ctx.rules.frameworks[insp.framework].label}; "
                      f"notified {when(ctx.calendar.local(insp.notified_at))}",
        "days": day(insp.start_date) + (f" to {day(end)}" if end != insp.start_date else ""),
        "lead_inspector": insp.lead_inspector or "(not recorded)",
        "la_team": f"SIM {school.sim}; AI {school.ai}",
        "final_feedback_at": insp.final_feedback_at.replace(tzinfo=None) if insp.final_feedback_at else None,
        "safeguarding": insp.safeguarding or None, "category_of_concern": insp.category_of_concern or None,
        "conduct_concerns": insp.conduct_concerns or None, "nominee": insp.nominee or None,
    }
    values.update({f"grade:{a}": g for a, g in insp.grades.items()})
    return values


def contact_points(ctx: Context, insp: Inspection, school: School) -> tuple[ContactPoint, ...]:
    """The emails the journal says went, and the keep-in-touch calls the plan set, in time order."""
    labels = ctx.rules.feedback_form.contact_labels
    points = []
    for r in ctx.history:
        if r.inspection_id == insp.inspection_id and r.state in SENT_STATES:
            what = labels.get(r.purpose, words(r.purpose).capitalize())
            points.append(ContactPoint(ctx.calendar.local(r.updated_at), what + (f" (update {r.version})" if r.version > 1 else "")))
    staff = ctx.tracker.staff
    if school.sim in staff and school.ai in staff:
        plan = build_plan(insp, school, staff, ctx.tracker.cem_for(school, ctx.rules.cem_for_phase),
                          ctx.rules.contact_plan, ctx.calendar)
        points += [ContactPoint(c.start, f"{c.label} ({c.owner.name})", confirm=True) for c in plan.calls]
    return tuple(sorted(points, key=lambda p: p.when))


def canonical(f: Field, value, fw: Framework) -> tuple[object, bool]:
    """(the value as the tracker holds it, whether it was acceptable). Blank is (None, True)."""
    if value is None or V.text(value) == "":
        return None, True
    try:
        if f.kind == "choice":
            got = fw.grade(V.text(value)) if f.key.startswith("grade:") else \
                next((c for c in f.choices if c.lower() == " ".join(V.text(value).split()).lower()), None)
            return got, got is not None
        if f.kind == "date":
            return V.parse_date(value), True
        if f.kind == "datetime":
            dt, has_time = V.parse_datetime(value)
            return dt.replace(second=0), has_time
    except V.BadValue:
        return None, False
    return V.text(value), True


def _for_tracker(f: Field, v):
    # "None" (no category) is how the form says what the tracker says with a blank cell.
    return None if f.key == "category_of_concern" and v == NO_CATEGORY else v


def read_back(form: FilledForm, insp: Inspection, current: dict[str, object], columns,
              rules: Rules, today: date) -> ReadBack:
    """Tracker cells to fill from a completed form, and the problems (bad values, conflicts)."""
    fw = rules.frameworks[insp.framework]
    spec = form_spec(rules, insp.framework, insp.inspection_type)
    out = ReadBack(form, insp)
    if (form.framework, form.inspection_type) != (insp.framework, insp.inspection_type):
        out.problems.append(Problem("warning", "Inspections", insp.row, "Inspection type", insp.inspection_type,
                                    f"the feedback form {form.name} is a {form.inspection_type} form, but the tracker says {insp.inspection_type}",
                                    "check the inspection type; the form's values were still read by field."))
    for f in spec.fields:
        if not f.column:
            continue
        value, ok = canonical(f, form.values.get(f.key), fw)
        if not ok:
            out.problems.append(_bad_value(form, f, fw))
            if f.key != "completed_on":
                continue
        if f.key == "completed_on" and value is None:
            value = today  # marked complete without a date: completed when the tool saw it
        _fill(out, f, value, current, columns, fw)
    return out


def _fill(out: ReadBack, f: Field, value, current: dict, columns, fw: Framework) -> None:
    form, insp = out.form, out.inspection
    if value is None:
        return  # blank on the form: nothing to record, nothing to disagree with
    if f.column not in columns:
        out.problems.append(Problem("warning", "Inspections", insp.row, f.column, V.text(value),
                                    f"the feedback form {form.name} gives {f.label} but the tracker has no '{f.column}' column",
                                    f"add a column headed '{f.column}' to the Inspections sheet; the next run fills it."))
        return
    write, raw_have = _for_tracker(f, value), current.get(f.column)
    if raw_have is None or V.text(raw_have) == "":
        if write is not None:
            out.cells[f.column] = write
        return
    have, ok = canonical(f, raw_have, fw)
    if ok and _for_tracker(f, have) == write:
        return
    out.conflicts += 1
    out.problems.append(Problem(
        "warning", "Inspections", insp.row, f.column, V.text(raw_have),
        f"the feedback form {form.name} says {f.label} is {V.text(value)!r} but the tracker says {V.text(raw_have)!r}; "
        "the tracker was left as it is",
        "decide which is right: correct the tracker cell, or correct the form (if the form is right, "
        "clear the tracker cell and the next run fills it from the form)."))


def _bad_value(form: FilledForm, f: Field, fw: Framework) -> Problem:
    value = V.text(form.values.get(f.key))
    if f.kind == "choice":
        allowed = fw.scale if f.key.startswith("grade:") else f.choices
        why, fix = "is not one of the allowed values", f"choose one of: {', '.join(allowed)} (use the cell's dropdown)."
    elif f.kind == "datetime":
        why, fix = "is not a date and time", "type it as dd/mm/yyyy hh:mm."
    else:
        why, fix = "is not a date", "type it as dd/mm/yyyy."
    return Problem("warning", f"Feedback form {form.name}", form.rows.get(f.key), f.label, value,
                   f"{value!r} {why}; it was not recorded in the tracker", fix)


def apply_to_inspection(insp: Inspection, cells: dict[str, object], fw: Framework) -> Inspection:
    """The inspection as the rest of the run should see it once the form's cells are written."""
    changes: dict[str, object] = {}
    grades = dict(insp.grades)
    for header, v in cells.items():
        if header in fw.areas:
            grades[header] = v
        elif header == "Final feedback at":
            changes["final_feedback_at"] = v.replace(tzinfo=insp.notified_at.tzinfo)
        elif header == "Feedback form completed":
            changes["feedback_form_completed"] = v
        else:
            changes[header.lower().replace(" ", "_")] = v  # Safeguarding, Category of concern, Conduct concerns
    return dataclasses.replace(insp, grades=grades, **changes)


def summary(form: FilledForm, spec: FormSpec, fw: Framework) -> list[dict]:
    """The form's filled-in answers by section, for the email (info fields left out)."""
    out = []
    for s in spec.sections:
        rows = [{"label": f.label, "value": _display(f, form.values.get(f.key), fw)} for f in s.fields
                if f.kind != "info" and f.key != "form_complete" and V.text(form.values.get(f.key))]
        if rows:
            out.append({"title": s.title, "rows": rows})
    return out


def _display(f: Field, v, fw: Framework) -> str:
    value, ok = canonical(f, v, fw)
    if not ok:
        return V.text(v) + (" (not a valid value: not recorded in the tracker)" if f.column else "")
    return value.strftime("%d/%m/%Y") if f.kind == "date" else V.text(value)
