"""The layers hold: one typed store interface, one plan for the dry run and the real run,
one reader for the feedback form, and the run's after-files built from this run's results."""

from __future__ import annotations

import ast
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest

import automation
from automation.addin.xlstore import XlwingsStore
from automation.calendar import LONDON
from automation.errors import WorkbookError
from automation.mail.transport import MemoryTransport
from automation.purposes import Purpose
from automation.review.service import form_facts
from automation.run import plan_run, run
from automation.session import READ, open_session
from automation.workbook.protocol import TrackerStore
from automation.workbook.store import WorkbookStore
from tests.conftest import inspection, write_tracker

ROOT = Path(automation.__file__).resolve().parent
IID = "OFS-100001-20261116"
FIRST = datetime(2026, 11, 16, 15, 30, tzinfo=LONDON)


def test_both_stores_are_tracker_stores(tmp_path):
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection()])
    assert isinstance(WorkbookStore(path), TrackerStore)
    assert WorkbookStore(path).identity == path
    # The live store is checked on its class: asking an instance would talk to Excel.
    for member in ("identity", "load", "pending", "save"):
        assert hasattr(XlwingsStore, member), member
    assert "raw" in XlwingsStore.__dataclass_fields__


def test_nothing_guesses_what_a_store_can_do():
    guesses = []
    for path in ROOT.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("hasattr", "getattr")
                    and node.args and isinstance(node.args[0], ast.Name) and node.args[0].id == "store"):
                guesses.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert guesses == []


def test_the_dry_run_shows_the_plan_the_real_run_then_carries_out(tmp_path, cfg):
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection()])
    with open_session(path, cfg, FIRST, journal=READ) as s:
        planned = plan_run(s, dry_run=True)
    dry = run(path, cfg, FIRST, dry_run=True)
    keys = sorted(m.key for m in planned.messages)
    assert keys and keys == sorted(m.key for m in dry.messages) == sorted(m.key for m in dry.plan.messages)
    assert dry.cells_written == planned.cells > 0
    assert not (tmp_path / "outbox").exists()  # a dry run sends nothing
    sent = MemoryTransport()
    real = run(path, cfg, FIRST, transport=sent)
    assert sorted(m.key for m in real.plan.messages) == keys
    assert sorted(m.key for m in sent.sent) == keys
    assert {Purpose.CONTACT_PLAN_INTERNAL, Purpose.CONTACT_PLAN_SCHOOL} <= {m.purpose for m in sent.sent}


def test_preview_dir_alone_sends_nothing(tmp_path):
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection()])
    done = subprocess.run([sys.executable, "-m", "automation.cli", "run", str(path), "--now", "2026-11-16T15:30",
                           "--preview-dir", str(tmp_path / "pv")], capture_output=True, text=True, timeout=120)
    assert "nothing was sent" in done.stdout, done.stdout + done.stderr
    assert list((tmp_path / "pv").glob("*.eml"))
    assert not (tmp_path / "outbox").exists() or not list((tmp_path / "outbox").iterdir())


def _answered_form(folder: Path, rules, label: str | None = None) -> Path:
    from automation.forms.readback import ContactPoint
    from automation.forms.spec import form_spec
    from automation.forms.workbook import write_form

    form = folder / f"{IID} Acorn Primary School feedback form.xlsx"
    calls = (ContactPoint(datetime(2026, 11, 17, 17, 0, tzinfo=LONDON), "Keep-in-touch call", confirm=True),)
    write_form(form, form_spec(rules, "renewed", "Full"), {"inspection_id": IID}, calls, "Example County Council")
    wb = openpyxl.load_workbook(form)
    for row in wb.worksheets[0].iter_rows():
        if isinstance(row[0].value, str) and row[0].value.startswith("contact:"):
            row[2].value = "Yes"
            if label is not None:
                row[1].value = label
    wb.save(form)
    return form


def test_the_review_reads_the_form_through_the_forms_reader(tmp_path, rules):
    _answered_form(tmp_path, rules)
    facts = form_facts(tmp_path, IID)
    assert facts.calls == ((datetime(2026, 11, 17, 17, 0, tzinfo=LONDON), True),)


def test_a_changed_form_layout_stops_the_review_with_a_clear_line(tmp_path, rules):
    form = _answered_form(tmp_path, rules, label="the Tuesday call")
    with pytest.raises(WorkbookError) as got:
        form_facts(tmp_path, IID)
    assert form.name in str(got.value) and "column B" in str(got.value) and "the Tuesday call" in str(got.value)


def test_a_damaged_form_is_an_error_not_an_empty_review(tmp_path):
    (tmp_path / f"{IID} Acorn Primary School feedback form.xlsx").write_bytes(b"not a workbook")
    with pytest.raises(WorkbookError, match="cannot be read"):
        form_facts(tmp_path, IID)


def test_the_oversight_workbook_counts_the_follow_ups_this_run_compiled(tmp_path, cfg):
    outcomes = {"Final feedback at": datetime(2026, 11, 18, 15, 0), "Safeguarding": "Met",
                "Inclusion": "Needs attention", "Concerns raised": "No"}
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection(**{"Inspection ID": IID, **outcomes})])
    run(path, cfg, datetime(2026, 11, 24, 9, 0, tzinfo=LONDON), transport=MemoryTransport())
    sheet = openpyxl.load_workbook(path)["Follow-ups"]
    heads = [c.value for c in sheet[1]]
    rows = [dict(zip(heads, (c.value for c in r))) for r in sheet.iter_rows(min_row=2)]
    open_now = sum(1 for r in rows if r.get("Inspection ID") == IID and r.get("State") == "Open" and not r.get("Done"))
    assert open_now > 0  # the rules give this inspection follow-ups, compiled by this very run
    detail = openpyxl.load_workbook(tmp_path / "reports" / f"{path.stem} oversight.xlsx")["Inspections"]
    heads = [c.value for c in detail[1]]
    mine = next(dict(zip(heads, (c.value for c in r))) for r in detail.iter_rows(min_row=2) if r[0].value == IID)
    assert mine["Follow-ups open"] == open_now
