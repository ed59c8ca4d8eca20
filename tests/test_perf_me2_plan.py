"""Plans are built only for live inspections: whether one is over is asked of its last day
alone, and a bad {field} in contact_plan.toml still stops the run at once, not when the next
inspection arrives."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from msgspec.structs import replace as struct_replace

from automation.calendar import WorkingCalendar
from automation.errors import ConfigError
from automation.paths import rules_dir
from automation.plan.contact import DEFERRAL_FIELDS, TEXT_FIELDS, build_plan, check_texts
from automation.rules import load_rules
from automation.status import last_day
from automation.validate import build_tracker
from automation.workbook.reader import read_workbook
from tests.conftest import inspection, write_tracker

EXE = str(Path(sys.executable).with_name("ofsted-tracker"))
HOLIDAYS = [{"Name": "Half term", "First day": datetime(2026, 10, 26), "Last day": datetime(2026, 10, 30)}]


def _tracker(tmp_path: Path, rows) -> Path:
    return write_tracker(tmp_path / "tracker.xlsx", inspections=rows, holidays=HOLIDAYS)


def test_last_day_is_the_plans_last_day_whatever_the_dates(tmp_path):
    """The shortcut (status.last_day) gives what build_plan's days end on: every start date of a
    year, holidays and weekends among them, for each type's days on site."""
    rules = load_rules()
    path = _tracker(tmp_path, [inspection("100001"), inspection("100002", "Monitoring")])
    tracker = build_tracker(read_workbook(path), rules)
    cal = WorkingCalendar(school_holidays=[(date(2026, 10, 26), date(2026, 10, 30))])
    cp = rules.contact_plan
    checked = 0
    for insp in tracker.inspections:
        school = tracker.schools[insp.urn]
        for k in range(0, 366, 3):
            start = date(2026, 1, 1) + timedelta(days=k)
            moved = replace(insp, start_date=start, notified_at=datetime.combine(start, datetime.min.time()) - timedelta(hours=20))
            plan = build_plan(moved, school, tracker.staff, None, cp, cal)
            assert last_day(moved, cp.on_site_days(moved.framework, moved.inspection_type), cal) == plan.days[-1]
            checked += 1
    assert {cp.on_site_days(i.framework, i.inspection_type) for i in tracker.inspections} == {1, 2}
    assert checked == 2 * 122


def test_every_field_the_check_allows_is_one_a_plan_fills(tmp_path):
    rules = load_rules()
    every = " ".join("{%s}" % f for f in TEXT_FIELDS)
    cp = rules.contact_plan
    step = struct_replace(cp.step[0], what=every, school_text=every, owner="{sim}")
    deferral = struct_replace(cp.deferral, before_cutoff=every + " " + " ".join("{%s}" % f for f in DEFERRAL_FIELDS))
    cp2 = struct_replace(cp, step=[step, *cp.step[1:]], deferral=deferral)
    check_texts(cp2)
    tracker = build_tracker(read_workbook(_tracker(tmp_path, [inspection("100001")])), rules)
    insp = tracker.inspections[0]
    plan = build_plan(insp, tracker.schools[insp.urn], tracker.staff, None, cp2, WorkingCalendar())
    assert any("Sam Imrie" in s.what and "{" not in s.what for s in plan.steps)


@pytest.mark.parametrize("where, text", [("what", "Call {sims} today"), ("owner", "{chair_of_governors}")])
def test_check_names_the_bad_text(where, text):
    cp = load_rules().contact_plan
    bad = struct_replace(cp, step=[struct_replace(cp.step[0], **{where: text}), *cp.step[1:]])
    with pytest.raises(ConfigError) as exc:
        check_texts(bad)
    assert f"step '{cp.step[0].id}'" in str(exc.value) and repr(text) in str(exc.value)


def _own_plan(tmp_path: Path, old: str, new: str) -> Path:
    """A config whose rules folder holds an LA copy of contact_plan.toml with one text changed."""
    own = tmp_path / "rules"
    own.mkdir()
    shipped = (rules_dir() / "contact_plan.toml").read_text()
    assert old in shipped
    (own / "contact_plan.toml").write_text(shipped.replace(old, new))
    conf = tmp_path / "config.toml"
    conf.write_text(f'[mail]\ntransport = "outbox"\noutbox_dir = "outbox"\n[paths]\nrules_dir = "{own}"\n')
    return conf


DEFERRAL_OWNER = 'owner = "the headteacher, supported by {sim} or {ai}"'


@pytest.mark.parametrize("command", ["run", "validate"])
def test_a_bad_field_stops_every_command_even_with_only_past_inspections(tmp_path, command):
    """Nothing on the tracker is live, so no plan is built: the rules are refused when they are loaded,
    naming the LA's own file, by `validate` as by `run`."""
    conf = _own_plan(tmp_path, DEFERRAL_OWNER, 'owner = "the headteacher, supported by {simm}"')
    path = _tracker(tmp_path, [inspection("100001", notified=datetime(2025, 3, 3, 9, 0), start=datetime(2025, 3, 4))])
    more = ["--now", "2026-11-19T09:30"] if command == "run" else []
    p = subprocess.run([EXE, command, str(path), "--config", str(conf), *more], capture_output=True, text=True, cwd=tmp_path)
    assert p.returncode == 3, p.stdout + p.stderr  # a config or rules error
    assert f"Rules file {tmp_path / 'rules' / 'contact_plan.toml'}, " in p.stderr and "uses 'simm'" in p.stderr
    assert not list(tmp_path.glob("outbox/*.eml"))


def test_an_indexed_field_is_checked_by_its_name(tmp_path):
    """{sim[0]} fills from a real name, so the check lets it through, and the plan has it."""
    conf = _own_plan(tmp_path, DEFERRAL_OWNER, 'owner = "the headteacher, supported by {sim[0]}. {ai}"')
    path = _tracker(tmp_path, [inspection("100001", notified=datetime(2026, 11, 19, 8, 0), start=datetime(2026, 11, 20))])
    p = subprocess.run([EXE, "run", str(path), "--config", str(conf), "--now", "2026-11-19T09:30"],
                       capture_output=True, text=True, cwd=tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    sent = [f.read_bytes() for f in tmp_path.glob("outbox/*.eml")]
    assert sent and any(b"supported by S. Alex Inchley" in m for m in sent)


@pytest.mark.parametrize("text, words", [("{oops", "expected '}' before end of string"), ("{0}", "positional"),
                                         ("{sim.name}", "has no attribute 'name'")])
def test_a_text_that_cannot_be_filled_is_one_line_naming_it(text, words):
    cp = load_rules().contact_plan
    bad = struct_replace(cp, step=[struct_replace(cp.step[0], what=text), *cp.step[1:]])
    with pytest.raises(ConfigError) as exc:
        check_texts(bad, "rules/contact_plan.toml")
    line = str(exc.value)
    assert line.startswith("Rules file rules/contact_plan.toml, step ") and repr(text) in line and words in line
    assert "write each field as {name}" in line and "\n" not in line
