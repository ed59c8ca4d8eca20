"""The `run` command driven as a subprocess: --preview-dir never sends, a run whose clock is
behind an earlier run's sends no stale digests, and every run leaves a rotating run log."""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from datetime import datetime
from email import policy
from email.parser import BytesParser
from pathlib import Path

import openpyxl
import pytest

from automation.config import parse_config
from automation.errors import WorkbookError
from automation.runlog import log_path, logged
from tests.conftest import inspection, write_tracker

ROOT = Path(__file__).resolve().parents[1]
from tests.console import cli


@pytest.fixture
def setup(tmp_path):
    """A tracker with one inspection (notified Mon 16/11/2026 12:05) and an outbox config."""
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection()])
    conf = tmp_path / "config.toml"
    conf.write_text('[la]\nname = "Example County Council"\n[mail]\ntransport = "outbox"\noutbox_dir = "outbox"\n',
                    encoding="utf-8")
    return path, conf


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def journal_states(path: Path) -> list[str]:
    journal = path.parent / ".ofsted-tracker" / f"{path.stem}.journal.sqlite"
    if not journal.exists():
        return []
    with sqlite3.connect(journal) as db:
        return [state for (state,) in db.execute("SELECT state FROM sends")]


def email_log(path: Path, template: str) -> list[str]:
    """The Inspection IDs of the Email log's rows for one template."""
    ws = openpyxl.load_workbook(path)["Email log"]
    head = [c.value for c in ws[1]]
    rows = ws.iter_rows(min_row=2, values_only=True)
    return [r[head.index("Inspection ID")] for r in rows if r[head.index("Template")] == template]


def test_preview_dir_alone_sends_nothing_and_changes_nothing(setup, tmp_path):
    path, conf = setup
    before = digest(path)
    done = cli("run", path, "--config", conf, "--now", "2026-11-16T12:20", "--preview-dir", tmp_path / "p", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    [line] = [x for x in done.stdout.splitlines() if x.startswith("Previews of")]
    assert "implies --dry-run" in line and "nothing was sent" in line
    previews = sorted((tmp_path / "p").glob("*.eml"))
    assert previews and len(list((tmp_path / "p").glob("*.html"))) == len(previews)
    assert f"Previews of {len(previews)} message(s)" in line
    assert not (tmp_path / "outbox").exists() or not any((tmp_path / "outbox").iterdir())
    assert "sent" not in journal_states(path)
    assert digest(path) == before
    # The same run without the preview folder does send: the check above is not vacuous.
    done = cli("run", path, "--config", conf, "--now", "2026-11-16T12:20", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == len(previews)
    assert journal_states(path).count("sent") == len(previews) and digest(path) != before


def test_a_run_behind_an_earlier_run_sends_no_stale_digests(setup, tmp_path):
    path, conf = setup
    assert cli("run", path, "--config", conf, "--now", "2026-11-20T09:00", cwd=tmp_path).returncode == 0  # Friday
    assert email_log(path, "digest") == ["DIGEST-20261120"]
    sent = len(list((tmp_path / "outbox").glob("*.eml")))
    # A catch-up run for Thursday, when Sam Imrie had actions coming up (a digest on its own day).
    done = cli("run", path, "--config", conf, "--now", "2026-11-19T09:00", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert email_log(path, "digest") == ["DIGEST-20261120"]
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == sent
    [why] = [x for x in done.stdout.splitlines() if "no daily digest" in x]
    assert "19/11/2026" in why and "Sam Imrie" in why and "20/11/2026" in why
    assert why in log_path(path, parse_config({}, "t")).read_text(encoding="utf-8")  # the run log has it too
    # The next working day is not stale: Monday's digest goes.
    assert cli("run", path, "--config", conf, "--now", "2026-11-23T09:00", cwd=tmp_path).returncode == 0
    assert email_log(path, "digest") == ["DIGEST-20261120", "DIGEST-20261123"]


def test_every_run_appends_to_the_run_log(setup, tmp_path):
    path, conf = setup
    bad = inspection(urn="999999", start=datetime(2026, 11, 18))  # a school not on the Schools sheet
    write_tracker(path, inspections=[inspection(), bad])
    first = cli("run", path, "--config", conf, "--now", "2026-11-16T12:20", cwd=tmp_path)
    second = cli("run", path, "--config", conf, "--now", "2026-11-16T12:35", "--dry-run", cwd=tmp_path)
    assert (first.returncode, second.returncode) == (1, 1)  # the bad row needs an officer
    log = (tmp_path / ".ofsted-tracker" / "t.log").read_text(encoding="utf-8")
    starts = [x for x in log.splitlines() if " run start: " in x]
    assert len(starts) == 2 and all("ofsted-tracker " in x and str(path) in x and str(conf) in x for x in starts)
    assert "now 16/11/2026 12:20 (--now)" in starts[0] and "now 16/11/2026 12:35 (--now); dry run" in starts[1]
    for done in (first, second):  # the terminal's summary, line by line
        for line in done.stdout.splitlines():
            assert line in log
    assert log.count("t.xlsx, run at 16/11/2026") == 2
    assert log.count("run end: exit 1 (something needs an officer's attention)") == 2
    [problem] = {x.split("] ", 1)[1] for x in log.splitlines() if "problem: ERROR" in x and "999999" in x}
    assert " ERROR " in [x for x in log.splitlines() if x.endswith(problem)][0]
    sent = [x for x in log.splitlines() if "delivery: OFS-100001-20261116 contact_plan_school" in x]
    assert len(sent) == 1 and sent[0].split(": ")[-1].startswith("sent [<ofsted-tracker.")
    # Who, what and why (as the terminal says it), never the message itself.
    outbox = sorted((tmp_path / "outbox").glob("*.eml"))
    assert outbox
    said = first.stdout + second.stdout
    for eml in outbox:
        msg = BytesParser(policy=policy.default).parsebytes(eml.read_bytes())
        body = msg.get_body(("plain",)).get_content()
        own = [x.strip() for x in body.splitlines() if len(x.strip()) > 30 and x.strip() not in said
               and x.strip() not in msg["Subject"]]
        assert own and not [x for x in own if x in log]


def test_a_run_stopped_by_an_error_is_logged_with_its_exit_code(setup, tmp_path):
    path, conf = setup
    path.write_bytes(b"this is not a workbook")
    done = cli("run", path, "--config", conf, "--now", "2026-11-16T12:20", cwd=tmp_path)
    assert done.returncode == 4
    message = done.stderr.strip().removeprefix("ofsted-tracker: ")
    log = (tmp_path / ".ofsted-tracker" / "t.log").read_text(encoding="utf-8")
    [stopped] = [x for x in log.splitlines() if " run stopped: " in x]
    assert " ERROR " in stopped and stopped.endswith(f"{message} (exit 4)")
    # A config that cannot be read cannot name its state folder: the default one gets the error.
    conf.write_text('[mail]\ntransport = "pigeon"\n', encoding="utf-8")
    done = cli("run", path, "--config", conf, cwd=tmp_path)
    assert done.returncode == 3 and "pigeon" in done.stderr
    log = (tmp_path / ".ofsted-tracker" / "t.log").read_text(encoding="utf-8")
    [stopped] = [x for x in log.splitlines() if "pigeon" in x]
    assert "run stopped: " in stopped and "(exit 3)" in stopped and "config could not be read" in stopped


def test_the_run_log_rotates(tmp_path):
    path = write_tracker(tmp_path / "t.xlsx")
    cfg = parse_config({}, "embedded default")

    def chatty(log: logging.Logger) -> int:
        for n in range(40):
            log.info("line %d %s", n, "x" * 80)
        return 0

    for _ in range(5):
        assert logged("run", path, cfg, chatty, max_bytes=2000, backups=2) == 0
    with pytest.raises(WorkbookError):
        logged("run", path, cfg, lambda log: (_ for _ in ()).throw(WorkbookError("bad")), max_bytes=2000, backups=2)
    files = sorted(p.name for p in (tmp_path / ".ofsted-tracker").iterdir() if p.name.startswith("t.log"))
    assert files == ["t.log", "t.log.1", "t.log.2"]
    assert all((tmp_path / ".ofsted-tracker" / f).stat().st_size <= 2000 for f in files)
    assert "run stopped: bad (exit 4)" in (tmp_path / ".ofsted-tracker" / "t.log").read_text(encoding="utf-8")


def test_a_log_that_cannot_be_written_never_stops_the_run(setup, tmp_path):
    path, conf = setup
    (tmp_path / ".ofsted-tracker" / "t.log").mkdir(parents=True)  # in the way of the log file
    done = cli("run", path, "--config", conf, "--now", "2026-11-16T12:20", cwd=tmp_path)
    assert done.returncode == 0 and "Traceback" not in done.stderr
    [line] = done.stderr.splitlines()
    assert line.startswith("ofsted-tracker: cannot write the run log ") and "the run carries on" in line
    sent = journal_states(path)
    assert sent and set(sent) == {"sent"} and len(list((tmp_path / "outbox").glob("*.eml"))) == len(sent)


def test_undelivered_outcomes_are_logged_as_warnings(setup, tmp_path):
    path, conf = setup
    conf.write_text(conf.read_text(encoding="utf-8") + 'allowed_domains = ["la.example.org"]\n', encoding="utf-8")
    done = cli("run", path, "--config", conf, "--now", "2026-11-16T12:20", cwd=tmp_path)
    assert done.returncode == 1
    log = (tmp_path / ".ofsted-tracker" / "t.log").read_text(encoding="utf-8").splitlines()
    [school] = [x for x in log if "delivery: OFS-100001-20261116 contact_plan_school v" in x]
    assert " WARNING " in school and "head@acorn.school.example.org" in school and ": blocked" in school
    internal = [x for x in log if "delivery: OFS-100001-20261116 contact_plan_internal v" in x]
    assert internal and all(" INFO " in x and ": sent" in x for x in internal)
