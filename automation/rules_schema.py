"""The rules files' schema: one msgspec Struct per automation/rules/*.toml file, checked when
the rules are loaded. Unknown keys are refused and values are taken exactly as written, so an
LA's edit that the product would misread stops the load with one line naming file, table and key.
Checks that span files (a condition naming a vocabulary word, a type key naming a framework)
are in automation/rules.py, after every file has passed its own model."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType


class Table(Struct, forbid_unknown_fields=True, frozen=True):
    """A TOML table: unknown keys refused, no "2" for 2 (rules_check converts strictly), read-only once loaded.
    A table listing a required key after one with a default says kw_only=True (a file's keys are named, never
    positional; msgspec does not carry that option over to subclasses)."""

    def as_dict(self) -> dict:
        """The table's keys (by field name) and values, defaults included."""
        return msgspec.structs.asdict(self)


# `extra["problem"]`: how rules_check words a text that does not match the pattern.
_HHMM = r"([01]\d|2[0-3]):[0-5]\d"
_CLOCK_PROBLEM = "expected a time of day as text \"HH:MM\" (24-hour, e.g. \"16:30\")"
Clock = Annotated[str, Meta(pattern=rf"^{_HHMM}\Z", extra={"problem": _CLOCK_PROBLEM})]
ClockOrEnd = Annotated[str, Meta(pattern=rf"^(end|{_HHMM})\Z", extra={"problem": _CLOCK_PROBLEM})]
# A condition's outer shape only: the language itself (facets, facts, names) is checked by
# automation/conditions.py once the named conditions are known.
Condition = str | list | dict
OptCondition = str | list | dict | None
CONDITION_PROBLEM = "expected a condition: a name in quotes, a table {governance = [...]}, or a list of them"
# Whole numbers, each with an upper bound no LA's rules come near: the tool turns them into dates,
# timedeltas and loops, where a huge one would crash a run (year 10000, a C int overflowing).
Hours = Annotated[int, Meta(ge=0, le=1000)]  # working hours (about four months of them)
DAYS_MOST = 3650
Days = Annotated[int, Meta(ge=0, le=DAYS_MOST)]  # working, school or calendar days (ten years and more)
PositiveDays = Annotated[int, Meta(ge=1, le=DAYS_MOST)]
OnSiteDays = Annotated[int, Meta(ge=1, le=30)]  # an inspection is a few days on site; each day gets its calls
Months = Annotated[int, Meta(ge=0, le=1200)]
PositiveMonths = Annotated[int, Meta(ge=1, le=1200)]
Minutes = Annotated[int, Meta(ge=0, le=1440)]  # up to a day
PositiveMinutes = Annotated[int, Meta(ge=1, le=1440)]
Few = Annotated[int, Meta(ge=0, le=100)]  # a count of areas, rows, repeats or inspections
PositiveFew = Annotated[int, Meta(ge=1, le=100)]
Month = Annotated[int, Meta(ge=1, le=12)]
Key = Annotated[str, Meta(min_length=1, pattern=r"^[^:]+$")]  # ':' joins ids inside keys
Named = Annotated[str, Meta(min_length=1)]
Words = list[str]
Weekday = Literal["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]

# What the code knows how to do: closed sets, named in the error when a value is not one of them.
PLAN_ANCHORS = ("notified", "notified_day_end", "first_day", "last_day", "final_feedback", "planning_call")
PlanAnchor = Literal["notified", "notified_day_end", "first_day", "last_day", "final_feedback", "planning_call"]
FollowUpAnchor = Literal["first_day", "last_day", "final_feedback", "draft_report_received", "report_published",
                         "feedback_form_completed"]
FormKind = Literal["text", "long", "choice", "yesno", "date", "datetime"]
Prefill = Literal["school_account", "outcome", "conduct", "escalation", "complaint", "publication", "confidentiality",
                  "wellbeing", "contact_plan", "shared_learning"]
# The Inspections columns a form may fill (besides the framework's areas): the ones the run knows how to
# fold into the inspection it is working on (forms/readback.py apply_to_inspection).
FILLABLE = frozenset(("Final feedback at", "Feedback form completed", "Safeguarding", "Category of concern",
                      "Conduct concerns", "Concerns raised", "Complaint made", "Nominee", "Lead inspector"))


# ---- conditions.toml ----

class ConditionsFile(Table):
    conditions: dict[str, Condition] = {}


# ---- frameworks.toml ----

class FrameworkSpec(Table, kw_only=True):
    label: str
    in_force_from: date
    in_force_until: date | None = None
    types: Annotated[Words, Meta(min_length=1)]  # without one, no inspection could be recorded under it
    areas: Words
    provision_areas: Words = []
    scale: Words
    scale_aliases: dict[str, str] = {}
    safeguarding: Words
    safeguarding_failed: Words
    adverse: Words
    category_trigger: Words

    def __post_init__(self):
        for key, values, of, of_key in (("provision_areas", self.provision_areas, self.areas, "areas"),
                                        ("safeguarding_failed", self.safeguarding_failed, self.safeguarding, "safeguarding"),
                                        ("adverse", self.adverse, self.scale, "scale"),
                                        ("category_trigger", self.category_trigger, self.scale, "scale"),
                                        ("scale_aliases", list(self.scale_aliases.values()), self.scale, "scale")):
            odd = [v for v in values if v not in of]
            if odd:
                raise ValueError(f"{key} has {', '.join(map(repr, odd))}, which is not in its {of_key} "
                                 f"({', '.join(of)})")
        if self.in_force_until is not None and self.in_force_until < self.in_force_from:
            raise ValueError("in_force_until is before in_force_from")


class Vocabulary(Table):
    governance: Words
    phase: Words
    staff_role: Words
    cem_phase: Words
    deferral: Words
    yes_no: Words
    category_of_concern: Words
    learning_review: Words

    def __post_init__(self):
        # The code itself compares these words (a maintained school, Yes/No, the review's states).
        for key, need in (("governance", ("Maintained",)), ("yes_no", ("Yes", "No")),
                          ("learning_review", ("Requested", "In progress", "Complete")), ("deferral", ("Granted",))):
            lacking = [w for w in need if w not in getattr(self, key)]
            if lacking:
                raise ValueError(f"{key} must keep {', '.join(map(repr, lacking))} (the tool relies on it)")


class FrameworksFile(Table):
    frameworks: Annotated[dict[str, FrameworkSpec], Meta(min_length=1)]
    vocabulary: Vocabulary
    cem_for_phase: dict[str, str] = {}

    def __post_init__(self):
        for phase, cem in self.cem_for_phase.items():
            if phase not in self.vocabulary.phase:
                raise ValueError(f"cem_for_phase names the phase {phase!r}, not one of [vocabulary] phase")
            if cem not in self.vocabulary.cem_phase:
                raise ValueError(f"cem_for_phase maps {phase!r} to {cem!r}, not one of [vocabulary] cem_phase")


# ---- contact_plan.toml ----

class PlanTimings(Table):
    acknowledge_within_working_hours: Hours
    deferral_deadline: Clock
    deferral_answer_by: Clock
    feedback_form_within_working_days: Days
    max_notice_days: PositiveDays


class OfstedRoutes(Table):
    helpline: str
    helpline_when: str
    pausing_route: str
    next_working_day: str


class DeferralTexts(Table):
    owner: str
    before_cutoff: str
    after_cutoff: str


class PlanStep(Table):
    id: str
    what: str
    owner: str = "{sim}"
    applies: OptCondition = None
    school_text: str = ""
    school_sees: bool = True
    kind: Literal["task", "call", "deadline", "meeting"] = "task"
    at: PlanAnchor = "notified"
    fallback: PlanAnchor = "notified_day_end"
    fallback_time: Clock | None = None
    fallback_note: str = ""
    school_fallback_note: str = ""
    working_hours: Hours = 0
    working_days: Days = 0
    school_days: Days = 0
    time: ClockOrEnd | None = None


class FeedbackText(Table):
    text: str
    applies: OptCondition = None


class KeepInTouch(Table):
    label: str
    time: Clock
    minutes: PositiveMinutes = 30
    owner: str = "AI"
    days: Literal["each", "first", "last"] = "each"
    calendar: bool = True
    enabled: bool = True
    # Absent (UNSET, not None): "la_involved" when that condition is defined.
    applies: OptCondition | UnsetType = UNSET


class TypeTiming(Table):
    on_site_days: OnSiteDays
    warn_same_day_start: bool = False
    notify_on: Weekday | None = None
    notify_on_in_bank_holiday_week: Weekday | None = None
    max_notice_school_days: Days | None = None


class Escalation(Table):
    steps: Annotated[Words, Meta(min_length=1)]


class ContactPlanFile(Table, kw_only=True):
    timings: PlanTimings
    ofsted: OfstedRoutes
    deferral: DeferralTexts
    step: list[PlanStep] = []
    feedback_text: list[FeedbackText] = []
    keep_in_touch: list[KeepInTouch] = []
    types: dict[str, TypeTiming] = {}  # "<framework>.<type>"
    escalation: Escalation
    conditions: dict[str, Condition] = {}  # filled from conditions.toml at load (the plan is computed from this file alone)

    def type_timing(self, framework: str, inspection_type: str) -> TypeTiming | None:
        """The timing rules of one framework's inspection type, or None."""
        return self.types.get(f"{framework}.{inspection_type}")

    def on_site_days(self, framework: str, inspection_type: str) -> int:
        """Days on site for the type (2 where the file does not say)."""
        t = self.type_timing(framework, inspection_type)
        return t.on_site_days if t else 2


# ---- date_sense.toml ----

class DateSenseFile(Table):
    future_grace_minutes: Minutes
    neighbour_rows: PositiveFew
    far_days: PositiveDays
    near_days: Days


# ---- feedback_form.toml ----

class FormField(Table):
    key: Key
    label: Named
    kind: FormKind = "text"
    hint: str = ""
    column: str = ""
    choices: Words = []

    def __post_init__(self):
        if self.kind == "choice" and not self.choices:
            raise ValueError('kind = "choice" needs choices = ["...", ...]')


class FormSection(Table):
    builtin: Literal["inspection", "judgements"] | None = None
    title: str | None = None
    field: list[FormField] = []

    def __post_init__(self):
        if self.builtin is None and not (self.title or "").strip():
            raise ValueError('a section needs a title = "..." (or builtin = "inspection" / "judgements")')


class FormType(Table):
    judgements: Literal["all"] | Words = "all"
    judgement_hint: str = ""
    outcome_label: str = "Outcome"
    outcomes: Words = []


class FeedbackFormFile(Table, kw_only=True):
    write_within_working_days: Days
    applies: OptCondition = None
    section: Annotated[list[FormSection], Meta(min_length=1)]
    types: dict[str, FormType] = {}  # "<framework>.<type>"
    contact_labels: dict[str, str] = {}

    def __post_init__(self):
        keys = [f.key for s in self.section for f in s.field]
        missing = [k for k in ("completed_on", "form_complete") if k not in keys]
        twice = sorted({k for k in keys if keys.count(k) > 1})
        if missing:
            raise ValueError(f"the form lacks the field(s) {', '.join(missing)} (the tool reads the form by them)")
        if twice:
            raise ValueError(f"the form has the key(s) {', '.join(twice)} more than once")


# ---- follow_ups.toml ----

class FollowUpScope(Table):
    months_after_last_day: PositiveMonths
    past_if_overdue_by_working_days_when_first_listed: Days | None = None  # absent: every action listed as Open


class FollowUpAction(Table):
    id: Key
    action: str
    owner: str
    when: Annotated[Words, Meta(min_length=1)]
    done_when: Words = []
    applies: OptCondition = None
    anchor: FollowUpAnchor = "last_day"
    working_days: Days = 0
    months: Months = 0
    repeat: PositiveFew = 1
    every_working_days: PositiveDays = 5
    school_days: bool = False
    reason: str = ""

    def __post_init__(self):
        # Each key has its bound, but a series reaches working_days + (repeat - 1) * every_working_days.
        last = self.working_days + (self.repeat - 1) * self.every_working_days
        if last > DAYS_MOST:
            raise ValueError(f"the series' last action is due {last} working days after its anchor "
                             f"(working_days + (repeat - 1) × every_working_days), more than {DAYS_MOST}")


class FollowUpsFile(Table):
    scope: FollowUpScope
    action: list[FollowUpAction] = []

    def __post_init__(self):
        ids = [a.id for a in self.action]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise ValueError(f"the action id(s) {', '.join(twice)} appear more than once (an id is part of each follow-up's Key)")


# ---- gias.toml ----

class GiasImport(Table):
    include_groups: Words
    open_statuses: Words


class GiasColumns(Table):
    trust: str
    diocese: str
    none_values: Words


class GiasHeadteacher(Table):
    titles: Words


class GiasFile(Table):
    governance_by_type: dict[str, str]
    governance_by_group: dict[str, str]
    phase: dict[str, str]
    phase_by_type: dict[str, str]
    import_: GiasImport = msgspec.field(name="import")
    columns: GiasColumns
    headteacher: GiasHeadteacher


# ---- learning_review.toml ----

class ReviewTimings(Table):
    factual_accuracy_working_days: PositiveDays
    report_expected_within_working_days: PositiveDays


class ReviewSection(Table):
    title: Named
    prompt: str
    prefill: Prefill | None = None
    prompt_by_framework: dict[str, str] = {}


class LearningReviewFile(Table):
    complaint_stages: Words
    timings: ReviewTimings
    section: Annotated[list[ReviewSection], Meta(min_length=1)]


# ---- outcomes.toml ----

class SpecialMeasures(Table):
    grade: str
    any_of: Words = []
    all_of: Words = []
    other_areas_at_least: Few = 0


class Monitoring(Table, kw_only=True):
    types: Words = []
    eligible_grades: Words
    good_grades: Words = []
    not_if_good: Words = []
    not_if_key_judgements_good: bool = False
    not_if_previous_graded_good_since: date | None = None
    check_by_hand: str = ""


class FrameworkOutcomes(Table):
    categories: Words
    special_measures: SpecialMeasures | None = None
    monitoring: Monitoring | None = None


class MonitoringWindows(Table):
    in_category_from_months: PositiveMonths
    in_category_to_months: PositiveMonths
    not_in_category_within_months: PositiveMonths
    category_max_monitoring_inspections: PositiveFew
    category_exit_expected_months: str
    next_full_inspection_within_months: PositiveMonths
    academisation_delay_months: PositiveMonths


class OutcomesFile(Table):
    frameworks: dict[str, FrameworkOutcomes]
    monitoring: MonitoringWindows


# ---- oversight.toml ----

class SchoolYear(Table):
    starts_month: Month


class OutcomeLabels(Table):
    category: str
    adverse: str
    fine: str
    none: str


class OversightFile(Table):
    terms: Annotated[dict[str, list[Month]], Meta(min_length=1)]
    school_year: SchoolYear
    outcome_labels: OutcomeLabels
    themes: dict[str, Words] = {}

    def __post_init__(self):
        months = [m for ms in self.terms.values() for m in ms]
        twice = sorted({m for m in months if months.count(m) > 1})
        if twice:
            raise ValueError(f"[terms] lists the month(s) {', '.join(map(str, twice))} in more than one term")


# ---- support_offers.toml ----

class SupportOffer(Table):
    name: Named
    provider: str
    detail: str
    contact: str


class SupportOffersFile(Table):
    offer: list[SupportOffer] = []


# Every rules file the product ships, by stem.
MODELS: dict[str, type[Table]] = {
    "conditions": ConditionsFile, "contact_plan": ContactPlanFile, "date_sense": DateSenseFile,
    "feedback_form": FeedbackFormFile, "follow_ups": FollowUpsFile, "frameworks": FrameworksFile, "gias": GiasFile,
    "learning_review": LearningReviewFile, "outcomes": OutcomesFile, "oversight": OversightFile,
    "support_offers": SupportOffersFile,
}
