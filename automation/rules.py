"""Rules held as data (rules/*.toml): frameworks, vocabularies, support offers."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from automation.conditions import FOLLOW_UP_FACTS, PLAN_FACTS, check, named_conditions
from automation.errors import ConfigError
from automation.paths import rules_dir


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
    extra: dict = field(default_factory=dict)  # other rule files, by stem (e.g. contact_plan)

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
    """Load every rules file; an LA's own folder overrides the shipped one file by file."""
    shipped = rules_dir()
    data: dict[str, dict] = {}
    for path in sorted(shipped.glob("*.toml")):
        own = folder / path.name if folder else None
        data[path.stem] = _read(own if own and own.exists() else path)
    fw = data["frameworks"]
    try:
        frameworks = {
            key: Framework(
                key=key, label=f["label"], in_force_from=f["in_force_from"],
                in_force_until=f.get("in_force_until"), types=tuple(f["types"]),
                areas=tuple(f["areas"]), scale=tuple(f["scale"]),
                scale_aliases={k.lower(): v for k, v in f.get("scale_aliases", {}).items()},
                safeguarding=tuple(f["safeguarding"]),
                safeguarding_failed=tuple(f["safeguarding_failed"]),
                adverse=tuple(f["adverse"]), category_trigger=tuple(f["category_trigger"]),
                provision_areas=tuple(f.get("provision_areas", ())),
            )
            for key, f in fw["frameworks"].items()
        }
        vocabulary = {k: tuple(v) for k, v in fw["vocabulary"].items()}
    except KeyError as exc:
        raise ConfigError(f"Rules file frameworks.toml lacks the key {exc} — compare it with the shipped copy.")
    offers = tuple(data.get("support_offers", {}).get("offer", ()))
    extra = {k: v for k, v in data.items() if k not in ("frameworks", "support_offers")}
    rules = Rules(frameworks, vocabulary, dict(fw.get("cem_for_phase", {})), offers, extra)
    _check_conditions(rules)
    # The contact plan is computed from its own file's data: hand it the named conditions too.
    if "contact_plan" in extra:
        extra["contact_plan"].setdefault("conditions", dict(extra.get("conditions", {}).get("conditions", {})))
    return rules


def _check_conditions(rules: Rules) -> None:
    """Every named condition is well formed (errors name the file and the condition)."""
    named = named_conditions(rules)
    facts = FOLLOW_UP_FACTS + PLAN_FACTS
    for name, cond in named.items():
        check(cond, f"Rules file conditions.toml, condition '{name}'", facts, named)
    check(rules.extra.get("feedback_form", {}).get("applies"), "Rules file feedback_form.toml, applies", PLAN_FACTS, named)
    plan = rules.extra.get("contact_plan", {})
    for kind in ("step", "keep_in_touch", "feedback_text"):
        for i, entry in enumerate(plan.get(kind, []), start=1):
            check(entry.get("applies"), f"Rules file contact_plan.toml, {kind} '{entry.get('id') or entry.get('label') or i}'",
                  PLAN_FACTS, named)


def fill(text: str, values: dict, where: str) -> str:
    """A rules text with its {fields} filled in; an unknown field names the rules file and entry."""
    try:
        return text.format_map(values)
    except (KeyError, ValueError, IndexError) as exc:
        raise ConfigError(f"Rules file {where}: the text {text!r} uses {exc}, which is not one of "
                          f"{{{'}, {'.join(values)}}}.")
