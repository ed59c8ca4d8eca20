"""Context.sent answers from an index of the journal by inspection (a scan of the whole journal for
every row grew with rows x messages): the same records, in the same order, as the scan gave, and a
new or longer history is indexed again."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

from automation.calendar import WorkingCalendar
from automation.context import Context
from automation.mail.journal import Record
from automation.mail.states import SendState
from automation.model import Tracker
from automation.rules import load_rules

PURPOSES = ("contact_plan_internal", "contact_plan_school", "contact_plan_call_la_day1", "concern", "digest")
T0 = datetime(2026, 11, 19, 9, 0, tzinfo=timezone.utc)


def _record(n: int, iid: str, purpose: str, state: SendState) -> Record:
    return Record(f"k{n}", f"m{n}@x", iid, purpose, 1, ("a@la.example.org",), "s", "outbox", state, "", 1, {},
                  T0 + timedelta(minutes=n), T0 + timedelta(minutes=n))


def _history(n: int, seed: int) -> list[Record]:
    rnd = random.Random(seed)
    states = (SendState.SENT, SendState.SENT, SendState.WAITING, SendState.FAILED)
    return [_record(k, f"OFS-{rnd.randrange(40)}", rnd.choice(PURPOSES), rnd.choice(states)) for k in range(n)]


def _ctx(history: list[Record]) -> Context:
    return Context(Tracker(), load_rules(), None, WorkingCalendar(), T0, history, None)


def _scan(history, iid, prefix):
    return [r for r in history if r.inspection_id == iid and r.purpose.startswith(prefix) and r.state == SendState.SENT]


def test_sent_is_what_a_scan_of_the_journal_gives():
    history = _history(600, 1)
    ctx = _ctx(history)
    asked = 0
    for iid in [f"OFS-{i}" for i in range(45)]:
        for prefix in ("contact_plan", "contact_plan_internal", "concern", "digest", "nothing"):
            assert ctx.sent(iid, prefix) == _scan(history, iid, prefix)
            asked += bool(_scan(history, iid, prefix))
    assert asked > 50  # most questions have an answer: the comparison is not of empty lists


def test_a_changed_history_is_indexed_again():
    ctx = _ctx(_history(50, 2))
    assert ctx.sent("OFS-new", "concern") == []
    ctx.history.append(_record(999, "OFS-new", "concern", SendState.SENT))  # grown in place
    assert [r.key for r in ctx.sent("OFS-new", "concern")] == ["k999"]
    ctx.history = [_record(1000, "OFS-other", "digest", SendState.SENT)]  # a new list
    assert ctx.sent("OFS-new", "concern") == [] and [r.key for r in ctx.sent("OFS-other", "digest")] == ["k1000"]
