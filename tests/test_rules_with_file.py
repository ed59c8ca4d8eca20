"""Rules with one file's data replaced (rules.with_file): checked as at load, the loaded rules unchanged."""

from __future__ import annotations

import pytest

from automation.errors import ConfigError
from automation.rules import load_rules


def test_an_edited_file_is_checked_and_the_loaded_rules_stay_as_they_were():
    rules = load_rules()
    plan = rules.shapes["contact_plan"]
    edited = rules.with_file("contact_plan", {**plan, "timings": {**plan["timings"], "max_notice_days": 20}})
    assert edited.contact_plan.timings.max_notice_days == 20
    assert rules.contact_plan.timings.max_notice_days == 10 and rules.shapes["contact_plan"]["timings"]["max_notice_days"] == 10
    assert edited.shapes["contact_plan"]["timings"]["max_notice_days"] == 20  # errors are located in the new data
    assert "la_involved" in edited.contact_plan.conditions  # still handed the named conditions of conditions.toml
    with pytest.raises(ConfigError, match=r"contact_plan.toml, \[timings\], key 'max_notice_days': expected a whole number"):
        rules.with_file("contact_plan", {**plan, "timings": {**plan["timings"], "max_notice_days": "two"}})
    with pytest.raises(ConfigError, match=r"date_sense.toml.*there is no key 'far_day'"):
        rules.with_file("date_sense", {**rules.shapes["date_sense"], "far_day": 3})
