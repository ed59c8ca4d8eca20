"""End-to-end helpers: a tracker of new inspections, the real `ofsted-tracker run` as a
subprocess (killed at chosen moments), and what the mail server actually received, read back
independently of the code under test (by recipients and subject, not by computed keys)."""

from __future__ import annotations

import email
import email.policy
import os
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from email.utils import getaddresses
from pathlib import Path
from typing import Callable

import openpyxl

from tests.conftest import STAFF, inspection, write_tracker

ROOT = Path(__file__).resolve().parents[1]
NOW = "2026-11-16T13:05"  # notified 12:05 today, starting tomorrow: every plan is due now
SIMS = [{"Name": f"Sim Officer{k}", "Role": "SIM", "Email": f"sim{k}@la.example.org"} for k in range(4)]
AIS = [{"Name": f"Ai Adviser{k}", "Role": "AI", "Email": f"ai{k}@la.example.org"} for k in range(4)]
# Journal states in which a message is neither settled nor reported (old and new names).
UNSETTLED = {"queued", "handing_over", "pending", "waiting", "deferred"}


@dataclass(frozen=True)
class School:
    urn: str
    name: str
    head: str
    office: str
    sim: str
    ai: str


def schools(n: int) -> list[School]:
    """n schools, each with its own addresses, spread over several SIMs and AIs."""
    return [School(f"{200001 + i}", f"School Number{i:02d} Primary", f"head{i:02d}@s{i:02d}.school.example.org",
                   f"office{i:02d}@s{i:02d}.school.example.org", SIMS[i % 4]["Email"], AIS[(i // 4) % 4]["Email"])
            for i in range(n)]


def build_tracker(path: Path, n: int) -> list[School]:
    """A tracker with n new inspections, all notified at 12:05 on 16/11/2026, starting the next day."""
    ss = schools(n)
    names = {p["Email"]: p["Name"] for p in SIMS + AIS}
    rows = [{"URN": s.urn, "School name": s.name, "Governance": "Maintained", "Phase": "Primary",
             "School email": s.office, "Headteacher": f"Head {s.urn}", "Headteacher email": s.head,
             "SIM": names[s.sim], "AI": names[s.ai]} for s in ss]
    staff = SIMS + AIS + [p for p in STAFF if p["Role"] not in ("SIM", "AI")]
    write_tracker(path, schools=rows, staff=staff,
                  inspections=[inspection(urn=s.urn, notified=datetime(2026, 11, 16, 12, 5),
                                          start=datetime(2026, 11, 17)) for s in ss])
    return ss


# ---------------------------------------------------------------- the real console script

def start_run(tracker: Path, cfg: Path, env: dict, *extra: str) -> subprocess.Popen:
    """`ofsted-tracker run TRACKER --config CFG --now NOW` as a subprocess."""
    cmd = [sys.executable, "-m", "automation.cli", "run", str(tracker), "--config", str(cfg), "--now", NOW, *extra]
    return subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def finish(proc: subprocess.Popen, timeout: float = 120) -> tuple[int, str]:
    """Wait for a run; (exit code, stdout + stderr)."""
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"the run did not finish within {timeout} s:\n{out}\n{err}")
    return proc.returncode, out + err


def kill_when(proc: subprocess.Popen, ready: Callable[[], bool], then: float, timeout: float = 90) -> bool:
    """SIGKILL the run `then` seconds after `ready()` first holds; False if it ended first."""
    deadline = time.monotonic() + timeout
    while not ready():
        if proc.poll() is not None:
            proc.communicate()
            return False
        if time.monotonic() > deadline:
            proc.kill()
            proc.communicate()
            raise AssertionError("the moment to kill the run never came")
        time.sleep(0.0005)
    time.sleep(then)
    alive = proc.poll() is None
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    return alive


def journal_states(tracker: Path) -> dict[str, str]:
    """{Message-ID: state} straight from the journal's SQLite file ({} before the first run)."""
    path = tracker.parent / ".ofsted-tracker" / f"{tracker.stem}.journal.sqlite"
    if not path.exists():
        return {}
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        return dict(db.execute("SELECT message_id, state FROM sends").fetchall())
    finally:
        db.close()


# ---------------------------------------------------------------- what the server received

@dataclass(frozen=True)
class Received:
    message_id: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    subject: str
    envelope: tuple[str, ...] | None  # SMTP RCPT TO addresses; None for mailbox APIs and files


def parse(data: bytes, envelope=None) -> Received:
    """One message as a mail server or outbox holds it."""
    msg = email.message_from_bytes(data, policy=email.policy.default)
    addrs = lambda h: tuple(a.lower() for _, a in getaddresses([str(v) for v in msg.get_all(h, [])]))
    return Received(str(msg["Message-ID"]), addrs("To"), addrs("Cc"), str(msg["Subject"]),
                    tuple(a.lower() for a in envelope) if envelope is not None else None)


# A Full inspection starting Tuesday 17/11/2026 is on site two days, with a keep-in-touch call
# each day sent as meeting requests (however many messages carry each call's invitations).
CALL_DAYS = ("Tuesday 17 November 2026", "Wednesday 18 November 2026")
KINDS = ("internal", "school", *(f"call {d}" for d in CALL_DAYS))
AT_LEAST_PER_SCHOOL = len(KINDS)  # messages: the plan, the school's copy, one or more per call


def people(s: School, kind: str) -> set[str]:
    """Everyone who must receive the school's plan message of this kind, exactly once."""
    return {"internal": {s.sim, s.ai}, "school": {s.head, s.office, s.sim, s.ai}}.get(kind, {s.ai, s.sim, s.head})


def kind_of(subject: str, recipients, s: School) -> str | None:
    """Which of the school's plan messages a subject and its recipients are (None: not one of its)."""
    if f"{s.name} —" not in subject:
        return "school" if s.head in recipients else None
    days = [d for d in CALL_DAYS if f"{s.name} — {d}" in subject]
    return f"call {days[0]}" if days else "internal"


def classify(got: list[Received], ss: list[School]) -> dict[tuple[int, str], list[Received]]:
    """Each received message against the plan messages the tracker calls for:
    (school index, kind in KINDS) -> messages received. Anything else fails."""
    out: dict[tuple[int, str], list[Received]] = {}
    for r in got:
        found = [(i, k) for i, s in enumerate(ss) if (k := kind_of(r.subject, r.to + r.cc, s))]
        assert len(found) == 1, f"a message the plan does not call for: {r}"
        i, kind = found[0]
        s = ss[i]
        if kind == "internal":
            assert (set(r.to), set(r.cc)) == ({s.sim, s.ai}, set()), f"internal plan to the wrong people: {r}"
        elif kind == "school":
            assert (set(r.to), set(r.cc)) == ({s.head}, {s.office, s.sim, s.ai}), f"school's plan to the wrong people: {r}"
        else:
            assert set(r.to + r.cc) <= people(s, kind), f"{kind} for {s.name} to someone else: {r}"
        if r.envelope is not None:  # SMTP: every address really given to the server
            assert set(r.envelope) == set(r.to) | set(r.cc), r
        out.setdefault((i, kind), []).append(r)
    return out


def log_kind(row: dict, s: School) -> str | None:
    """Which plan message an Email log row is about (its Template and Subject)."""
    template, subject = str(row["Template"] or ""), str(row["Subject"] or "")
    if template in ("contact_plan_internal", "contact_plan_school"):
        return template.removeprefix("contact_plan_")
    if template.startswith("contact_plan_call") and "cancel" not in template:
        days = [d for d in CALL_DAYS if f"{s.name} — {d}" in subject]
        return f"call {days[0]}" if len(days) == 1 else None
    return None


def recipients(row: dict) -> list[str]:
    """An Email log row's Recipients cell as addresses."""
    return [a.strip().lower() for a in str(row["Recipients"] or "").split(",") if a.strip()]


# ---------------------------------------------------------------- the tracker afterwards

def sheet(path: Path, name: str) -> list[dict]:
    """A sheet's rows as dicts by header (openpyxl: the file must open)."""
    wb = openpyxl.load_workbook(path)
    ws = wb[name]
    head = [c.value for c in ws[1]]
    rows = [dict(zip(head, (c.value for c in row))) for row in ws.iter_rows(min_row=2) if any(c.value for c in row)]
    wb.close()
    return rows
