"""What a feedback form asks, per framework and inspection type, as plain data built from the
rules (frameworks.toml + feedback_form.toml). The writer lays it out; the reader finds each
value by its stable key, never by position."""

from __future__ import annotations

from dataclasses import dataclass

from automation.errors import ConfigError
from automation.rules import Rules
from automation.rules_schema import FILLABLE, FormField, FormSection, FormType

SHEET = "Feedback form"  # the one sheet the officer fills in
MARKER = "ofsted-tracker-form"  # hidden cell A1 of every form: MARKER:version:framework:type
VERSION = 1
YES_NO = ("Yes", "No")
NO_CATEGORY = "None"  # the form's way to say "not in a category" (blank in the tracker)


@dataclass(frozen=True)
class Field:
    key: str  # stable: the hidden key column holds it
    label: str
    kind: str = "text"  # info | text | long | choice | date | datetime
    choices: tuple[str, ...] = ()
    hint: str = ""
    column: str = ""  # the Inspections column it fills ("" = on the form only)


@dataclass(frozen=True)
class Section:
    title: str
    fields: tuple[Field, ...]


@dataclass(frozen=True)
class FormSpec:
    framework: str
    framework_label: str
    inspection_type: str
    sections: tuple[Section, ...]

    @property
    def fields(self) -> tuple[Field, ...]:
        return tuple(f for s in self.sections for f in s.fields)

    def field(self, key: str) -> Field | None:
        """The field with this key, or None."""
        return next((f for f in self.fields if f.key == key), None)

    @property
    def marker(self) -> str:
        return f"{MARKER}:{VERSION}:{self.framework}:{self.inspection_type}"

    @property
    def file_stem(self) -> str:
        """The shipped template's name: feedback_form_<framework>_<type>."""
        return f"feedback_form_{self.framework}_{self.inspection_type.lower().replace(' ', '_')}"


INFO = (
    Field("inspection_id", "Inspection ID", "info", hint="The tracker's Inspection ID (e.g. OFS-100001-20261116): the tool matches the form by it."),
    Field("school", "School", "info"),
    Field("urn", "URN", "info"),
    Field("school_type", "Phase and governance", "info"),
    Field("inspection", "Inspection", "info"),
    Field("days", "Days on site", "info"),
    Field("lead_inspector", "Lead inspector", "info"),
    Field("la_team", "SIM and AI", "info"),
)


WHERE = "Rules file feedback_form.toml"
NO_TYPE = FormType()  # an inspection type feedback_form.toml gives no [types] entry


def form_spec(rules: Rules, framework: str, inspection_type: str) -> FormSpec:
    """The form for one inspection type of one framework, laid out as feedback_form.toml says."""
    fw = rules.frameworks.get(framework)
    if fw is None or inspection_type not in fw.types:
        raise ConfigError(f"There is no {inspection_type!r} inspection in the framework {framework!r} "
                          "(rules/frameworks.toml) — check the inspection type.")
    data = rules.feedback_form
    builtins = {"inspection": Section("The inspection", INFO),
                "judgements": _judgements(rules, fw, data.types.get(f"{framework}.{inspection_type}", NO_TYPE))}
    return FormSpec(framework, fw.label, inspection_type, tuple(_section(s, builtins, fw) for s in data.section))


def _judgements(rules: Rules, fw, data: FormType) -> Section:
    areas = fw.areas if data.judgements == "all" else tuple(data.judgements)
    hint = data.judgement_hint
    fields = [Field("outcome", data.outcome_label, "choice", tuple(data.outcomes))] if data.outcomes else []
    fields += [Field(f"grade:{a}", a, "choice", fw.scale, hint if i == 0 else "", a) for i, a in enumerate(areas)]
    fields += [
        Field("safeguarding", "Safeguarding", "choice", fw.safeguarding, column="Safeguarding"),
        Field("category_of_concern", "Category of concern", "choice",
              (NO_CATEGORY, *rules.choices("category_of_concern")), "None, or the category Ofsted gave.",
              "Category of concern"),
    ]
    return Section("Key judgements" if fw.key == "eif2024" else "Evaluation areas", tuple(fields))


def _section(data: FormSection, builtins: dict[str, Section], fw) -> Section:
    # Kinds, keys, titles and required fields were checked as the rules loaded (rules_schema.py).
    if data.builtin is not None:
        return builtins[data.builtin]
    title = data.title or ""
    return Section(title, tuple(_field(f, f"{WHERE}, section '{title}'", fw) for f in data.field))


def _field(data: FormField, where: str, fw) -> Field:
    # A column must be one of this framework's areas (the load checked only "some framework's").
    if data.column and data.column not in FILLABLE and data.column not in fw.areas:
        raise ConfigError(f"{where}, field '{data.key}': column = {data.column!r} is not an Inspections column a "
                          f"form can fill for the {fw.label} ({', '.join(sorted(FILLABLE))} or its areas) — correct "
                          "it or remove the line.")
    choices = YES_NO if data.kind == "yesno" else tuple(data.choices)
    return Field(data.key, data.label, "choice" if data.kind == "yesno" else data.kind, choices, data.hint, data.column)


def all_specs(rules: Rules) -> list[FormSpec]:
    """Every form: one per inspection type of each framework."""
    return [form_spec(rules, key, t) for key, fw in rules.frameworks.items() for t in fw.types]
