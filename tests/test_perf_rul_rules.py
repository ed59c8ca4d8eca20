"""The rules files are checked by msgspec Structs, not pydantic: loading them imports no pydantic,
and what the port had to re-create (faults in the model's order with their full place, strict
values, "written or not" for a key with a default, the data kept as checked) holds."""

from __future__ import annotations

import copy
import subprocess
import sys
import tomllib
from pathlib import Path

import msgspec
import pytest

from automation.errors import ConfigError
from automation.paths import rules_dir
from automation.rules import load_rules, validate_file
from automation.rules_schema import UNSET, ContactPlanFile, GiasFile, KeepInTouch, TypeTiming


def _data(stem: str) -> dict:
    return tomllib.loads((rules_dir() / f"{stem}.toml").read_text(encoding="utf-8"))


def _fault(model, data, stem: str) -> str:
    with pytest.raises(ConfigError) as caught:
        validate_file(model, data, Path(f"/la/{stem}.toml"))
    return str(caught.value)


def test_loading_the_rules_imports_no_pydantic():
    code = ("import sys, automation.rules as r; rules = r.load_rules(); assert rules.contact_plan.step; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'pydantic'))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_the_first_fault_in_the_models_order_is_named_not_the_first_the_file_lists():
    data = _data("contact_plan")
    # [escalation] written first, broken; [timings] (declared first) lacks a key: the model's order decides.
    data = {"escalation": {"steps": 3}, **{k: v for k, v in data.items() if k != "escalation"}}
    del data["timings"]["max_notice_days"]
    message = _fault(ContactPlanFile, data, "contact_plan")
    assert message.startswith("Rules file /la/contact_plan.toml, [timings]: the key 'max_notice_days' is missing — ")


def test_an_unknown_key_is_named_before_any_other_fault_wherever_it_is():
    data = _data("contact_plan")
    del data["timings"]["max_notice_days"]
    data["step"][2]["wat"] = data["step"][2].pop("what")
    message = _fault(ContactPlanFile, data, "contact_plan")
    assert "[[step]] 3 ('agree_approach'): there is no key 'wat' — did you mean 'what'?" in message


def test_a_fault_inside_a_table_of_names_gives_the_name():
    # msgspec itself writes such a place as `$.governance_by_type[...]`: the line names the key.
    data = _data("gias")
    data["governance_by_type"]["Studio schools"] = 3
    message = _fault(GiasFile, data, "gias")
    assert message.startswith("Rules file /la/gias.toml, [governance_by_type], key 'Studio schools': expected text "
                              "in quotes, got 3 — correct it")


@pytest.mark.parametrize(("value", "words"), [
    ("2", "expected a whole number, got '2'"), (True, "expected a whole number, got True"),
    (2.0, "expected a whole number, got 2.0"), (0, "expected a whole number at least 1, got 0")])
def test_a_number_is_taken_only_as_a_whole_number(value, words):
    data = _data("contact_plan")
    data["types"]["renewed.Full"]["on_site_days"] = value
    assert words in _fault(ContactPlanFile, data, "contact_plan")


def test_a_date_is_taken_only_as_a_toml_date():
    from automation.rules_schema import FrameworksFile

    data = _data("frameworks")
    data["frameworks"]["renewed"]["in_force_from"] = "2025-11-10"
    assert "key 'in_force_from': expected a date such as 2025-09-01 (no quotes), got '2025-11-10'" in \
        _fault(FrameworksFile, data, "frameworks")


def test_a_check_across_a_tables_keys_is_named_at_that_table():
    data = _data("contact_plan")
    data["keep_in_touch"][0]["time"] = "24:00"
    assert "[[keep_in_touch]] 1 ('Keep-in-touch call with the headteacher'), key 'time': expected a time of day" \
        in _fault(ContactPlanFile, data, "contact_plan")


def test_a_keep_in_touch_point_knows_whether_its_file_says_who_it_is_for():
    written = msgspec.convert({"label": "Call", "time": "09:00", "applies": "la_involved"}, KeepInTouch)
    absent = msgspec.convert({"label": "Call", "time": "09:00"}, KeepInTouch)
    assert written.applies == "la_involved" and absent.applies is UNSET
    # Said as "no condition" in data handed in by code: taken as written, not as absent.
    assert msgspec.convert({"label": "Call", "time": "09:00", "applies": None}, KeepInTouch).applies is None


def test_the_plan_gets_the_named_conditions_only_where_its_file_names_none(tmp_path):
    rules = load_rules()
    assert rules.contact_plan.conditions == rules.conditions.conditions
    assert rules.shapes["contact_plan"]["conditions"] == rules.conditions.conditions
    named = {**rules.conditions.conditions, "la_involved": {"governance": ["Maintained"]}}
    edited = rules.with_file("contact_plan", {**copy.deepcopy(rules.shapes["contact_plan"]), "conditions": named})
    assert edited.contact_plan.conditions == named != rules.conditions.conditions
    assert edited.shapes["contact_plan"]["conditions"] == named


def test_rules_keep_the_data_they_checked_not_the_callers_dict():
    rules = load_rules()
    plan = copy.deepcopy(rules.shapes["contact_plan"])
    edited = rules.with_file("contact_plan", plan)
    plan["timings"]["max_notice_days"] = "two"
    assert edited.shapes["contact_plan"]["timings"]["max_notice_days"] == 10 == edited.contact_plan.timings.max_notice_days


def test_a_table_built_in_code_takes_its_defaults():
    t = TypeTiming(on_site_days=2)
    assert (t.warn_same_day_start, t.notify_on, t.max_notice_school_days) == (False, None, None)
    assert load_rules().contact_plan.ofsted.as_dict()["helpline"]
