"""`review` converts only the rows of the school its id names (OFS-<URN>-<date>). A row whose
URN was changed after the id was given must still be reviewed with its new school's rows,
exactly as a whole read gives it, and the reader's `keep` must leave out other schools' rows."""

from __future__ import annotations

from datetime import datetime

import openpyxl

from automation.calendar import LONDON
from automation.config import parse_config
from automation.mail.transport import MemoryTransport
from automation.review import service
from automation.review.core import find_inspection, review_data
from automation.rowread import keep_for
from automation.rules import load_rules
from automation.run import run
from automation.validate import FOR_ONE
from automation.workbook.reader import read_workbook
from automation.workbook.sample import build_sample

NOW = datetime(2026, 11, 16, 13, 5, tzinfo=LONDON)
LATER = datetime(2026, 11, 30, 10, 0, tzinfo=LONDON)


def _sample(tmp_path):
    path = tmp_path / "tracker.xlsx"
    build_sample(path, load_rules(None), NOW.date())
    cfg = parse_config({"la": {"name": "Example County Council"}}, "test")
    assert run(path, cfg, NOW, transport=MemoryTransport()).saved
    return path, cfg


def _data(ctx, raw, path, iid):
    insp = find_inspection(ctx.tracker, iid)
    return insp, review_data(ctx.tracker, ctx.rules, ctx.calendar, service.records_for(ctx, raw, insp.inspection_id, path),
                             ctx.now, insp, None)


def test_keep_reads_only_the_named_schools_rows(tmp_path):
    path, _ = _sample(tmp_path)
    whole = read_workbook(path, sheets=FOR_ONE)
    iid = next(c["Inspection ID"] for _, c in whole.sheets["Inspections"].rows if c.get("Inspection ID"))
    urn = iid.split("-")[1]
    some = read_workbook(path, sheets=FOR_ONE, keep=keep_for({iid}))
    kept = some.sheets["Inspections"].rows
    assert kept and all(str(c.get("URN")) == urn or c.get("Inspection ID") == iid for _, c in kept)
    assert len(kept) < len(whole.sheets["Inspections"].rows)
    assert [r for r in whole.sheets["Schools"].rows if str(r[1].get("URN")) == urn] == some.sheets["Schools"].rows
    assert some.sheets["Staff"].rows == whole.sheets["Staff"].rows  # sheets without a test are read whole
    assert keep_for({"MY-OWN-ID"}) is None  # an id that does not name its school: every row is read


def test_a_row_whose_urn_changed_is_reviewed_with_its_new_school(tmp_path):
    path, cfg = _sample(tmp_path)
    wb = openpyxl.load_workbook(path)
    ws = wb["Inspections"]
    head = [c.value for c in ws[1]]
    col_id, col_urn, col_school = (head.index(h) + 1 for h in ("Inspection ID", "URN", "School"))
    rows = [r for r in range(2, ws.max_row + 1) if ws.cell(r, col_id).value]
    row, other = rows[0], next(r for r in rows if ws.cell(r, col_urn).value != ws.cell(rows[0], col_urn).value)
    iid, new_urn = ws.cell(row, col_id).value, ws.cell(other, col_urn).value
    ws.cell(row, col_urn).value = new_urn  # typed over after the id was given, with its school
    ws.cell(row, col_school).value = ws.cell(other, col_school).value
    wb.save(path)
    ctx, raw = service.load_for_one(path, cfg, LATER, iid)
    whole_ctx, whole_raw = service.load_for_reports(path, cfg, LATER)
    insp, one = _data(ctx, raw, path, iid)
    assert str(insp.urn) == str(new_urn)
    assert one == _data(whole_ctx, whole_raw, path, iid)[1]
