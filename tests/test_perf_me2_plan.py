"""Plans are built only for live inspections: whether one is over is asked of its last day
alone, and a bad {field} in contact_plan.toml still stops the run at once, not when the next
inspection arrives."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from msgspec.structs import replace as struct_replace

from automation.calendar import WorkingCalendar
from automation.errors import ConfigError
from automation.paths import rules_dir
from automation.plan.contact import build_plan, deferral_values, text_values
from automation.rules import DEFERRAL_FIELDS, TEXT_FIELDS, check_texts, load_rules
from automation.status import last_day
from automation.validate import build_tracker
from automation.workbook.reader import read_workbook
from tests.conftest import inspection, write_tracker
from tests.console import cli

HOLIDAYS = [{"Name": "Half term", "First day": datetime(2026, 10, 26), "Last day": datetime(2026, 10, 30)}]


def _tracker(tmp_path: Path, rows) -> Path:
    return write_tracker(tmp_path / "tracker.xlsx", inspections=rows, holidays=HOLIDAYS)


def _counted_last_day(start: date, on_site: int, cal: WorkingCalendar) -> date:
    """The last day on site counted by hand: the start, then school days one by one."""
    d, n = start, 1
    while n < on_site:
        d += timedelta(days=1)
        n += cal.is_school_day(d)
    return d


def test_last_day_is_the_plans_last_day_whatever_the_dates(tmp_path):
    """The shortcut (status.last_day) and the plan's days both end where a count of school days
    does: every third start date of a year, weekends, bank holidays and half term among them."""
    rules = load_rules()
    path = _tracker(tmp_path, [inspection("100001"), inspection("100002", "Monitoring")])
    tracker = build_tracker(read_workbook(path), rules)
    cal = WorkingCalendar(school_holidays=[(date(2026, 10, 26), date(2026, 10, 30))])
    cp = rules.contact_plan
    assert {cp.on_site_days(i.framework, i.inspection_type) for i in tracker.inspections} == {1, 2}
    checked = 0
    for insp in tracker.inspections:
        school, on_site = tracker.schools[insp.urn], cp.on_site_days(insp.framework, insp.inspection_type)
        for k in range(0, 366, 3):
            start = date(2026, 1, 1) + timedelta(days=k)
            moved = replace(insp, start_date=start, notified_at=datetime.combine(start, datetime.min.time()) - timedelta(hours=20))
            counted = _counted_last_day(start, on_site, cal)
            assert last_day(moved, on_site, cal) == counted
            assert build_plan(moved, school, tracker.staff, None, cp, cal).days[-1] == counted
            checked += 1
    assert checked == 2 * 122


def test_the_fields_a_plan_fills_are_the_ones_the_check_allows(tmp_path):
    tracker = build_tracker(read_workbook(_tracker(tmp_path, [inspection("100001")])), load_rules())
    insp = tracker.inspections[0]
    school = tracker.schools[insp.urn]
    sim, ai = tracker.staff[school.sim], tracker.staff[school.ai]
    values = text_values(insp, school, sim, ai, None)
    assert tuple(values) == TEXT_FIELDS and (values["sim"], values["ai"]) == (sim.name, ai.name) != (ai.name, sim.name)
    assert tuple(deferral_values(datetime(2026, 11, 19, 12, 0), datetime(2026, 11, 20, 9, 0))) == DEFERRAL_FIELDS


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


@pytest.mark.parametrize("where, text", [("what", "Call {sims} today"), ("owner", "{chair_of_governors}"),
                                         ("what", "Call {sim:d}"), ("school_text", "{sim[x]}")])
def test_check_names_the_bad_text(where, text):
    cp = load_rules().contact_plan
    bad = struct_replace(cp, step=[struct_replace(cp.step[0], **{where: text}), *cp.step[1:]])
    with pytest.raises(ConfigError) as exc:
        check_texts(bad)
    assert f"step '{cp.step[0].id}'" in str(exc.value) and repr(text) in str(exc.value) and "\n" not in str(exc.value)


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
    p = cli(command, path, "--config", conf, *more, cwd=tmp_path)
    assert p.returncode == 3, p.stdout + p.stderr  # a config or rules error
    assert f"Rules file {tmp_path / 'rules' / 'contact_plan.toml'}, " in p.stderr and "uses 'simm'" in p.stderr
    assert not list(tmp_path.glob("outbox/*.eml"))


def test_an_indexed_field_is_checked_by_its_name(tmp_path):
    """{sim[0]} fills from a real name, so the check lets it through, and the plan has it."""
    conf = _own_plan(tmp_path, DEFERRAL_OWNER, 'owner = "the headteacher, supported by {sim[0]}. {ai}"')
    path = _tracker(tmp_path, [inspection("100001", notified=datetime(2026, 11, 19, 8, 0), start=datetime(2026, 11, 20))])
    p = cli("run", path, "--config", conf, "--now", "2026-11-19T09:30", cwd=tmp_path)
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
