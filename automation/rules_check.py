"""Checking the rules files as they are loaded: each file against its model (automation/rules_schema.py),
then the names one file gives another. Every fault is one line naming the file (shipped or the LA's
own), the table, the key, and the fix."""

from __future__ import annotations

import difflib
import types as _types
from datetime import date, datetime, time
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import msgspec

from automation.conditions import FOLLOW_UP_FACTS, PLAN_FACTS, check
from automation.errors import ConfigError
from automation.paths import rules_dir
from automation.rules_schema import CONDITION_PROBLEM, FILLABLE, Table

FOLLOW_UP_ROLES = ("SIM", "AI", "CEM")  # the school's own officers; any other owner is a Staff role
# TOML gives dates and times as such: text that looks like one is refused, not converted.
_NATIVE = (date, datetime, time)


def _union(groups) -> tuple[str, ...]:
    out: list[str] = []
    for g in groups:
        out.extend(x for x in g if x not in out)
    return tuple(out)


# ---- One file against its model ----

def validate_file(model: type[Table], data: dict, path: Path) -> Table:
    """The file's data as its model, or a ConfigError naming the file, table and key of the first fault."""
    try:
        return msgspec.convert(data, model, strict=True, builtin_types=_NATIVE)
    except msgspec.ValidationError as exc:
        # msgspec stops at the first fault it meets, in the file's order, and names dict keys only as
        # [...]: walk the data again, every fault in the model's order, with its full location.
        errors = _faults(model, data, ()) or [{"loc": (), "type": "value_error", "msg": str(exc), "input": data}]
        # An unknown key is usually a misspelt one: name it (with a did-you-mean) before the
        # "missing" error its correct spelling also causes.
        first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
        raise _explain(first, model, data, path) from None


def _fault(loc: tuple, kind: str, got, **more) -> list[dict]:
    return [{"loc": loc, "type": kind, "input": got, **more}]


def _faults(tp, value, loc: tuple) -> list[dict]:
    """Every fault of a value against a declared type, in the model's order (fields as declared, a
    table's unknown keys after its fields' faults), each as {"loc", "type", "input", ...}."""
    tp, meta, nullable = _declared(tp)
    if value is None and nullable:
        return []
    if _is_model(tp):
        return _table_faults(tp, value, loc)
    origin = get_origin(tp)
    if origin in (list, dict):
        if not isinstance(value, origin):
            return _fault(loc, f"{origin.__name__}_type", value)
        items = enumerate(value) if origin is list else value.items()
        inner = get_args(tp)[-1] if get_args(tp) else Any
        found = [e for k, v in items for e in _faults(inner, v, loc + (k,))]
        if not found and meta and len(value) < (meta.min_length or 0):
            return _fault(loc, "too_short", value)
        return found
    members = [a for a in get_args(tp) if a is not type(None)] if origin in (Union, _types.UnionType) else []
    try:
        msgspec.convert(value, Annotated[tp, meta] if meta else tp, strict=True, builtin_types=_NATIVE)
        return []
    except msgspec.ValidationError:
        pass
    if members and _is_condition(tp):
        return _fault(loc, "value_error", value, msg=CONDITION_PROBLEM)
    if members:  # a choice of shapes (judgements: "all" or a list): the first shape's fault, placed under its name
        first = members[0]
        tag = f"literal[{', '.join(map(repr, get_args(first)))}]" if get_origin(first) is Literal else str(first)
        return _fault(loc + (tag,), "literal_error" if get_origin(first) is Literal else "value_error", value)
    if get_origin(tp) is Literal:
        return _fault(loc, "literal_error", value)
    kind = {int: "int_type", bool: "bool_type", str: "string_type", date: "date_type"}.get(tp, "value_error")
    if meta is None or type(value) is not tp:
        return _fault(loc, kind, value, msg=f"expected {tp}")
    if meta.ge is not None and value < meta.ge:
        return _fault(loc, "greater_than_equal", value, ctx={"ge": meta.ge})
    if meta.le is not None and value > meta.le:
        return _fault(loc, "less_than_equal", value, ctx={"le": meta.le})
    if meta.min_length is not None and len(value) < meta.min_length:
        return _fault(loc, "string_too_short", value,
                      msg=f"String should have at least {meta.min_length} character{'s' if meta.min_length > 1 else ''}")
    problem = (meta.extra or {}).get("problem")
    return _fault(loc, "value_error", value, msg=problem) if problem \
        else _fault(loc, "string_pattern_mismatch", value)


def _table_faults(model: type[Table], value, loc: tuple) -> list[dict]:
    if not isinstance(value, dict):
        return _fault(loc, "model_type", value)
    found: list[dict] = []
    fields = msgspec.structs.fields(model)
    for f in fields:
        if f.encode_name in value:
            found += _faults(f.type, value[f.encode_name], loc + (f.encode_name,))
        elif f.required:
            found += _fault(loc + (f.encode_name,), "missing", value)
    known = {f.encode_name for f in fields}
    found += [e for k, v in value.items() if k not in known for e in _fault(loc + (k,), "extra_forbidden", v)]
    if not found:  # every key right: the table's own checks across its keys (__post_init__)
        try:
            msgspec.convert(value, model, strict=True, builtin_types=_NATIVE)
        except msgspec.ValidationError as exc:
            found += _fault(loc, "value_error", value, msg=str(exc).split(" - at `$")[0])
    return found


def _declared(tp) -> tuple[Any, msgspec.Meta | None, bool]:
    """A declared type as (bare type, its constraints, whether None is allowed)."""
    meta, nullable = None, False
    while True:
        if get_origin(tp) is Annotated:
            meta = next((m for m in get_args(tp)[1:] if isinstance(m, msgspec.Meta)), meta)
            tp = get_args(tp)[0]
        elif get_origin(tp) in (Union, _types.UnionType) and len(get_args(tp)) == 2 and type(None) in get_args(tp):
            nullable, tp = True, next(a for a in get_args(tp) if a is not type(None))
        else:
            return tp, meta, nullable


def _is_condition(tp) -> bool:
    return {str, list, dict} <= set(get_args(tp))


_WORDS = {"int_type": "a whole number", "bool_type": "true or false (no quotes)", "string_type": "text in quotes",
          "list_type": "a list [...]", "tuple_type": "a list [...]", "date_type": "a date such as 2025-09-01 (no quotes)",
          "dict_type": "a table", "model_type": "a table"}  # the kinds _faults gives


def _explain(err: dict, model: type[Table], data: dict, path: Path) -> ConfigError:
    loc, kind = tuple(err["loc"]), err["type"]
    place, key, node = _place(data, loc)
    shipped = f"the shipped automation/rules/{path.name}"
    if kind == "extra_forbidden":
        place, _, parent = _place(data, loc[:-1])
        key = str(loc[-1])
        return _unknown(path, place, key, parent.get(key) if isinstance(parent, dict) else None,
                        _type_at(model, loc[:-1]))
    if kind == "missing":
        tp = _type_at(model, loc)
        what = f"the table [{_dotted(loc)}]" if _is_model(tp) else f"the key '{key}'"
        if get_origin(tp) is list and _is_model(get_args(tp)[0]):
            what = f"the [[{_dotted(loc)}]] entries"
        return ConfigError(f"{_head(path, place)}: {what} is missing — add it (compare with {shipped}).")
    got = err.get("input")
    if kind == "literal_error":
        allowed = [str(a) for a in _literals(_type_at(model, loc))]
        near = difflib.get_close_matches(str(got), allowed, n=1, cutoff=0.6) if isinstance(got, str) else []
        fix = f"did you mean {near[0]!r}?" if near else "use one of them."
        return ConfigError(f"{_head(path, place, key)}: expected one of {', '.join(map(repr, allowed))}, "
                           f"got {got!r} — {fix}")
    if kind in ("greater_than_equal", "less_than_equal"):
        bound = "at least" if kind == "greater_than_equal" else "at most"
        limit = err["ctx"].get("ge", err["ctx"].get("le"))
        return ConfigError(f"{_head(path, place, key)}: expected a whole number {bound} {limit}, got {got!r} — correct it.")
    if kind == "too_short":
        return ConfigError(f"{_head(path, place, key)}: expected at least one entry, got none — add one "
                           f"(compare with {shipped}).")
    if kind == "string_pattern_mismatch":
        return ConfigError(f"{_head(path, place, key)}: {got!r} may not contain ':' (the tool uses it inside keys) — "
                           "rename it.")
    if kind == "list_type" and isinstance(got, dict):
        return ConfigError(f"{_head(path, place, key)}: expected a list, got a single table — write each entry as "
                           f"[[{_dotted(loc)}]] (double brackets).")
    if kind == "value_error":
        problem = str(err["msg"])
        return ConfigError(f"{_head(path, place, key)}: {problem} — correct it (compare with {shipped}).")
    words = _WORDS.get(kind)
    problem = f"expected {words}, got {got!r}" if words else f"{err['msg']}, got {got!r}"
    return ConfigError(f"{_head(path, place, key)}: {problem} — correct it (compare with {shipped}).")


def _head(path: Path, place: str, key: str | None = None) -> str:
    parts = [f"Rules file {path}"] + ([place] if place else []) + ([f"key '{key}'"] if key else [])
    return ", ".join(parts)


def _dotted(loc) -> str:
    return ".".join(_toml_key(p) for p in loc if isinstance(p, str))


def _toml_key(k: str) -> str:
    return k if k.replace("_", "").replace("-", "").isalnum() else f'"{k}"'


def _ident(item: dict) -> str:
    for k in ("id", "key", "label", "title", "name"):
        if isinstance(item.get(k), str) and item[k]:
            return f" ({item[k]!r})"
    return ""


def _place(data: dict, loc: tuple) -> tuple[str, str | None, Any]:
    """Where a location points, in the file's own terms: ("[[step]] 3 ('planning_call')", "working_hours", value).
    The key is None when the location is a table itself."""
    where: list[str] = []
    header: list[str] = []
    pending = False  # a [table] entered since the last [[array]] entry, not yet named
    node: Any = data
    parts = list(loc)
    while parts:
        p = parts.pop(0)
        value = node.get(p) if isinstance(node, dict) and isinstance(p, str) else None
        if isinstance(value, list) and parts and isinstance(parts[0], int) and parts[0] < len(value) \
                and isinstance(value[parts[0]], dict):
            n = parts.pop(0)
            header.append(_toml_key(p))
            where.append(f"[[{'.'.join(header)}]] {n + 1}{_ident(value[n])}")
            node, pending = value[n], False
        elif isinstance(value, dict) and (not parts or isinstance(parts[0], str)):
            header.append(_toml_key(p))
            node, pending = value, True
        else:  # a key of the table reached (what follows is inside its value)
            if pending:
                where.append(f"[{'.'.join(header)}]")
            return ", ".join(where), str(p), value
    if pending:
        where.append(f"[{'.'.join(header)}]")
    return ", ".join(where), None, node


def _unknown(path: Path, place: str, key: str, value, model) -> ConfigError:
    known = [f.encode_name for f in msgspec.structs.fields(model)] if _is_model(model) else []
    near = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
    is_table = isinstance(value, dict) or (isinstance(value, list) and value and all(isinstance(v, dict) for v in value))
    if is_table and not place:
        hint = f"did you mean [{near[0]}]?" if near else "the tables are " + ", ".join(f"[{k}]" for k in known) + "."
        return ConfigError(f"Rules file {path}: there is no table [{key}] — {hint} A misspelt table is refused, "
                           "not ignored: rename or remove it.")
    here = ", ".join(f"'{k}'" for k in known)
    hint = f"did you mean '{near[0]}'?" if near else f"the keys here are {here}."
    what = "table" if is_table else "key"
    return ConfigError(f"{_head(path, place)}: there is no {what} '{key}' — {hint} An unknown key is refused, "
                       "not ignored: rename or remove it.")


def _unwrap(tp):
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp = get_args(tp)[0]
        elif origin in (Union, _types.UnionType) and len([a for a in get_args(tp) if a is not type(None)]) == 1:
            tp = next(a for a in get_args(tp) if a is not type(None))
        else:
            return tp


def _is_model(tp) -> bool:
    return isinstance(tp, type) and issubclass(tp, msgspec.Struct)


def _type_at(model, loc):
    """The declared type at a location of a model (None where it cannot be followed)."""
    tp = model
    for p in loc:
        tp = _unwrap(tp)
        if _is_model(tp) and isinstance(p, str):
            f = next((f for f in msgspec.structs.fields(tp) if f.encode_name == p), None)
            if f is None:
                return None
            tp = f.type
        elif get_origin(tp) is list and isinstance(p, int):
            tp = get_args(tp)[0]
        elif get_origin(tp) is dict and isinstance(p, str):
            tp = get_args(tp)[1]
        else:
            return None
    return _unwrap(tp)


def _literals(tp) -> tuple:
    if get_origin(tp) is Literal:
        return get_args(tp)
    if get_origin(tp) in (Union, _types.UnionType):
        return tuple(a for t in get_args(tp) for a in _literals(_unwrap(t)))
    return ()


# ---- Across files: conditions and the names one file gives another ----

def _where(rules, stem: str, loc: tuple, key: str | None = None) -> str:
    """The file, table and key of a location in a loaded file (`key`: a key of the table at `loc`)."""
    place, found, _ = _place(rules.shapes.get(stem, {}), loc)
    path = rules.sources.get(stem, rules_dir() / f"{stem}.toml")
    if key is None:
        return _head(path, place, found)
    return _head(path, place if found is None else ", ".join(x for x in (place, f"key '{found}'") if x), key)


def _facet_values(rules) -> dict[str, tuple[str, ...]]:
    """The words a condition's facets may name (the rest, e.g. category_of_concern as typed, are free)."""
    v = rules.vocabulary
    return {"governance": v.get("governance", ()), "phase": v.get("phase", ()), "framework": tuple(rules.frameworks),
            "type": rules.choices("inspection_type"), "deferral": v.get("deferral", ()),
            "la_support_accepted": v.get("yes_no", ()), "category_of_concern": v.get("category_of_concern", ())}


def _says_something(cond, where: str) -> None:
    """Refuse an empty list as a condition, at any depth: "any of none" holds for no inspection, so
    the step, point or action would silently never happen ({} is the documented "every inspection")."""
    if isinstance(cond, list):
        if not cond:
            raise ConfigError(f"{where}: [] is a condition no inspection meets, so this would never apply — "
                              "list the conditions it is for, or write {} for every inspection.")
        for c in cond:
            _says_something(c, where)
    elif isinstance(cond, dict) and isinstance(cond.get("all"), list):
        for c in cond["all"]:
            _says_something(c, where)


def _condition(cond, where: str, facts: tuple[str, ...], named: dict, values: dict | None) -> None:
    """conditions.check, then no empty list in it (after, so every other fault keeps its own line)."""
    check(cond, where, facts, named, values)
    _says_something(cond, where)


def check_conditions(rules) -> None:
    """Every condition is well formed and names known words (errors name the file, entry and key)."""
    values = _facet_values(rules) if rules.frameworks else None
    named = dict(rules.shapes.get("conditions", {}).get("conditions", {}))
    facts = FOLLOW_UP_FACTS + PLAN_FACTS
    for name, cond in named.items():
        _condition(cond, _where(rules, "conditions", ("conditions",), name), facts, named, values)
    form = rules.shapes.get("feedback_form", {})
    if "applies" in form:
        _condition(form["applies"], _where(rules, "feedback_form", (), "applies"), PLAN_FACTS, named, values)
    plan = rules.shapes.get("contact_plan", {})
    plan_named = plan.get("conditions", named)
    for name, cond in plan.get("conditions", {}).items():
        if named.get(name) != cond:  # an LA's own [conditions] in contact_plan.toml
            _condition(cond, _where(rules, "contact_plan", ("conditions",), name), PLAN_FACTS, plan_named, values)
    for kind in ("step", "keep_in_touch", "feedback_text"):
        for i, entry in enumerate(plan.get(kind, [])):
            if "applies" in entry:
                _condition(entry["applies"], _where(rules, "contact_plan", (kind, i), "applies"), PLAN_FACTS, plan_named, values)
    for i, action in enumerate(rules.shapes.get("follow_ups", {}).get("action", [])):
        if "applies" in action:
            _condition(action["applies"], _where(rules, "follow_ups", ("action", i), "applies"), FOLLOW_UP_FACTS, named, values)
        for key in ("when", "done_when"):
            for j, item in enumerate(action.get(key, [])):
                for alt in (" ".join(a.split()) for a in str(item).split("|")):
                    if alt.removeprefix("not ") not in FOLLOW_UP_FACTS:
                        near = difflib.get_close_matches(alt.removeprefix("not "), FOLLOW_UP_FACTS, n=1, cutoff=0.6)
                        hint = f"did you mean {near[0]!r}?" if near else f"use one of: {', '.join(FOLLOW_UP_FACTS)}"
                        raise ConfigError(f"{_where(rules, 'follow_ups', ('action', i), key)}: {alt!r} is not a known "
                                          f"fact — {hint} (or 'not ' before one; 'a | b' for either).")


def _refuse(where: str, what: str, value, allowed, fix: str = "") -> None:
    near = difflib.get_close_matches(str(value), list(allowed), n=1, cutoff=0.6)
    hint = f"did you mean {near[0]!r}?" if near else f"use one of: {', '.join(map(repr, allowed))}."
    raise ConfigError(f"{where}: {what} {value!r} is not {fix or 'known'} — {hint}")


def check_across(rules) -> None:
    """The names one file gives another: framework keys, inspection types, grades, areas, vocabulary words."""
    fws = rules.frameworks
    type_keys = [f"{k}.{t}" for k, fw in fws.items() for t in fw.types]
    for stem in ("contact_plan", "feedback_form"):
        for key in rules.shapes.get(stem, {}).get("types", {}):
            if key not in type_keys:
                _refuse(_where(rules, stem, ("types", key)), "the type", key, type_keys,
                        "\"<framework>.<inspection type>\" of frameworks.toml")
    areas = _union(fw.areas for fw in fws.values())
    for i, s in enumerate(rules.shapes.get("feedback_form", {}).get("section", [])):
        for j, f in enumerate(s.get("field", [])):
            col = f.get("column", "")
            if col and col not in FILLABLE and col not in areas:
                _refuse(_where(rules, "feedback_form", ("section", i, "field", j, "column")), "the column", col,
                        sorted(FILLABLE), "an Inspections column a form can fill")
    _check_outcomes(rules)
    for i, s in enumerate(rules.shapes.get("learning_review", {}).get("section", [])):
        for key in s.get("prompt_by_framework", {}):
            if key not in fws:
                _refuse(_where(rules, "learning_review", ("section", i, "prompt_by_framework", key)), "the framework",
                        key, list(fws), "a framework of frameworks.toml")
    gias = rules.shapes.get("gias", {})
    for table, vocab in (("governance_by_type", "governance"), ("governance_by_group", "governance"),
                         ("phase", "phase"), ("phase_by_type", "phase")):
        for name, value in gias.get(table, {}).items():
            if value not in rules.vocabulary[vocab]:
                _refuse(_where(rules, "gias", (table, name)), f"the {vocab}", value, rules.vocabulary[vocab],
                        f"one of frameworks.toml [vocabulary] {vocab}")
    owners = FOLLOW_UP_ROLES + tuple(rules.vocabulary["staff_role"])
    for i, a in enumerate(rules.shapes.get("follow_ups", {}).get("action", [])):
        if a["owner"] not in owners:
            _refuse(_where(rules, "follow_ups", ("action", i, "owner")), "the owner", a["owner"], owners,
                    "SIM, AI, CEM or a Staff role of frameworks.toml [vocabulary] staff_role")


def _check_outcomes(rules) -> None:
    cats = rules.vocabulary["category_of_concern"]
    for key, fo in rules.shapes.get("outcomes", {}).get("frameworks", {}).items():
        fw = rules.frameworks.get(key)
        if fw is None:
            _refuse(_where(rules, "outcomes", ("frameworks", key)), "the framework", key, list(rules.frameworks),
                    "a framework of frameworks.toml")
        loc = ("frameworks", key)
        for c in fo.get("categories", ()):
            if c not in cats:
                _refuse(_where(rules, "outcomes", loc + ("categories",)), "the category", c, cats,
                        "one of frameworks.toml [vocabulary] category_of_concern")
        sm, mon = fo.get("special_measures", {}), fo.get("monitoring", {})
        checks = [("special_measures", "grade", [sm["grade"]] if "grade" in sm else [], fw.scale, "scale"),
                  ("special_measures", "any_of", sm.get("any_of", ()), fw.areas, "areas"),
                  ("special_measures", "all_of", sm.get("all_of", ()), fw.areas, "areas"),
                  ("monitoring", "types", mon.get("types", ()), fw.types, "types"),
                  ("monitoring", "eligible_grades", mon.get("eligible_grades", ()), fw.scale, "scale"),
                  ("monitoring", "good_grades", mon.get("good_grades", ()), fw.scale, "scale"),
                  ("monitoring", "not_if_good", mon.get("not_if_good", ()), fw.areas, "areas")]
        for table, k, values, allowed, what in checks:
            for v in values:
                if v not in allowed:
                    _refuse(_where(rules, "outcomes", loc + (table, k)), "the value", v, allowed,
                            f"in the {key} framework's {what} (frameworks.toml)")
