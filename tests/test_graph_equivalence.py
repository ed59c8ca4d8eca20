"""The sample tracker run through SharePoint (the Graph stand-in) does what the same tracker
run from a local file does: the same messages, the same cells on every contract sheet (the
tool's columns and sheets included), and the same generated files beside it — over two days,
with a feedback form completed in between (locally in one, on SharePoint in the other).

Compared exactly, Message-ID and Date included: both are deterministic (the Message-ID comes
from inspection, purpose, recipients and version; Date from --now), so a difference there would
be a real one. Two things legitimately differ and are left out: the MIME boundary (the email
library picks it at random: each part is compared instead), and the bytes of .xlsx files
(attachments, generated workbooks), compared by their cells — openpyxl stamps a workbook's
created/modified properties with the wall clock."""

from __future__ import annotations

import email
import email.policy
import io
import shutil
from pathlib import Path

import openpyxl
import pytest

from automation.workbook import schema
from tests.console import cli
from tests.sharepoint_run import local_config, local_root, run, sharepoint_config, sign_in
from tests.standins.graph_drive import GraphDrive
from tests.test_forms_run import DONE, fill

# Each runs the real console script against the stand-in several times over (whole sample
# trackers): CI and scripts/test.sh run them; a developer's plain `pytest` leaves them out.
pytestmark = pytest.mark.slow

NAME = "Ofsted tracker.xlsx"
DAYS = ("2026-11-18T10:00", "2026-11-19T09:00")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def cells(data: bytes) -> dict:
    """Every sheet's values, by sheet name: what a workbook says, without its timestamps."""
    wb = openpyxl.load_workbook(io.BytesIO(data))
    return {ws.title: [list(r) for r in ws.iter_rows(values_only=True)] for ws in wb.worksheets}


def messages(outbox: Path) -> dict[str, tuple]:
    """Each .eml by file name: its headers in order, and each part's type, file name and content."""
    out = {}
    for p in sorted(outbox.glob("*.eml")):
        msg = email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
        parts = []
        for part in msg.walk():
            if part.is_multipart():
                continue
            data = part.get_payload(decode=True)
            parts.append((part.get_content_type(), part.get_filename(),
                          cells(data) if part.get_content_type() == XLSX else data))
        headers = [(k, msg.get_content_type() if k.lower() == "content-type" else v) for k, v in msg.items()]
        out[p.name] = (headers, parts)
    return out


def tool_cells(wb) -> dict:
    """The tool's cells, by sheet and header: whole tool sheets, and the tool's columns elsewhere."""
    out = {}
    for spec in schema.ALL:
        if spec.name not in wb.sheetnames:
            continue
        rows = list(wb[spec.name].iter_rows(values_only=True))
        header = [str(h).strip() if h is not None else "" for h in rows[0]]
        mine = [c.header for c in spec.columns if spec.tool or c.tool]
        for h in mine:
            if h in header:
                out[(spec.name, h)] = [r[header.index(h)] for r in rows[1:]]
    return out


def every_cell(wb) -> dict:
    return {ws.title: [list(r) for r in ws.iter_rows(values_only=True)] for ws in wb.worksheets}


def generated(folder: Path) -> dict[str, object]:
    """The tool's files under a folder (forms, reviews, reports), xlsx by their cells."""
    out = {}
    for sub in ("forms", "reviews", "reports"):
        for p in sorted((folder / sub).glob("*")) if (folder / sub).is_dir() else []:
            if p.is_file() and not p.name.startswith((".", "~$")):
                out[f"{sub}/{p.name}"] = cells(p.read_bytes()) if p.suffix == ".xlsx" else p.read_bytes()
    return out


def test_the_sample_through_sharepoint_sends_and_writes_what_the_local_file_does(tmp_path):
    assert cli("sample", tmp_path / "sample.xlsx", "--today", "2026-11-18", cwd=tmp_path).returncode == 0
    for where in ("local", "site"):
        (tmp_path / where).mkdir()
        shutil.copy(tmp_path / "sample.xlsx", tmp_path / where / NAME)
    local = tmp_path / "local" / NAME
    with GraphDrive(tmp_path / "site" / NAME) as drive:
        lcfg = local_config(tmp_path / "local.toml", tmp_path / "outbox-local")
        scfg = sharepoint_config(tmp_path / "sharepoint.toml", drive, tmp_path / "here", tmp_path / "outbox-sharepoint")
        sign_in(scfg, tmp_path)
        for n, now in enumerate(DAYS):
            if n:  # between the days an officer completes the first form: in the file's folder, or on SharePoint
                first = sorted((tmp_path / "local" / "forms").glob("*.xlsx"))[0].name
                fill(tmp_path / "local" / "forms" / first, DONE)
                fill(drive.root / "forms" / first, DONE)
            a = run(lcfg, tmp_path, now, tracker=local)
            b = run(scfg, tmp_path, now)
            assert a.returncode == b.returncode, a.stdout + b.stdout + b.stderr

            sent_here, sent_there = messages(tmp_path / "outbox-local"), messages(tmp_path / "outbox-sharepoint")
            assert len(sent_here) > (20 if n == 0 else 21)  # the sample's day: plans, calls, digests, ...
            assert sorted(sent_here) == sorted(sent_there)
            for name in sent_here:
                assert sent_here[name] == sent_there[name], name

            here, there = openpyxl.load_workbook(local), drive.workbook()
            mine = tool_cells(here)
            assert sum(1 for col in mine.values() for v in col if v not in (None, "")) > 500
            assert mine == tool_cells(there)
            assert every_cell(here) == every_cell(there)  # and nobody else's cell differs either

            made = generated(tmp_path / "local")
            assert {k.split("/")[0] for k in made} == {"forms", "reviews", "reports"}
            assert generated(local_root(tmp_path / "here", drive)) == made  # made on this machine, and
            assert generated(drive.root) == made  # uploaded beside the tracker on SharePoint
        assert "fetched from SharePoint" in b.stdout  # the form completed there was read back
        assert drive.state.errors == []
