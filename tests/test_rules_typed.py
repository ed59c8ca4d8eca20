"""The rules files are loaded into typed, checked objects: every shipped file passes its model,
and an LA's faulty copy stops the console script with one line naming the file, the table and
the key (exit 3, the configuration's code), before anything is read or sent."""

from __future__ import annotations

import tomllib
from datetime import date
from pathlib import Path

import msgspec
import pytest

from automation.errors import ConfigError
from automation.paths import rules_dir
from automation.rules import load_rules, validate_file
from automation.rules_schema import MODELS, ContactPlanFile, TypeTiming
from tests.conftest import inspection, write_tracker
from tests.console import cli


def _shipped(stem: str) -> str:
    return (rules_dir() / f"{stem}.toml").read_text(encoding="utf-8")


def _own_copy(tmp_path: Path, stem: str, old: str, new: str) -> Path:
    """An LA rules folder holding one edited copy of a shipped file."""
    text = _shipped(stem)
    assert old in text, f"the shipped {stem}.toml no longer has {old!r}"
    own = tmp_path / "la-rules"
    own.mkdir(exist_ok=True)
    (own / f"{stem}.toml").write_text(text.replace(old, new, 1), encoding="utf-8")
    return own


def _refused(own: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        load_rules(own)
    return str(caught.value)


# ---- The shipped files ----

@pytest.mark.parametrize("stem", sorted(MODELS))
def test_every_shipped_file_passes_its_model_and_keeps_its_shape(stem):
    data = tomllib.loads(_shipped(stem))
    model = validate_file(MODELS[stem], data, rules_dir() / f"{stem}.toml")
    # The model holds every value the file gives, unchanged (and defaults for the rest).
    assert _within(data, msgspec.to_builtins(model, builtin_types=(date,)))
    # rules.shapes (what errors are located in) holds exactly what the file says (no defaults added, none lost);
    # the contact plan is handed the named conditions of conditions.toml.
    written = dict(load_rules().written[stem])
    if stem == "contact_plan":
        assert written.pop("conditions") == load_rules().conditions.conditions
    assert written == data


def _within(part, whole) -> bool:
    if isinstance(part, dict):
        return isinstance(whole, dict) and all(k in whole and _within(v, whole[k]) for k, v in part.items())
    if isinstance(part, list):
        return isinstance(whole, list) and len(part) == len(whole) and all(map(_within, part, whole))
    return part == whole and type(part) is type(whole)


def test_every_file_in_the_rules_folder_has_a_model():
    assert {p.stem for p in rules_dir().glob("*.toml")} == set(MODELS)


def test_the_rules_have_a_typed_attribute_per_file():
    rules = load_rules()
    plan = rules.contact_plan
    assert isinstance(plan, ContactPlanFile)
    assert plan.timings.deferral_deadline == "16:30" and plan.timings.acknowledge_within_working_hours == 2
    assert plan.on_site_days("eif2024", "Monitoring") == 1 and plan.on_site_days("eif2024", "Nonesuch") == 2
    assert isinstance(plan.type_timing("renewed", "Full"), TypeTiming) and plan.type_timing("renewed", "Full").notify_on == "Monday"
    assert "la_involved" in plan.conditions  # handed the named conditions: the plan is computed from this file alone
    assert rules.follow_ups.action[0].id == "feedback_form" and rules.follow_ups.scope.months_after_last_day == 30
    assert rules.feedback_form.section[0].builtin == "inspection"
    assert rules.learning_review.section[1].prefill == "outcome"
    assert rules.outcomes.frameworks["eif2024"].monitoring.not_if_previous_graded_good_since == date(2024, 9, 1)
    assert rules.oversight.school_year.starts_month == 9 and rules.date_sense.near_days == 14
    assert rules.gias.import_.open_statuses[0] == "Open" and rules.offers[0].name
    assert rules.sources["contact_plan"] == rules_dir() / "contact_plan.toml"
    # The same data, in the files' shape, for naming places in errors.
    assert rules.shapes["contact_plan"]["timings"]["max_notice_days"] == plan.timings.max_notice_days
    assert "max_notice_school_days" not in rules.shapes["contact_plan"]["types"]["renewed.Full"]


def test_a_typed_object_cannot_be_changed_by_accident():
    with pytest.raises(Exception):
        load_rules().contact_plan.timings.max_notice_days = 3


def test_the_las_copy_is_the_one_read_and_named(tmp_path):
    own = _own_copy(tmp_path, "follow_ups", "repeat = 6", "repeat = 3")
    rules = load_rules(own)
    assert rules.sources["follow_ups"] == own / "follow_ups.toml"
    assert rules.sources["contact_plan"] == rules_dir() / "contact_plan.toml"
    assert next(a for a in rules.follow_ups.action if a.id == "concern_checkin").repeat == 3


# ---- An LA's faulty copy, through the console script: one line, exit 3 ----

CONSOLE_CASES = {
    "unknown key": ("contact_plan", "acknowledge_within_working_hours = 2", "acknowledge_within_hours = 2",
                    ["contact_plan.toml, [timings]: there is no key 'acknowledge_within_hours'",
                     "did you mean 'acknowledge_within_working_hours'?"]),
    "wrong type": ("contact_plan", 'working_hours = 2\n\n[[step]]\nid = "agree_approach"',
                   'working_hours = "two"\n\n[[step]]\nid = "agree_approach"',
                   ["contact_plan.toml, [[step]] 2 ('acknowledge_offer'), key 'working_hours': expected a whole number, "
                    "got 'two'"]),
    "misspelt table": ("oversight", "[outcome_labels]", "[outcome_label]",
                       ["oversight.toml: there is no table [outcome_label] — did you mean [outcome_labels]?"]),
    "bad condition": ("follow_ups", 'applies = "la_involved"\naction = "Follow-up email',
                      'applies = { goverance = ["Maintained"] }\naction = "Follow-up email',
                      ["follow_ups.toml, [[action]] 2 ('follow_up_contact'), key 'applies': 'goverance' is not something "
                       "a condition can test"]),
    "unknown word in a condition": ("contact_plan", 'applies = { governance = ["Maintained"] }\nwhat = "Final',
                                    'applies = { governance = ["Maintaned"] }\nwhat = "Final',
                                    ["contact_plan.toml, [[step]] 12 ('final_feedback'), key 'applies': governance names "
                                     "'Maintaned'", "did you mean 'Maintained'?"]),
}


# Every case through `validate`; the dry run loads the rules the same way, so two cases show it.
@pytest.mark.parametrize(("case", "command"), [(c, ["validate"]) for c in CONSOLE_CASES]
                         + [("wrong type", ["run", "--dry-run"]), ("bad condition", ["run", "--dry-run"])])
def test_a_faulty_la_rules_file_stops_the_console_script_with_one_line(tmp_path, case, command):
    stem, old, new, wanted = CONSOLE_CASES[case]
    own = _own_copy(tmp_path, stem, old, new)
    tracker = write_tracker(tmp_path / "tracker.xlsx", inspections=[inspection()])
    conf = tmp_path / "config.toml"
    conf.write_text(f'[paths]\nrules_dir = "{own.as_posix()}"\n', encoding="utf-8")
    before = tracker.read_bytes()
    done = cli(*command, tracker, "--config", conf, "--now", "2026-11-16T13:05", cwd=tmp_path)
    assert done.returncode == 3, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert f"Rules file {own / stem}.toml" in lines[0]
    for words in wanted:
        assert words in lines[0]
    assert tracker.read_bytes() == before  # stopped before anything was read back or written
    assert not (tmp_path / "outbox").exists()


# ---- More faults, by the loader itself ----

@pytest.mark.parametrize(("stem", "old", "new", "wanted"), [
    ("contact_plan", 'kind = "call"', 'kind = "cal"',
     "[[step]] 7 ('planning_call'), key 'kind': expected one of 'task', 'call', 'deadline', 'meeting', got 'cal' — "
     "did you mean 'call'?"),
    ("contact_plan", 'time = "17:00"', 'time = "5pm"',
     "[[keep_in_touch]] 1 ('Keep-in-touch call with the headteacher'), key 'time': expected a time of day as text"),
    ("contact_plan", '[types."renewed.Full"]', '[types."renewed.Ful"]',
     "[types.\"renewed.Ful\"]: the type 'renewed.Ful' is not \"<framework>.<inspection type>\" of frameworks.toml — "
     "did you mean 'renewed.Full'?"),
    ("contact_plan", '[[keep_in_touch]]\nlabel = "Morning', '[[keep_in_touch]]\nlabl = "Morning',
     "[[keep_in_touch]] 2: there is no key 'labl' — did you mean 'label'?"),
    ("frameworks", "in_force_from = 2025-11-10", 'in_force_from = "2025-11-10"',
     "[frameworks.renewed], key 'in_force_from': expected a date such as 2025-09-01 (no quotes), got '2025-11-10'"),
    ("follow_ups", 'when = ["ended", "not concerns_raised"', 'when = ["ended", "not concern_raised"',
     "[[action]] 2 ('follow_up_contact'), key 'when': 'not concern_raised' is not a known fact — did you mean "
     "'concerns_raised'?"),
    ("follow_ups", 'owner = "EPS"', 'owner = "ESP"', "[[action]] 15 ('ect_restriction'), key 'owner': the owner 'ESP'"),
    ("follow_ups", "months_after_last_day = 30\n", "",
     "[scope]: the key 'months_after_last_day' is missing — add it"),
    ("feedback_form", '[[section]]\nbuiltin = "judgements"', '[[section]]\nbuiltin = "judgement"',
     "[[section]] 3, key 'builtin': expected one of 'inspection', 'judgements', got 'judgement'"),
    ("feedback_form", 'column = "Nominee"', 'column = "Status"',
     "[[section]] 2 ('Final feedback'), [[section.field]] 3 ('nominee'), key 'column': the column 'Status' is not "
     "an Inspections column a form can fill"),
    ("learning_review", 'eif2024 = "How did', 'eif2025 = "How did',
     "[section.prompt_by_framework], key 'eif2025': the framework 'eif2025' is not a framework of frameworks.toml"),
    ("gias", '"Studio schools" = "Academy"', '"Studio schools" = "Acadmy"',
     "[governance_by_type], key 'Studio schools': the governance 'Acadmy'"),
    ("outcomes", '"Personal development"]', '"Personal developmnt"]',
     "[frameworks.eif2024.special_measures], key 'any_of': the value 'Personal developmnt'"),
    ("oversight", "starts_month = 9", "starts_month = 13",
     "[school_year], key 'starts_month': expected a whole number at most 12, got 13"),
    ("date_sense", "near_days = 14", "near_days = -1", "key 'near_days': expected a whole number at least 0, got -1"),
    ("conditions", 'la_involved = [{ governance = ["Maintained"] }',
     'la_involved = [{ governance = ["Maintained"], safeguarding_failed = "yes" }',
     "[conditions], key 'la_involved': safeguarding_failed is a yes/no fact"),
    ("support_offers", 'contact = "Contact Governor Services."\n', "",
     "[[offer]] 3 ('Wellbeing training for governors'): the key 'contact' is missing"),
])
def test_each_fault_names_the_file_the_table_and_the_key(tmp_path, stem, old, new, wanted):
    own = _own_copy(tmp_path, stem, old, new)
    message = _refused(own)
    assert message.startswith(f"Rules file {own / stem}.toml")
    assert wanted in message, message
    assert "\n" not in message and " — " in message  # one line, with what to do


def test_a_contact_plan_given_as_plain_data_is_checked_too(rules):
    from automation.plan.contact import build_plan

    data = dict(rules.shapes["contact_plan"], timings={**rules.shapes["contact_plan"]["timings"], "deferral_deadline": "4pm"})
    with pytest.raises(ConfigError, match=r"contact_plan.toml, \[timings\], key 'deferral_deadline': expected a time"):
        build_plan(None, None, {}, None, data, None)


def test_a_misnamed_copy_or_a_missing_folder_is_refused_not_ignored(tmp_path):
    own = tmp_path / "la-rules"
    own.mkdir()
    (own / "follow_up.toml").write_text(_shipped("follow_ups"), encoding="utf-8")
    message = _refused(own)
    assert f"Rules folder {own} has follow_up.toml, which is not a rules file — did you mean follow_ups.toml?" in message
    message = _refused(tmp_path / "nowhere")
    assert f"Rules folder {tmp_path / 'nowhere'} ([paths] rules_dir) does not exist" in message


def test_a_relative_rules_folder_is_beside_the_config_whatever_folder_the_run_starts_in(tmp_path):
    """A scheduled task starts in some other folder: `rules_dir = "rules"` still means the folder
    next to the config file (an edited copy there is the one read, and its fault named)."""
    la = tmp_path / "la"
    la.mkdir()
    own = _own_copy(la, "contact_plan", 'id = "acknowledge"', 'id = "acknowledge"\nwhen = "soon"')
    own.rename(la / "rules")
    conf = la / "config.toml"
    conf.write_text('[paths]\nrules_dir = "rules"\n', encoding="utf-8")
    tracker = write_tracker(tmp_path / "tracker.xlsx", inspections=[inspection()])
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = cli("validate", tracker, "--config", conf, cwd=elsewhere)
    assert done.returncode == 3, done.stdout + done.stderr
    assert f"Rules file {(la / 'rules' / 'contact_plan.toml').resolve()}" in done.stderr, done.stderr
    (la / "rules" / "contact_plan.toml").unlink()  # the folder alone: the shipped file is used
    done = cli("validate", tracker, "--config", conf, cwd=elsewhere)
    assert done.returncode in (0, 1), done.stdout + done.stderr
