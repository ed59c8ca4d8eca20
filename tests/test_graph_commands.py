"""Every command that takes a tracker takes the SharePoint/OneDrive one too (its URL, or none given:
[sharepoint] tracker), through the real console script against the Graph stand-in, and does what it
does for the same tracker as a local file: follow-ups, forms, review, oversight, summary, mail
unsettled / settle, schedule; import-schools reads it for a dry run and refuses to write it.

One sample tracker, copied to a local folder and to the stand-in's drive; the service account signs
in once; each command is run on both and the results compared."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest

from tests.console import CLI, cli
from tests.sharepoint_run import local_config, local_root, sharepoint_config, sign_in
from tests.standins.graph_drive import GraphDrive
from tests.test_forms_run import DONE, fill
from tests.test_gias import LAM, row, write_csv
from tests.test_graph_equivalence import every_cell, generated, messages

# Each runs the real console script against the stand-in several times over (whole sample
# trackers): CI and scripts/test.sh run them; a developer's plain `pytest` leaves them out.
pytestmark = pytest.mark.slow

NAME = "Ofsted tracker.xlsx"
DAY, NEXT = "2026-11-18T10:00", "2026-11-19T09:00"
TERM = "2026-27 Autumn"


class Both:
    """The same tracker as a local file and on the stand-in's drive, with a config for each."""

    def __init__(self, tmp: Path, drive: GraphDrive):
        self.tmp, self.drive = tmp, drive
        self.file = tmp / "local" / NAME
        self.lcfg = local_config(tmp / "local.toml", tmp / "outbox-local")
        self.scfg = sharepoint_config(tmp / "sharepoint.toml", drive, tmp / "here", tmp / "outbox-sharepoint")
        self.here = tmp / "here"

    @property
    def mine(self) -> Path:
        """This machine's folder for the SharePoint tracker (state and generated files)."""
        return local_root(self.here, self.drive)

    def remote(self, *args, url: bool = True):
        """The command on the SharePoint tracker, named by its URL (url=False: from the config)."""
        return cli(*self._remote(args, url), cwd=self.tmp)

    def _remote(self, args, url: bool) -> list:
        head, rest = args[0] if isinstance(args[0], tuple) else (args[0],), args[1:]
        return [*head, *([self.drive.web_url] if url else []), *rest, "--config", self.scfg]

    def pair(self, local: tuple, remote: tuple, url: bool = True):
        """The command on the file and on SharePoint at the same time (two processes, independent trackers)."""
        procs = [subprocess.Popen([*CLI, *map(str, argv)], cwd=self.tmp, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
                 for argv in ([*local, "--config", self.lcfg], self._remote(remote, url))]
        done = []
        for p in procs:
            out, err = p.communicate(timeout=120)
            done.append(subprocess.CompletedProcess(p.args, p.returncode, out, err))
        return done

    def same(self, a, b) -> None:
        """Both ended alike, and the tracker's every cell is the same in both."""
        assert a.returncode == b.returncode, a.stdout + a.stderr + "\n----\n" + b.stdout + b.stderr
        assert every_cell(openpyxl.load_workbook(self.file)) == every_cell(self.drive.workbook())


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    """Follow-ups compiled on the fresh sample (both ways, compared in the first test), then one run each."""
    tmp = tmp_path_factory.mktemp("graph-commands")
    assert cli("sample", tmp / "sample.xlsx", "--today", "2026-11-18", cwd=tmp).returncode == 0
    for where in ("local", "site"):
        (tmp / where).mkdir()
        shutil.copy(tmp / "sample.xlsx", tmp / where / NAME)
    with GraphDrive(tmp / "site" / NAME) as drive:
        b = Both(tmp, drive)
        sign_in(b.scfg, tmp)
        b.follow_ups = b.pair(("follow-ups", b.file, "--now", DAY), ("follow-ups", "--now", DAY))
        b.cells_after_follow_ups = (every_cell(openpyxl.load_workbook(b.file)), every_cell(drive.workbook()))
        b.runs = b.pair(("run", b.file, "--now", DAY), ("run", "--now", DAY), url=False)
        yield b
        assert drive.state.errors == []


def test_follow_ups_writes_the_same_sheet_through_sharepoint(both):
    a, b = both.follow_ups
    assert a.returncode == b.returncode == 0, a.stdout + a.stderr + b.stdout + b.stderr
    assert "Tracker updated (" in b.stdout
    assert a.stdout.splitlines()[:-1] == b.stdout.splitlines()[:-1]  # the same actions listed
    here, there = both.cells_after_follow_ups
    assert any(r and r[0] for r in here["Follow-ups"][1:])  # actions were compiled
    assert here == there
    logs = list(both.mine.rglob("*.log"))  # logged on this machine, in the tracker's state folder
    assert any("follow-ups start" in p.read_text() for p in logs), logs
    # and the run after it went as the file's did
    assert both.runs[0].returncode == both.runs[1].returncode


def test_review_oversight_and_summary_are_written_here_and_uploaded_beside_the_tracker(both):
    first = openpyxl.load_workbook(both.file)["Inspections"]["A2"].value
    assert first
    for cmd in (("review", first), ("oversight",), ("summary", "--term", TERM)):
        a, b = both.pair((cmd[0], both.file, *cmd[1:], "--now", NEXT), (cmd[0], *cmd[1:], "--now", NEXT),
                         url=cmd[0] != "oversight")  # oversight: the tracker from the config
        assert a.returncode == b.returncode == 0, a.stdout + a.stderr + b.stdout + b.stderr
        assert "Uploaded to SharePoint beside the tracker" in b.stdout, b.stdout
    made = generated(both.tmp / "local")
    assert any(k.startswith("reviews/") for k in made) and any(k.startswith("reports/") for k in made)
    remote_made = generated(both.mine)
    for name in made:
        if name.endswith((".xlsx",)) and not name.startswith("forms/"):
            assert remote_made[name] == made[name], name  # the same checklist and oversight workbook, by cells
    on_drive = generated(both.drive.root)
    assert set(remote_made) <= set(on_drive)  # every one of them beside the tracker on SharePoint
    summaries = [k for k in made if k.startswith("reports/") and k.endswith(".html")]
    assert summaries and all(k in on_drive for k in summaries)


@pytest.mark.slow  # a run on each tracker again (~10 s); test_graph_equivalence covers the run's same pull
def test_forms_reads_a_form_completed_on_sharepoint_and_shares_it(both):
    first = sorted((both.tmp / "local" / "forms").glob("*.xlsx"))[0].name
    fill(both.tmp / "local" / "forms" / first, DONE)
    fill(both.drive.root / "forms" / first, DONE)
    a, b = both.pair(("forms", both.file, "--now", NEXT), ("forms", "--now", NEXT))
    both.same(a, b)
    assert "fetched from SharePoint" in b.stdout, b.stdout
    assert "completed form(s) in the folder, their answers in the tracker" in b.stdout
    here, there = messages(both.tmp / "outbox-local"), messages(both.tmp / "outbox-sharepoint")
    assert sorted(here) == sorted(there) and all(here[k] == there[k] for k in here)


def test_mail_unsettled_and_settle_use_this_machines_journal_of_the_sharepoint_tracker(both):
    a, b = both.pair(("mail", "unsettled", both.file), (("mail", "unsettled"),))
    assert a.returncode == b.returncode and a.stdout == b.stdout, a.stdout + a.stderr + b.stdout + b.stderr
    log = openpyxl.load_workbook(both.file)["Email log"]
    head = [c.value for c in log[1]]
    sent = next(r[head.index("Message ID")] for r in log.iter_rows(min_row=2, values_only=True)
                if r[head.index("Message ID")])
    b = both.remote(("mail", "settle"), sent, "--sent")
    assert b.returncode == 0 and b.stdout == f"{sent} is already recorded as sent; nothing changed.\n", b.stdout + b.stderr
    c = both.remote(("mail", "settle"), "<nosuch@x>", "--sent", url=False)  # the tracker from the config
    assert c.returncode == 2 and f"in the journal of {NAME}" in c.stderr, c.stderr


def test_schedule_runs_the_tracker_from_the_config_with_no_file_path(both):
    for url in (False, True):  # the tracker from the config, or the same URL named on the command line
        p = both.remote("schedule", url=url)
        assert p.returncode == 0, p.stderr
        task = next(line for line in p.stdout.splitlines() if "schtasks /Create" in line)
        assert f"-m automation run --config {both.scfg}" in task and "/TN \"ofsted-tracker Ofsted tracker\"" in task
        cron = next(line for line in p.stdout.splitlines() if "* * 1-5" in line)
        assert f"automation run --config {both.scfg} >" in cron and str(both.mine) in cron  # the log on this machine
        assert "graph login" in p.stdout and "exit 0xA" in p.stdout
    other = cli("schedule", "drive:b!other/item:01OTHER", "--config", both.scfg, cwd=both.tmp)
    assert other.returncode == 3 and "[sharepoint] tracker" in other.stderr and len(other.stderr.splitlines()) == 1


def test_import_schools_shows_the_changes_of_a_sharepoint_tracker_and_refuses_to_write_it(both):
    urn = openpyxl.load_workbook(both.file)["Schools"]["A2"].value
    extract = write_csv(both.tmp / "gias.csv", rows=[
        row(urn, "Ashcombe Primary School", "Community school", LAM, "Open", "Primary", "Ann", "Acre")])
    a, b = both.pair(("import-schools", both.file, extract, "--la", "850", "--dry-run"),
                     ("import-schools", extract, "--la", "850", "--dry-run"))
    assert a.returncode == b.returncode and a.stdout == b.stdout, a.stdout + a.stderr + b.stdout + b.stderr
    assert "Headteacher" in b.stdout
    before = every_cell(both.drive.workbook())
    c = both.remote("import-schools", extract, "--la", "850")
    assert c.returncode == 2 and "--dry-run" in c.stderr and len(c.stderr.strip().splitlines()) == 1, c.stderr
    assert every_cell(both.drive.workbook()) == before  # nothing written


def test_follow_ups_is_refused_while_another_machine_holds_the_lease(both):
    """The schedule moved to another machine (its lease beside the tracker): follow-ups here writes nothing."""
    lease = both.drive.home / "Ofsted tracker.ofsted-tracker-lease.json"
    lease.write_text(json.dumps({"machine": "another-pc", "renewed": "2026-11-19T10:00:00+00:00",
                                 "expires": "2026-11-19T23:00:00+00:00", "tracker": NAME}))
    before = every_cell(both.drive.workbook())
    try:
        # past half the lease time of this machine's last run (DAY, or NEXT with the slow forms test), so
        # it looks at the lease on the drive again
        p = both.remote("follow-ups", "--now", "2026-11-19T10:30", url=False)
    finally:
        lease.unlink()
    assert p.returncode == 11 and "'another-pc'" in p.stderr and len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert every_cell(both.drive.workbook()) == before  # nothing written
