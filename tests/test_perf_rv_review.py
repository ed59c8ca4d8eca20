"""`review` reads the tracker once and only what one inspection needs, and its checklist's
content is what a whole read gives: on the sample tracker after a run, for every inspection,
with the send journal and (the journal lost) from the Email log sheet."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from automation.calendar import LONDON
from automation.errors import TrackerError
from automation.mail.transport import MemoryTransport
from automation.review import service
from automation.review.core import find_inspection, review_data
from automation.rules import load_rules
from automation.run import journal_path, run
from automation.workbook import readonly
from automation.workbook.sample import build_sample
from tests.conftest import inspection, write_tracker

NOW = datetime(2026, 11, 16, 13, 5, tzinfo=LONDON)
LATER = datetime(2026, 11, 30, 10, 0, tzinfo=LONDON)


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    """The sample tracker after a run (plans sent, the Email log filled)."""
    path = tmp_path_factory.mktemp("sample") / "tracker.xlsx"
    build_sample(path, load_rules(None), NOW.date())
    from automation.config import parse_config

    cfg = parse_config({"la": {"name": "Example County Council"}}, "test")
    result = run(path, cfg, NOW, transport=MemoryTransport())
    assert result.saved and result.messages
    return path, cfg


def _data(ctx, raw, path, iid):
    insp = find_inspection(ctx.tracker, iid)
    return review_data(ctx.tracker, ctx.rules, ctx.calendar, service.records_for(ctx, raw, insp.inspection_id, path),
                       ctx.now, insp, None)


def _compare_all(path, cfg):
    whole_ctx, whole_raw = service.load_for_reports(path, cfg, LATER)
    ids = [i.inspection_id for i in whole_ctx.tracker.inspections]
    emails = 0
    for iid in ids:
        ctx, raw = service.load_for_one(path, cfg, LATER, iid)
        one = _data(ctx, raw, path, iid)
        assert one == _data(whole_ctx, whole_raw, path, iid), iid
        emails += len(one.emails)
    return len(ids), emails


def test_every_review_of_the_sample_is_what_a_whole_read_gives(ran):
    path, cfg = ran
    n, emails = _compare_all(path, cfg)
    assert n >= 15 and emails > 0


def test_without_the_journal_the_email_log_is_read_in_the_same_single_read(ran, tmp_path, monkeypatch):
    path, cfg = ran
    copy = tmp_path / "tracker.xlsx"
    copy.write_bytes(path.read_bytes())  # no state folder beside it: the journal is lost
    assert not journal_path(copy, cfg).exists()
    reads = []
    real = readonly.read_workbook

    def counted(p, sheets, limits=None, keep=None):
        reads.append([s.name for s in sheets])
        return real(p, sheets=sheets, limits=limits, keep=keep)

    monkeypatch.setattr(readonly, "read_workbook", counted)
    n, emails = _compare_all(copy, cfg)
    assert emails > 0  # the emails came from the Email log sheet
    one_reads = reads[:]  # load_for_reports reads the whole tracker through another store
    assert len(one_reads) == n and all("Email log" in r and "Problems" not in r for r in one_reads)


def test_with_the_journal_the_email_log_is_not_read(ran, monkeypatch):
    path, cfg = ran
    ctx, _ = service.load_for_reports(path, cfg, LATER)
    iid = next(r.inspection_id for r in ctx.history)
    reads = []
    real = readonly.read_workbook
    monkeypatch.setattr(readonly, "read_workbook",
                        lambda p, sheets, limits=None, keep=None: reads.append([s.name for s in sheets])
                        or real(p, sheets=sheets, limits=limits, keep=keep))
    ctx, raw = service.load_for_one(path, cfg, LATER, iid)
    assert service.records_for(ctx, raw, iid, path)
    assert len(reads) == 1 and "Email log" not in reads[0]


def test_a_bad_value_in_the_inspections_row_is_said_as_by_a_whole_read(tmp_path, cfg):
    path = write_tracker(tmp_path / "t.xlsx", inspections=[
        inspection(**{"Inspection ID": "OFS-100001-20261116", "Start date": "next Tuesday"})])
    errors = []
    for load in (lambda: service.load_for_one(path, cfg, LATER, "OFS-100001-20261116"),
                 lambda: service.load_for_reports(path, cfg, LATER)):
        ctx, raw = load()
        with pytest.raises(TrackerError) as exc:
            service.make_review(ctx, raw, Path(path), "OFS-100001-20261116")
        errors.append(str(exc.value))
        assert [str(p) for p in ctx.tracker.errors if p.row == 2]
    assert errors[0] == errors[1] and "No inspection 'OFS-100001-20261116'" in errors[0]
