"""Faults of a SharePoint tracker, through the console script against the Graph stand-in: each is
one line and the right exit code, waits as Graph asks, and never loses or repeats what a run did."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from tests.graph_helpers import cfg, drive, tracker  # noqa: F401 (the shared fixtures)
from tests.graph_helpers import item_folder, login, outbox, run, write_config

# Each drives the real console script against the stand-in, often run after run: CI and
# scripts/test.sh run them; a developer's plain `pytest` leaves them out.
pytestmark = pytest.mark.slow


def _cell(tracker: Path, sheet: str, header: str, row: int = 2):
    ws = openpyxl.load_workbook(tracker)[sheet]
    col = next(c.column for c in ws[1] if c.value == header)
    return ws.cell(row, col).value


def _one_line(proc) -> str:
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    return lines[0]


def test_too_many_requests_is_waited_out_as_graph_asks(tmp_path, drive, cfg, tracker):
    drive.state.faults.append(("PATCH range", 429, {"Retry-After": "1"}))
    drive.state.faults.append(("GET usedRange", 503, {"Retry-After": "1"}))
    proc = run(cfg, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert ("PATCH range", 429) in drive.state.fired and ("GET usedRange", 503) in drive.state.fired
    assert _cell(tracker, "Inspections", "Inspection ID").startswith("OFS-100001-")


@pytest.mark.parametrize("status", [423, 409])
def test_a_locked_tracker_defers_the_write_back_and_the_next_run_finishes(tmp_path, drive, cfg, tracker, status):
    # Checked out / open exclusively (423), or an editing conflict (409), when the run comes to write.
    drive.state.faults.append(("POST createSession", status))
    proc = run(cfg, tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Tracker NOT updated" in proc.stdout and "locked" in proc.stdout
    sent = outbox(tmp_path / "sp")
    assert sent, "the messages went: they are in the journal"
    assert _cell(tracker, "Inspections", "Inspection ID") is None
    again = run(cfg, tmp_path, now="2026-11-16T13:20")
    assert again.returncode == 0, again.stdout + again.stderr
    assert _cell(tracker, "Inspections", "Inspection ID").startswith("OFS-100001-")
    assert outbox(tmp_path / "sp") == sent, "nothing sent twice"


def test_an_expired_workbook_session_is_made_again(tmp_path, drive, cfg, tracker):
    drive.state.faults.append(("PATCH range", "session_expired"))
    proc = run(cfg, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert drive.state.count("POST createSession") == 2
    assert _cell(tracker, "Inspections", "Inspection ID").startswith("OFS-100001-")


def test_a_connection_cut_after_a_write_leaves_nothing_half_recorded(tmp_path, drive, cfg, tracker):
    drive.state.faults.append(("PATCH range", "cut_after_apply"))
    proc = run(cfg, tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "cut while writing" in proc.stdout and "the next run" in proc.stdout
    sent = outbox(tmp_path / "sp")
    again = run(cfg, tmp_path, now="2026-11-16T13:20")
    assert again.returncode == 0, again.stdout + again.stderr
    assert outbox(tmp_path / "sp") == sent, "the journal knew what went: nothing sent twice"
    wb = openpyxl.load_workbook(tracker)
    log = wb["Email log"]
    ids = [r[7] for r in log.iter_rows(min_row=2, values_only=True) if any(r)]
    assert ids and len(ids) == len(set(ids)), "each message logged once, the rest written by the next run"
    assert _cell(tracker, "Inspections", "Status")


@pytest.mark.parametrize("fault, words, code", [
    ("missing", "not found", 4),
    ("renamed", "renamed", 4),
    ("denied", "no access", 4),
])
def test_a_missing_file_a_renamed_sheet_or_no_access_is_one_line(tmp_path, drive, cfg, tracker, fault, words, code):
    if fault == "missing":
        drive.delete_file()
    elif fault == "renamed":
        drive.rename_sheet("Email log", "Emails sent")
    else:
        drive.deny()
    proc = run(cfg, tmp_path)
    assert proc.returncode == code, proc.stdout + proc.stderr
    assert words in _one_line(proc)
    assert not list((tmp_path / "sp").rglob("*.eml")), "nothing sent"


@pytest.mark.parametrize("why, words", [
    ("refresh_revoked", "has expired"),
    ("conditional_access", "conditional access"),
    ("mfa_required", "multi-factor"),
])
def test_a_lapsed_sign_in_is_one_line_naming_graph_login_and_nothing_happens(tmp_path, drive, cfg, tracker, why, words):
    before = tracker.read_bytes()
    drive.revoke_refresh_tokens(why)
    drive.expire_access_tokens()
    proc = run(cfg, tmp_path)
    assert proc.returncode == 10, proc.stdout + proc.stderr
    line = _one_line(proc)
    assert "ofsted-tracker graph login" in line and words in line, line
    assert tracker.read_bytes() == before, "nothing written"
    assert not list((tmp_path / "sp").rglob("*.eml")), "nothing sent"
    logs = "".join(p.read_text(encoding="utf-8") for p in (tmp_path / "sp").rglob("*.log"))
    assert "graph login" in logs and "exit 10" in logs


def test_a_second_machine_is_refused_while_the_first_holds_the_lease(tmp_path, drive, cfg, tracker):
    first = run(cfg, tmp_path, env={"OFSTED_TRACKER_MACHINE_NAME": "SCHED-01"})
    assert first.returncode == 0, first.stdout + first.stderr
    other = write_config(tmp_path / "other.toml", drive, tmp_path / "sp2")
    login(other, tmp_path)
    second = run(other, tmp_path, env={"OFSTED_TRACKER_MACHINE_NAME": "SCHED-02"})
    assert second.returncode == 11, second.stdout + second.stderr
    line = _one_line(second)
    assert "SCHED-01" in line and "one scheduler per tracker" in line
    assert not list((tmp_path / "sp2").rglob("*.eml")), "the second machine sent nothing"
    # The lease lives beside the tracker in the drive folder.
    assert "Tracker.ofsted-tracker-lease.json" in drive.files("")
    assert item_folder(tmp_path / "sp").name == drive.item_id


def test_releasing_the_lease_hands_the_tracker_to_another_machine(tmp_path, drive, cfg, tracker):
    import os
    import subprocess

    from tests.console import CLI

    a = {**os.environ, "OFSTED_TRACKER_MACHINE_NAME": "SCHED-01"}
    assert run(cfg, tmp_path, env=a).returncode == 0
    released = subprocess.run([*CLI, "graph", "release", "--config", str(cfg)], cwd=tmp_path, env=a,
                              capture_output=True, text=True, timeout=120)
    assert released.returncode == 0 and "Released" in released.stdout, released.stdout + released.stderr
    other = write_config(tmp_path / "other.toml", drive, tmp_path / "sp2")
    login(other, tmp_path)
    moved = run(other, tmp_path, "--force", now="2026-11-16T13:20", env={"OFSTED_TRACKER_MACHINE_NAME": "SCHED-02"})
    assert moved.returncode == 0, moved.stdout + moved.stderr
    assert b"SCHED-02" in drive.files("")["Tracker.ofsted-tracker-lease.json"]


def test_the_client_batches_in_twenties_and_resends_only_the_throttled_items(drive):
    from automation.graph.client import GraphClient

    waits = []
    client = GraphClient(drive.base_url, lambda refresh: drive.token(), drive.session(), max_wait=10, sleep=waits.append)
    drive.state.faults.append(("GET item", 429, {"Retry-After": "2"}))
    replies = client.batch([{"method": "GET", "url": f"/drives/{drive.drive_id}/items/{drive.item_id}"}] * 45)
    assert [r.status for r in replies] == [200] * 45
    assert waits == [2.0], "waited as Graph asked, once"
    assert [len(b) for b in drive.state.batches] == [20, 20, 5, 1], "≤ 20 a batch; only the throttled one again"


def test_a_server_saying_retry_at_once_for_ever_is_given_up_on_not_looped_on(drive):
    from automation.errors import GraphError
    from automation.graph.client import MAX_TRIES, GraphClient

    waits = []
    client = GraphClient(drive.base_url, lambda refresh: drive.token(), drive.session(), max_wait=120, sleep=waits.append)
    drive.state.faults.append(("GET item", 503, {"Retry-After": "0"}, None))
    url = f"drives/{drive.drive_id}/items/{drive.item_id}"
    with pytest.raises(GraphError, match="busy"):
        client.request("GET", url, what="reading the tracker")
    assert len(waits) == MAX_TRIES - 1 and drive.state.count("GET item") == MAX_TRIES
    waits.clear()
    replies = client.batch([{"method": "GET", "url": "/" + url}] * 3)
    assert [r.status for r in replies] == [503] * 3 and len(waits) == MAX_TRIES - 1


def test_a_lapsed_lease_is_taken_over_and_the_old_machine_then_refused(tmp_path, drive, tracker):
    a = write_config(tmp_path / "a.toml", drive, tmp_path / "spa", lease_minutes=1)
    b = write_config(tmp_path / "b.toml", drive, tmp_path / "spb", lease_minutes=1)
    login(a, tmp_path)
    login(b, tmp_path)
    assert run(a, tmp_path, env={"OFSTED_TRACKER_MACHINE_NAME": "SCHED-01"}).returncode == 0
    # SCHED-01 stopped for longer than its lease: SCHED-02 takes the tracker over.
    took = run(b, tmp_path, now="2026-11-16T13:20", env={"OFSTED_TRACKER_MACHINE_NAME": "SCHED-02"})
    assert took.returncode == 0, took.stdout + took.stderr
    # SCHED-01 comes back: its If-Match on the lease it wrote fails, and the live lease is SCHED-02's.
    back = run(a, tmp_path, now="2026-11-16T13:20", env={"OFSTED_TRACKER_MACHINE_NAME": "SCHED-01"})
    assert back.returncode == 11, back.stdout + back.stderr
    assert "SCHED-02" in _one_line(back)


def test_a_moved_tracker_takes_its_lease_and_generated_files_to_its_new_folder(tmp_path, drive, cfg, tracker):
    a = {"OFSTED_TRACKER_MACHINE_NAME": "SCHED-01"}
    assert run(cfg, tmp_path, env=a).returncode == 0
    assert "Tracker.ofsted-tracker-lease.json" in drive.files("")
    drive.move_file("Archive")  # someone moves the tracker to another folder (its id stays)
    moved = run(cfg, tmp_path, "--force", now="2026-11-16T13:10", env=a)
    assert moved.returncode == 0, moved.stdout + moved.stderr
    there = drive.files("Archive")
    assert b"SCHED-01" in there["Tracker.ofsted-tracker-lease.json"]  # the lease is beside it where it is now
    assert "Tracker.ofsted-tracker-lease.json" not in drive.files(""), "the old folder's lease was deleted"
    assert "reports/Tracker oversight.xlsx" in there  # generated files go beside it there too
    assert "reports/Tracker oversight.xlsx" in drive.files(""), "the old folder's files are left as they were"
    assert "moved to another folder" in moved.stdout
    again = run(cfg, tmp_path, "--force", now="2026-11-16T13:15", env=a)
    assert again.returncode == 0, again.stdout + again.stderr


def test_a_machine_that_took_the_lease_beside_a_moved_tracker_refuses_the_first(tmp_path, drive, cfg, tracker):
    assert run(cfg, tmp_path, env={"OFSTED_TRACKER_MACHINE_NAME": "SCHED-01"}).returncode == 0
    drive.move_file("Archive")
    # Between the move and SCHED-01's next run, SCHED-02 starts: no lease beside the moved tracker, so it takes one.
    other = write_config(tmp_path / "other.toml", drive, tmp_path / "sp2")
    login(other, tmp_path)
    took = run(other, tmp_path, now="2026-11-16T13:10", env={"OFSTED_TRACKER_MACHINE_NAME": "SCHED-02"})
    assert took.returncode == 0, took.stdout + took.stderr
    back = run(cfg, tmp_path, "--force", now="2026-11-16T13:15", env={"OFSTED_TRACKER_MACHINE_NAME": "SCHED-01"})
    assert back.returncode == 11, back.stdout + back.stderr
    line = _one_line(back)
    assert "SCHED-02" in line and "moved to another folder" in line
    assert b"SCHED-02" in drive.files("Archive")["Tracker.ofsted-tracker-lease.json"]


def test_release_after_a_move_gives_up_the_lease_left_in_the_old_folder(tmp_path, drive, cfg, tracker):
    import os
    import subprocess

    from tests.console import CLI

    a = {**os.environ, "OFSTED_TRACKER_MACHINE_NAME": "SCHED-01"}
    assert run(cfg, tmp_path, env=a).returncode == 0
    drive.move_file("Archive")
    released = subprocess.run([*CLI, "graph", "release", "--config", str(cfg)], cwd=tmp_path, env=a,
                              capture_output=True, text=True, timeout=120)
    assert released.returncode == 0 and "Released" in released.stdout, released.stdout + released.stderr
    assert not [k for k in drive.files("") if k.endswith("ofsted-tracker-lease.json")]
