"""Rules held as data (rules/*.toml): frameworks, vocabularies, support offers, and the LA's plans.
Every file is checked against its model (automation/rules_schema.py) as it is loaded, then across
files; a bad edit stops the load with one line naming the file, the table and the key."""

from __future__ import annotations

import copy
import dataclasses
import difflib
import tomllib
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from pathlib import Path

from msgspec.structs import replace

from automation.errors import ConfigError
from automation.paths import rules_dir
from automation.rules_check import check_across, check_conditions, validate_file  # noqa: F401 - re-exported
from automation.rules_schema import (
    MODELS, ConditionsFile, ContactPlanFile, DateSenseFile, FeedbackFormFile, FollowUpsFile, FrameworkSpec, GiasFile,
    LearningReviewFile, OutcomesFile, OversightFile, SupportOffer, Table)


@dataclass(frozen=True)
class Framework:
    key: str
    label: str
    in_force_from: date
    in_force_until: date | None
    types: tuple[str, ...]
    areas: tuple[str, ...]
    scale: tuple[str, ...]
    scale_aliases: dict[str, str]
    safeguarding: tuple[str, ...]
    safeguarding_failed: tuple[str, ...]
    adverse: tuple[str, ...]
    category_trigger: tuple[str, ...]
    provision_areas: tuple[str, ...] = ()

    def grade(self, value: str) -> str | None:
        """The canonical grade for a typed value, or None if not on this scale."""
        v = value.strip()
        for g in self.scale:
            if g.lower() == v.lower():
                return g
        return self.scale_aliases.get(v.lower())


@dataclass(frozen=True)
class Rules:
    frameworks: dict[str, Framework]
    vocabulary: dict[str, tuple[str, ...]]
    cem_for_phase: dict[str, str]
    support_offers: tuple[dict, ...] = field(default=())
    files: dict[str, Table] = field(default_factory=dict)  # each file's validated model, by stem
    sources: dict[str, Path] = field(default_factory=dict)  # the file each stem was read from
    written: dict[str, dict] = field(default_factory=dict)  # each file's data as it was checked, by stem

    @cached_property
    def shapes(self) -> dict[str, dict]:
        """Each file's validated data as the file wrote it (no defaults added), by stem: what
        rules_check walks to name the table and entry of a fault. Code reads the typed attributes."""
        return {stem: d for stem, d in self.written.items() if stem not in ("frameworks", "support_offers")}

    def with_file(self, stem: str, data: dict) -> "Rules":
        """These rules with one file's data replaced, checked as at load (an LA's edit tried in memory)."""
        where = self.sources.get(stem, rules_dir() / f"{stem}.toml")
        data = copy.deepcopy(data)  # the caller's dict may change after; the rules keep what was checked
        model = validate_file(MODELS[stem], data, where)
        if stem == "contact_plan":
            model, data = _with_conditions(model, data, self.conditions)
        rules = dataclasses.replace(self, files={**self.files, stem: model}, written={**self.written, stem: data})
        check_conditions(rules)
        check_across(rules)
        _check_texts(rules)
        return rules

    @property
    def conditions(self) -> ConditionsFile:
        """conditions.toml: the named conditions."""
        return self.files["conditions"]

    @property
    def contact_plan(self) -> ContactPlanFile:
        """contact_plan.toml (with the named conditions of conditions.toml)."""
        return self.files["contact_plan"]

    @property
    def date_sense(self) -> DateSenseFile:
        """date_sense.toml."""
        return self.files["date_sense"]

    @property
    def feedback_form(self) -> FeedbackFormFile:
        """feedback_form.toml."""
        return self.files["feedback_form"]

    @property
    def follow_ups(self) -> FollowUpsFile:
        """follow_ups.toml."""
        return self.files["follow_ups"]

    @property
    def gias(self) -> GiasFile:
        """gias.toml."""
        return self.files["gias"]

    @property
    def learning_review(self) -> LearningReviewFile:
        """learning_review.toml."""
        return self.files["learning_review"]

    @property
    def outcomes(self) -> OutcomesFile:
        """outcomes.toml."""
        return self.files["outcomes"]

    @property
    def oversight(self) -> OversightFile:
        """oversight.toml."""
        return self.files["oversight"]

    @property
    def offers(self) -> tuple[SupportOffer, ...]:
        """support_offers.toml's offers, typed."""
        return tuple(self.files["support_offers"].offer)

    def framework_on(self, day: date) -> Framework:
        """The framework in force on a date (the notification date decides)."""
        for fw in sorted(self.frameworks.values(), key=lambda f: f.in_force_from, reverse=True):
            if fw.in_force_from <= day and (fw.in_force_until is None or day <= fw.in_force_until):
                return fw
        return min(self.frameworks.values(), key=lambda f: f.in_force_from)

    def choices(self, key: str) -> tuple[str, ...]:
        """A fixed vocabulary (dropdown list) by its key."""
        if key == "inspection_type":
            return _union(fw.types for fw in self.frameworks.values())
        if key == "safeguarding":
            return _union(fw.safeguarding for fw in self.frameworks.values())
        return self.vocabulary[key]

    def match(self, key: str, value: str) -> str | None:
        """The canonical spelling of a vocabulary value (case and spaces forgiven)."""
        v = " ".join(str(value).split()).lower()
        for c in self.choices(key):
            if c.lower() == v:
                return c
        return None


_check_conditions = check_conditions  # the older name, kept for callers


def _union(groups) -> tuple[str, ...]:
    out: list[str] = []
    for g in groups:
        out.extend(x for x in g if x not in out)
    return tuple(out)


def _read(path: Path) -> dict:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"Rules file {path} is missing — restore it from the product's automation/rules folder.")
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"Rules file {path} is not valid TOML: {exc} — correct the file.")


def load_rules(folder: Path | None = None) -> Rules:
    """Load and check every rules file; an LA's own folder overrides the shipped one file by file."""
    shipped = rules_dir()
    _check_folder(folder)
    files: dict[str, Table] = {}
    sources: dict[str, Path] = {}
    written: dict[str, dict] = {}
    for stem, model in MODELS.items():
        own = folder / f"{stem}.toml" if folder else None
        path = own if own and own.exists() else shipped / f"{stem}.toml"
        written[stem], sources[stem] = _read(path), path
        files[stem] = validate_file(model, written[stem], path)
    files["contact_plan"], written["contact_plan"] = _with_conditions(files["contact_plan"], written["contact_plan"],
                                                                      files["conditions"])
    fw = files["frameworks"]
    frameworks = {key: _framework(key, f) for key, f in fw.frameworks.items()}
    vocabulary = {k: tuple(v) for k, v in fw.vocabulary.as_dict().items()}
    offers = tuple(o.as_dict() for o in files["support_offers"].offer)
    rules = Rules(frameworks, vocabulary, dict(fw.cem_for_phase), offers, files, sources, written)
    check_conditions(rules)
    check_across(rules)
    _check_texts(rules)
    return rules


def _check_texts(rules: Rules) -> None:
    """The contact plan's {fields}, checked at load: a plan is built only for an inspection not yet over,
    so a bad field would otherwise wait for the next new inspection to stop a run."""
    check_texts(rules.contact_plan, rules.sources.get("contact_plan", "contact_plan.toml"))


# The {fields} a contact plan's texts may use (besides contact_plan.toml's [ofsted] keys).
TEXT_FIELDS = ("sim", "ai", "cem", "trust", "diocese", "chair", "nominee", "lead_inspector")
DEFERRAL_FIELDS = ("deadline", "deadline_time", "answer_by")  # the [deferral] texts also have these


def check_texts(rules: ContactPlanFile, path: Path | str = "contact_plan.toml") -> None:
    """Every {field} in the plan's texts is one a plan fills in (ConfigError naming the file and text if
    not): checked when the rules are loaded, since a plan is built only for an inspection not yet over."""
    # A real one-letter text for each field: a text fails here as it would with a real name ({sim:d},
    # {sim[x]}), and only an index past the first letter ({sim[3]}) is refused that a long name might fill.
    values = dict.fromkeys((*TEXT_FIELDS, *rules.ofsted.as_dict()), "A")
    for s in rules.step:
        for text in (s.what, s.fallback_note, s.school_text, s.owner):
            fill(text, values, f"{path}, step '{s.id}'")
    fields = {**values, **dict.fromkeys(DEFERRAL_FIELDS, "A")}
    fill(rules.deferral.owner, fields, f"{path}, [deferral] owner")
    for text in (rules.deferral.before_cutoff, rules.deferral.after_cutoff):
        fill(text, fields, f"{path}, [deferral]")


def _with_conditions(plan: ContactPlanFile, data: dict, named: ConditionsFile) -> tuple[ContactPlanFile, dict]:
    """The contact plan is computed from its own file's data: hand it conditions.toml's named
    conditions, unless the file names its own (both the model and the data it is located in)."""
    if "conditions" in data:
        return plan, data
    conditions = dict(named.conditions)
    return replace(plan, conditions=conditions), {**data, "conditions": conditions}


def _framework(key: str, f: FrameworkSpec) -> Framework:
    return Framework(key=key, label=f.label, in_force_from=f.in_force_from, in_force_until=f.in_force_until,
                     types=tuple(f.types), areas=tuple(f.areas), scale=tuple(f.scale),
                     scale_aliases={k.lower(): v for k, v in f.scale_aliases.items()},
                     safeguarding=tuple(f.safeguarding), safeguarding_failed=tuple(f.safeguarding_failed),
                     adverse=tuple(f.adverse), category_trigger=tuple(f.category_trigger),
                     provision_areas=tuple(f.provision_areas))


def _check_folder(folder: Path | None) -> None:
    """The LA's folder exists and holds only rules files: a misnamed copy would otherwise be ignored."""
    if folder is None:
        return
    if not folder.is_dir():
        raise ConfigError(f"Rules folder {folder} ([paths] rules_dir) does not exist — create it with the LA's copies "
                          "of the rules files, or set rules_dir = \"\" to use the shipped rules.")
    for path in sorted(folder.glob("*.toml")):
        if path.stem not in MODELS:
            near = difflib.get_close_matches(path.stem, list(MODELS), n=1, cutoff=0.6)
            hint = f"did you mean {near[0]}.toml?" if near else f"the rules files are {', '.join(f'{m}.toml' for m in MODELS)}."
            raise ConfigError(f"Rules folder {folder} has {path.name}, which is not a rules file — {hint} Rename it, "
                              "or move it out of the folder.")


def fill(text: str, values: dict, where: str) -> str:
    """A rules text with its {fields} filled in; a fault names the rules file, the entry and the fields."""
    names = "{" + "}, {".join(values) + "}"
    try:
        return text.format_map(values)
    except KeyError as exc:
        raise ConfigError(f"Rules file {where}: the text {text!r} uses {exc}, which is not one of {names}.")
    except (ValueError, IndexError, AttributeError, TypeError) as exc:  # a brace left open, {0}, {sim.x}, ...
        raise ConfigError(f"Rules file {where}: the text {text!r} cannot be filled in ({exc}) — write each field "
                          f"as {{name}}, one of {names}, and double a brace meant as text ({{{{ or }}}}).")
