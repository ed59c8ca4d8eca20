"""The schedule warnings (automation/plausibility.py) answer each calendar question once per date:
rows that share dates must still each get their own warnings, exactly as if read alone."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from automation.plausibility import schedule_problems
from automation.rules import load_rules
from automation.validate import build_tracker
from automation.workbook.reader import read_workbook
from tests.conftest import SCHOOLS, inspection, write_tracker

NURSERY = {"URN": "100003", "School name": "Catkin Nursery School", "Governance": "Maintained", "Phase": "Nursery",
           "School email": "office@catkin.school.example.org", "SIM": "Sam Imrie", "AI": "Alex Inchley"}
HALF_TERM = [{"Name": "Autumn half term 2026", "First day": datetime(2026, 10, 26), "Last day": datetime(2026, 10, 30)}]
# Notified Thursday 22 October, on site from Friday 23: day 2 falls in half term, and so does final feedback.
SAME_DATES = dict(notified=datetime(2026, 10, 22, 10, 0), start=datetime(2026, 10, 23),
                  **{"Final feedback at": datetime(2026, 10, 26, 15, 0)})


def _tracker(tmp_path, rows, holidays):
    path = write_tracker(tmp_path / "t.xlsx", schools=SCHOOLS[:2] + [NURSERY], inspections=rows, holidays=holidays)
    rules = load_rules()
    return build_tracker(read_workbook(path), rules), rules


def _shown(problems):
    return [(p.row, p.column, p.value, p.message, p.fix) for p in problems]


def test_rows_sharing_dates_each_get_their_own_warnings(tmp_path):
    rows = [inspection(urn="100001", Deferral="Granted", **SAME_DATES),
            inspection(urn="100002", Deferral="Granted", **SAME_DATES),
            inspection(urn="100003", **SAME_DATES),  # not deferred: a Full is notified on a Monday too
            inspection(urn="100001", notified=datetime(2026, 11, 16, 12, 5), start=datetime(2026, 11, 17))]
    t, rules = _tracker(tmp_path, rows, HALF_TERM)
    together = schedule_problems(t, rules)
    alone = [p for insp in t.inspections for p in schedule_problems(dataclasses.replace(t, inspections=[insp]), rules)]
    assert _shown(together) == _shown(alone)
    by_row = {}
    for p in together:
        by_row.setdefault(p.row, []).append(p.column)
    assert by_row == {2: ["Start date", "Final feedback at"], 3: ["Start date", "Final feedback at"],
                      4: ["Notified at", "Start date", "Final feedback at"]}
    assert all(p.message.startswith(f"{t.inspections[p.row - 2].inspection_id}: ") for p in together)


def test_without_school_holidays_only_the_pattern_is_checked(tmp_path):
    t, rules = _tracker(tmp_path, [inspection(urn="100003", **SAME_DATES)], [])
    assert [p.column for p in schedule_problems(t, rules)] == ["Notified at"]
