"""After faults, through the console script: an email the mail server keeps refusing is one
problem on the Problems sheet from the first run that found it (each try changes the count in
its text, "4 tries", never its row or its Found at); and the half-written outbox file a killed
run leaves is cleared by a later run."""

from __future__ import annotations

import socket
from datetime import datetime

import openpyxl

from automation.rules import load_rules
from automation.workbook.sample import build_sample
from tests.console import cli


def _closed_port() -> int:
    with socket.socket() as s:  # bound and closed again: nothing listens there
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _waiting(path) -> list[tuple]:
    ws = openpyxl.load_workbook(path)["Problems"]
    head = [c.value for c in ws[1]]
    rows = [dict(zip(head, r)) for r in ws.iter_rows(min_row=2, values_only=True)]
    return [(n, r["Found at"], r["Problem"]) for n, r in enumerate(rows, start=2)
            if r["Problem"] and "not sent yet" in str(r["Problem"])]


def test_a_waiting_email_keeps_its_row_and_found_at_as_its_tries_go_up(tmp_path):
    path = tmp_path / "tracker.xlsx"
    build_sample(path, load_rules(None), datetime(2026, 12, 1).date())
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[la]\nname = "Example County Council"\n[mail]\ntransport = "smtp"\nsender = "ofsted@la.example.org"\n'
                   f'[mail.smtp]\nhost = "127.0.0.1"\nport = {_closed_port()}\nsecurity = "none"\n')
    seen = []
    for at in ("2026-12-01T08:30", "2026-12-01T08:45", "2026-12-01T09:00"):
        p = cli("run", str(path), "--config", str(cfg), "--now", at, cwd=tmp_path)
        assert p.returncode == 1, p.stdout + p.stderr  # undelivered: an officer is told
        seen.append(_waiting(path))
    first, last = seen[0], seen[-1]
    assert first and len(last) == len(first)
    assert [(n, found) for n, found, _ in last] == [(n, found) for n, found, _ in first]
    assert any(a != b for (_, _, a), (_, _, b) in zip(first, last)), "the tries are counted in the text"


def test_a_killed_runs_half_written_outbox_file_is_cleared_by_a_later_run(tmp_path):
    import os
    import time

    path = tmp_path / "tracker.xlsx"
    build_sample(path, load_rules(None), datetime(2026, 12, 1).date())
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    stale, fresh = outbox / ".sending-killed.tmp", outbox / ".sending-other-tracker.tmp"
    stale.write_bytes(b"From: half a message")
    fresh.write_bytes(b"From: another run, writing now")
    old = time.time() - 2 * 3600
    os.utime(stale, (old, old))
    p = cli("run", str(path), "--now", "2026-12-01T08:30", cwd=tmp_path)
    assert p.returncode in (0, 1), p.stdout + p.stderr
    assert list(outbox.glob("*.eml")), "the run wrote its messages"
    assert not stale.exists()  # a killed run's leftover, an hour old
    assert fresh.exists()  # maybe another tracker's run sharing the folder: left alone
