"""What a feedback form asks, per framework and inspection type, as plain data built from the
rules (frameworks.toml + feedback_form.toml). The writer lays it out; the reader finds each
value by its stable key, never by position."""

from __future__ import annotations

from dataclasses import dataclass

from automation.errors import ConfigError
from automation.rules import Rules

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


KINDS = ("text", "long", "choice", "yesno", "date", "datetime")
REQUIRED = ("completed_on", "form_complete")  # the tool reads the form by these
WHERE = "Rules file feedback_form.toml"


# The Inspections columns a form may fill (besides the framework's areas): the ones the run knows how to
# fold into the inspection it is working on (forms/readback.py apply_to_inspection).
FILLABLE = frozenset(("Final feedback at", "Feedback form completed", "Safeguarding", "Category of concern",
                      "Conduct concerns", "Concerns raised", "Complaint made", "Nominee", "Lead inspector"))


def form_spec(rules: Rules, framework: str, inspection_type: str) -> FormSpec:
    """The form for one inspection type of one framework, laid out as feedback_form.toml says."""
    fw = rules.frameworks.get(framework)
    if fw is None or inspection_type not in fw.types:
        raise ConfigError(f"There is no {inspection_type!r} inspection in the framework {framework!r} "
                          "(rules/frameworks.toml) — check the inspection type.")
    data = rules.extra.get("feedback_form", {})
    builtins = {"inspection": Section("The inspection", INFO),
                "judgements": _judgements(rules, fw, data.get("types", {}).get(f"{framework}.{inspection_type}", {}))}
    sections = tuple(_section(s, i, builtins, fw) for i, s in enumerate(data.get("section", []), start=1))
    spec = FormSpec(framework, fw.label, inspection_type, sections)
    _check(spec)
    return spec


def _judgements(rules: Rules, fw, data: dict) -> Section:
    areas = fw.areas if data.get("judgements", "all") == "all" else tuple(data.get("judgements", ()))
    hint = data.get("judgement_hint", "")
    fields = [Field("outcome", data.get("outcome_label", "Outcome"), "choice", tuple(data["outcomes"]))] \
        if data.get("outcomes") else []
    fields += [Field(f"grade:{a}", a, "choice", fw.scale, hint if i == 0 else "", a) for i, a in enumerate(areas)]
    fields += [
        Field("safeguarding", "Safeguarding", "choice", fw.safeguarding, column="Safeguarding"),
        Field("category_of_concern", "Category of concern", "choice",
              (NO_CATEGORY, *rules.choices("category_of_concern")), "None, or the category Ofsted gave.",
              "Category of concern"),
    ]
    return Section("Key judgements" if fw.key == "eif2024" else "Evaluation areas", tuple(fields))


def _section(data: dict, n: int, builtins: dict[str, Section], fw) -> Section:
    if "builtin" in data:
        if data["builtin"] not in builtins:
            raise ConfigError(f"{WHERE}, section {n}: builtin = {data['builtin']!r} is not one of "
                              f"{', '.join(builtins)} — correct it or remove the line.")
        return builtins[data["builtin"]]
    title = data.get("title")
    if not isinstance(title, str) or not title.strip():
        raise ConfigError(f"{WHERE}, section {n}: it has no title — add title = \"...\" under its [[section]].")
    return Section(title, tuple(_field(f, f"{WHERE}, section '{title}'", fw) for f in data.get("field", [])))


def _field(data: dict, where: str, fw) -> Field:
    key, label, kind = data.get("key"), data.get("label"), data.get("kind", "text")
    if not isinstance(key, str) or not key or ":" in key or not isinstance(label, str) or not label:
        raise ConfigError(f"{where}: every [[section.field]] needs a key (no ':') and a label — found key={key!r}, "
                          f"label={label!r}.")
    if kind not in KINDS:
        raise ConfigError(f"{where}, field '{key}': kind = {kind!r} is not one of {', '.join(KINDS)}.")
    choices = YES_NO if kind == "yesno" else tuple(str(c) for c in data.get("choices", ()))
    if kind == "choice" and not choices:
        raise ConfigError(f"{where}, field '{key}': kind = \"choice\" needs choices = [\"...\", ...].")
    column = data.get("column", "")
    if column and column not in FILLABLE and column not in fw.areas:
        raise ConfigError(f"{where}, field '{key}': column = {column!r} is not an Inspections column a form can fill "
                          f"({', '.join(sorted(FILLABLE))}) — correct it or remove the line.")
    return Field(key, label, "choice" if kind == "yesno" else kind, choices, data.get("hint", ""), column)


def _check(spec: FormSpec) -> None:
    keys = [f.key for f in spec.fields]
    missing = [k for k in REQUIRED if k not in keys]
    twice = sorted({k for k in keys if keys.count(k) > 1})
    if missing or twice:
        raise ConfigError(f"{WHERE}: the form " + (f"lacks the field(s) {', '.join(missing)} (the tool reads the form by them)"
                                                   if missing else f"has the key(s) {', '.join(twice)} more than once")
                          + " — compare the file with the shipped copy.")


def all_specs(rules: Rules) -> list[FormSpec]:
    """Every form: one per inspection type of each framework."""
    return [form_spec(rules, key, t) for key, fw in rules.frameworks.items() for t in fw.types]
