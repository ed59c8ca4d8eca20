"""The send lifecycle end to end, through the real console script as a subprocess: a message
the journal holds but never handed over is delivered exactly once by the next run; a mail
server that is down leaves every message visible as waiting until it is back; a refused Cc
does not stop the school's copy; `mail settle --sent` refuses a message no server ever had;
a corrupt journal is moved aside and nothing the Email log shows as sent goes again."""

from __future__ import annotations

import contextlib
import io
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from automation.cli import main
from automation.mail.transport import outbox_filename
from tests.conftest import inspection, write_tracker
from tests.standins.smtp import SmtpStandIn, _free_port

ROOT = Path(__file__).resolve().parents[1]
NOW = "2026-11-16T12:20"  # Acorn was notified at 12:05, starting tomorrow: its plan is due now
LATER = "2026-11-16T12:50"
HEAD, OFFICE = "head@acorn.school.example.org", "office@acorn.school.example.org"
SIM, AI = "sam.imrie@la.example.org", "alex.inchley@la.example.org"


def cli(*args: str, process: bool = False) -> subprocess.CompletedProcess:
    """The console script: as a scheduler starts it (a process of its own), or, to keep the
    suite quick, its `main` in this process, with the same output and exit status."""
    if process:
        return subprocess.run([sys.executable, "-m", "automation.cli", *args], cwd=ROOT, capture_output=True,
                              text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())


def run(tracker: Path, cfg: Path, now: str = NOW, process: bool = False) -> subprocess.CompletedProcess:
    return cli("run", str(tracker), "--config", str(cfg), "--now", now, process=process)


def smtp_config(path: Path, port: int) -> Path:
    path.write_text('[mail]\ntransport = "smtp"\nsender = "ofsted.support@la.example.org"\n'
                    f'[mail.smtp]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\n'
                    'timeout_seconds = 5\nrate_per_minute = 0\n')
    return path


def journal(tracker: Path) -> list[dict]:
    db = sqlite3.connect(tracker.parent / ".ofsted-tracker" / f"{tracker.stem}.journal.sqlite")
    db.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in db.execute("SELECT * FROM sends ORDER BY rowid")]
    finally:
        db.close()


def sheet(path: Path, name: str) -> list[dict]:
    ws = openpyxl.load_workbook(path)[name]
    head = [c.value for c in ws[1]]
    return [dict(zip(head, (c.value for c in row))) for row in ws.iter_rows(min_row=2) if any(c.value for c in row)]


def row(path: Path) -> dict:
    return sheet(path, "Inspections")[0]


def email_problems(path: Path) -> list[dict]:
    return [p for p in sheet(path, "Problems") if " email (" in str(p.get("Problem", ""))]


@pytest.fixture
def tracker(tmp_path):
    return write_tracker(tmp_path / "t.xlsx", inspections=[inspection()])


def test_a_message_never_handed_over_is_delivered_once_and_only_then_is_the_plan_sent(tmp_path, tracker):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the outbox folder should be")
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[mail]\ntransport = "outbox"\noutbox_dir = "{blocker / "outbox"}"\n')
    first = run(tracker, cfg, process=True)
    assert first.returncode == 1, first.stderr
    assert "Traceback" not in first.stderr + first.stdout
    assert str(blocker / "outbox") in first.stdout and "nothing was marked sent" in first.stdout
    recs = journal(tracker)
    assert recs and {r["state"] for r in recs} == {"waiting"}  # every one recorded, none sent
    assert all(r["content"] for r in recs)  # with its bytes, to be sent exactly as planned
    assert row(tracker)["Status"].startswith("Problem: ") and row(tracker)["Contact plan sent"] is None
    assert email_problems(tracker)

    # A run stopped between recording and handing over leaves the message queued.
    db = sqlite3.connect(tracker.parent / ".ofsted-tracker" / "t.journal.sqlite")
    db.execute("UPDATE sends SET state='queued' WHERE purpose='contact_plan_school'")
    db.commit()
    db.close()
    out = run(tracker, cfg, LATER)
    assert out.returncode == 1 and row(tracker)["Contact plan sent"] is None  # still nowhere to write

    box = tmp_path / "outbox"
    cfg.write_text(f'[mail]\ntransport = "outbox"\noutbox_dir = "{box}"\n')
    second = run(tracker, cfg, LATER)
    assert second.returncode == 0, second.stdout + second.stderr
    recs = journal(tracker)
    assert {r["state"] for r in recs} == {"sent"}
    files = sorted(p.name for p in box.glob("*.eml"))
    assert files == sorted(outbox_filename(r["message_id"]) for r in recs)  # each exactly once
    assert row(tracker)["Status"] == "Plan sent" and row(tracker)["Contact plan sent"] is not None
    assert email_problems(tracker) == []
    third = run(tracker, cfg, "2026-11-16T13:20")
    assert third.returncode == 0 and sorted(p.name for p in box.glob("*.eml")) == files
    assert "No messages are due" in third.stdout


def test_a_mail_server_outage_is_visible_and_everything_goes_once_it_is_back(tmp_path, tracker):
    cfg = smtp_config(tmp_path / "config.toml", _free_port())  # nothing listens there
    first = run(tracker, cfg, process=True)
    assert first.returncode == 1, first.stderr
    assert "MAIL NOT HANDED OVER" in first.stdout and "cannot connect" in first.stdout
    recs = journal(tracker)
    assert len(recs) >= 2 and {r["state"] for r in recs} == {"waiting"}  # the not-tried ones too
    assert all(r["detail"].startswith("waiting since 12:20") for r in recs)
    assert row(tracker)["Status"].startswith("Problem: ")
    problems = email_problems(tracker)
    assert len(problems) == len(recs) and all("not sent yet" in p["Problem"] for p in problems)
    assert all(r["Result"].startswith("waiting") for r in sheet(tracker, "Email log"))

    again = run(tracker, cfg, LATER)
    assert again.returncode == 1
    tried = [r for r in journal(tracker) if r["attempts"]]
    assert tried and all(r["detail"].startswith("waiting since 12:20") for r in journal(tracker))

    with SmtpStandIn(mode="none", auth=False) as server:
        smtp_config(cfg, server.port)
        back = run(tracker, cfg, "2026-11-16T13:20")
        ids = server.state.message_ids()
    assert back.returncode == 0, back.stdout + back.stderr
    recs = journal(tracker)
    assert {r["state"] for r in recs} == {"sent"}
    assert sorted(ids) == sorted(r["message_id"] for r in recs)  # every one, each once
    assert email_problems(tracker) == [] and row(tracker)["Status"] == "Plan sent"


def test_a_refused_cc_does_not_stop_the_school_and_its_correction_reaches_only_that_address(tmp_path, tracker):
    with SmtpStandIn(mode="none", auth=False) as server:
        server.state.reject.add(OFFICE)
        cfg = smtp_config(tmp_path / "config.toml", server.port)
        first = run(tracker, cfg)
        school = next(r for r in journal(tracker) if r["purpose"] == "contact_plan_school")
        got = [m for m in server.state.messages if m["message_id"] == school["message_id"]]
        to_head = len([m for m in server.state.messages if HEAD in m["rcpt"]])
        assert first.returncode == 1, first.stdout + first.stderr
        assert len(got) == 1 and sorted(got[0]["rcpt"]) == sorted([HEAD, SIM, AI])
        assert school["state"] == "sent" and OFFICE in school["refused"]
        assert row(tracker)["Status"] == f"Problem: contact plan school email refused by {OFFICE} — see Email log"
        assert any(p["Value"] == OFFICE and "550 5.1.1" in p["Problem"] for p in email_problems(tracker))
        assert row(tracker)["Contact plan sent"] is not None  # the school has its acknowledgement

        wb = openpyxl.load_workbook(tracker)
        ws = wb["Schools"]
        ws.cell(2, [c.value for c in ws[1]].index("School email") + 1, "admin@acorn.school.example.org")
        wb.save(tracker)
        second = run(tracker, cfg, LATER)
        plan_copies = [m for m in server.state.messages if m["message_id"] != school["message_id"]
                       and "admin@acorn.school.example.org" in m["rcpt"]]
    assert second.returncode == 0, second.stdout + second.stderr
    assert [m["rcpt"] for m in plan_copies] == [["admin@acorn.school.example.org"]]  # to the corrected address alone
    assert len([m for m in server.state.messages if HEAD in m["rcpt"]]) == to_head  # nobody else twice
    assert not [p for p in email_problems(tracker) if "refused" in p["Problem"]]


def test_a_temporary_refusal_of_the_sim_is_tried_again_for_the_sim_alone(tmp_path, tracker):
    with SmtpStandIn(mode="none", auth=False) as server:
        server.state.refuse[SIM] = "450 4.2.1 Mailbox busy, try again later"
        cfg = smtp_config(tmp_path / "config.toml", server.port)
        first = run(tracker, cfg)
        school = next(r for r in journal(tracker) if r["purpose"] == "contact_plan_school")
        assert first.returncode == 1
        assert [sorted(m["rcpt"]) for m in server.state.messages if m["message_id"] == school["message_id"]] \
            == [sorted([HEAD, OFFICE, AI])]
        server.state.refuse.clear()
        second = run(tracker, cfg, LATER)
        to_sim = [m for m in server.state.messages if m["rcpt"] == [SIM]]
    assert second.returncode == 0, second.stdout
    assert {m["message_id"] for m in to_sim}  # the SIM now has the copies it missed, alone
    assert email_problems(tracker) == []


def test_settle_sent_refuses_a_message_never_handed_to_a_server(tmp_path, tracker):
    cfg = smtp_config(tmp_path / "config.toml", _free_port())
    assert run(tracker, cfg).returncode == 1
    waiting = journal(tracker)[0]
    out = cli("mail", "settle", str(tracker), waiting["message_id"], "--sent", "--config", str(cfg))
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "never handed to a mail server" in lines[0] and waiting["message_id"] in lines[0]
    assert journal(tracker)[0]["state"] == "waiting"
    listed = cli("mail", "unsettled", str(tracker), "--config", str(cfg))
    n = len(journal(tracker))
    assert listed.returncode == 0 and f"{n} messages not sent ({n} waiting)" in listed.stdout


def test_an_unconfirmed_smtp_message_asks_the_recipient_and_settle_sent_takes_it(tmp_path, tracker):
    with SmtpStandIn(mode="none", auth=False) as server:
        server.state.faults.append("drop_after_data")
        cfg = smtp_config(tmp_path / "config.toml", server.port)
        first = run(tracker, cfg)
    assert first.returncode == 1
    rec = next(r for r in journal(tracker) if r["state"] == "unconfirmed")
    problem = next(p for p in email_problems(tracker) if rec["message_id"] in p["Problem"])
    assert "ask the recipient" in problem["What to do"] and "check the shared mailbox" not in problem["What to do"]
    out = cli("mail", "settle", str(tracker), rec["message_id"], "--sent", "--config", str(cfg))
    assert out.returncode == 0, out.stderr
    assert next(r for r in journal(tracker) if r["key"] == rec["key"])["state"] == "sent"


def test_a_corrupt_journal_is_moved_aside_and_nothing_is_sent_again(tmp_path, tracker):
    box = tmp_path / "outbox"
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[mail]\ntransport = "outbox"\noutbox_dir = "{box}"\n')
    assert run(tracker, cfg).returncode == 0
    before = sorted(p.name for p in box.glob("*.eml"))
    path = tracker.parent / ".ofsted-tracker" / "t.journal.sqlite"
    path.write_bytes(b"\x00garbage, not a database\xff" * 64)
    out = run(tracker, cfg, LATER, process=True)
    assert "Traceback" not in out.stderr + out.stdout
    assert out.returncode == 0, out.stdout + out.stderr
    moved = list(path.parent.glob("t.journal.sqlite.corrupt-*"))
    assert len(moved) == 1 and moved[0].name in out.stdout and "moved aside" in out.stdout
    assert sorted(p.name for p in box.glob("*.eml")) == before  # nothing re-sent
    assert any("moved aside" in str(p["Problem"]) for p in sheet(tracker, "Problems"))


def test_a_truncated_journal_is_moved_aside_too(tmp_path, tracker):
    box = tmp_path / "outbox"
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[mail]\ntransport = "outbox"\noutbox_dir = "{box}"\n')
    assert run(tracker, cfg).returncode == 0
    path = tracker.parent / ".ofsted-tracker" / "t.journal.sqlite"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    before = sorted(p.name for p in box.glob("*.eml"))
    out = run(tracker, cfg, LATER)
    assert "Traceback" not in out.stderr + out.stdout, out.stderr
    assert list(path.parent.glob("t.journal.sqlite.corrupt-*")) and sorted(p.name for p in box.glob("*.eml")) == before


def test_an_unwritable_state_folder_is_one_line_and_nothing_is_sent(tmp_path, tracker):
    blocker = tmp_path / "state-is-a-file"
    blocker.write_text("not a folder")
    box = tmp_path / "outbox"
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[mail]\ntransport = "outbox"\noutbox_dir = "{box}"\n[paths]\nstate_dir = "{blocker / "state"}"\n')
    out = run(tracker, cfg)
    assert out.returncode == 7, out.stdout + out.stderr
    assert "Traceback" not in out.stderr
    mine = [line for line in out.stderr.splitlines() if "send journal and run lock" in line]
    assert len(mine) == 1 and str(blocker / "state") in mine[0] and "nothing was sent" in mine[0]
    assert not box.exists()


def test_one_officers_refused_digest_stays_visible_while_the_others_get_theirs(tmp_path):
    """A day's digests share an inspection id and purpose, one per officer: another officer's
    digest getting through must not stand in for the one that did not."""
    import re

    tracker = tmp_path / "sample.xlsx"
    assert cli("sample", str(tracker), "--today", "2026-12-03").returncode == 0
    with SmtpStandIn(mode="none", auth=False) as server:
        cfg = smtp_config(tmp_path / "config.toml", server.port)
        planned = cli("run", str(tracker), "--config", str(cfg), "--now", "2026-12-03T09:00", "--dry-run").stdout
        officers = re.findall(r"DIGEST-\d+\s+digest\s+to (\S+)", planned)
        assert len(officers) >= 2, planned
        refused = officers[0].strip(",")
        server.state.refuse[refused.lower()] = "550 5.1.1 No such user"
        first = run(tracker, cfg, "2026-12-03T09:00")
        again = run(tracker, cfg, "2026-12-03T09:15")
        delivered = {r for m in server.state.messages for r in m["rcpt"]}
    assert first.returncode == 1 and again.returncode == 1, again.stdout
    assert {o.strip(",") for o in officers[1:]} <= delivered and refused not in delivered
    assert [p for p in email_problems(tracker) if "digest" in p["Problem"]
            and (refused in str(p["Value"]) or refused in p["Problem"])]
