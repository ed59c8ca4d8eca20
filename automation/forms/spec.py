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


def form_spec(rules: Rules, framework: str, inspection_type: str) -> FormSpec:
    """The form for one inspection type of one framework."""
    fw = rules.frameworks.get(framework)
    if fw is None or inspection_type not in fw.types:
        raise ConfigError(f"There is no {inspection_type!r} inspection in the framework {framework!r} "
                          "(rules/frameworks.toml) — check the inspection type.")
    data = rules.extra.get("feedback_form", {}).get("types", {}).get(f"{framework}.{inspection_type}", {})
    areas = fw.areas if data.get("judgements", "all") == "all" else tuple(data.get("judgements", ()))
    hint = data.get("judgement_hint", "")
    judgements = [Field("outcome", data.get("outcome_label", "Outcome"), "choice", tuple(data["outcomes"]))] \
        if data.get("outcomes") else []
    judgements += [Field(f"grade:{a}", a, "choice", fw.scale, hint if i == 0 else "", a) for i, a in enumerate(areas)]
    judgements += [
        Field("safeguarding", "Safeguarding", "choice", fw.safeguarding, column="Safeguarding"),
        Field("category_of_concern", "Category of concern", "choice",
              (NO_CATEGORY, *rules.choices("category_of_concern")), "None, or the category Ofsted gave.",
              "Category of concern"),
    ]
    title = "Key judgements" if framework == "eif2024" else "Evaluation areas"
    return FormSpec(framework, fw.label, inspection_type, (
        Section("The inspection", INFO),
        Section("Final feedback", (
            Field("final_feedback_at", "Final feedback at", "datetime", hint="dd/mm/yyyy hh:mm", column="Final feedback at"),
            Field("attended_by", "Attended for the LA by", hint="Name and role."),
            Field("others_present", "Also present", hint="e.g. chair of governors, trust CEO."),
        )),
        Section(title, tuple(judgements)),
        Section("What was said", (
            Field("why_judgements", "Why the judgements were made", "long",
                  hint="Make sure the reasons are clear: the inspectors' main points for each judgement."),
            Field("key_feedback", "Key feedback", "long", hint="Strengths and areas for improvement as fed back."),
        )),
        Section("Conduct and wellbeing", (
            Field("conduct_concerns", "Concerns about the inspection's conduct", "choice", YES_NO, column="Conduct concerns"),
            Field("conduct_notes", "Conduct concerns: what happened", "long",
                  hint="The SIM supports any complaint; it is also raised at the LA-HMI meeting."),
            Field("welfare_signposted", "Welfare support signposted", "choice", YES_NO,
                  hint="Yes if wellbeing support was offered to the headteacher or staff."),
            Field("welfare_notes", "Which support, for whom", "long"),
        )),
        Section("For senior officers and Governor Services", (
            Field("further_support", "Further support the school may need", "long",
                  hint="For leaders and governors: senior officers and Governor Services decide."),
        )),
        Section("Sign-off", (
            Field("completed_by", "Completed by"),
            Field("completed_on", "Completed on", "date", hint="dd/mm/yyyy", column="Feedback form completed"),
            Field("form_complete", "Form complete", "choice", YES_NO,
                  hint="Choose Yes when finished: the tool records the outcomes in the tracker and emails "
                       "the form to senior officers and Governor Services."),
        )),
    ))


def all_specs(rules: Rules) -> list[FormSpec]:
    """Every form: one per inspection type of each framework."""
    return [form_spec(rules, key, t) for key, fw in rules.frameworks.items() for t in fw.types]
