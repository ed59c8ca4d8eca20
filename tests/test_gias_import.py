"""`import-schools` driven as a subprocess: a changed headteacher clears the old head's email (and
says so by row), the extract is streamed (peak memory does not grow with its size), and progress
is drawn only on a terminal."""

from __future__ import annotations

import csv
import fcntl
import json
import os
import pty
import select
import struct
import subprocess
import sys
import termios
from pathlib import Path

import openpyxl
import pytest

from tests.conftest import SCHOOLS, write_tracker
from tests.test_gias import ACAD, HEADER, LAM, row, write_csv

SCRIPT = Path(sys.executable).with_name("ofsted-tracker")
CLI = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "automation.cli"]
# The real extract has 129 columns; the test module's abridged header is padded out to that.
WIDE = HEADER + [f"Extra{i} (name)" for i in range(129 - len(HEADER))]


def on_a_terminal(args, cwd: Path) -> tuple[int, str, bytes]:
    """Run the command with stderr on a pseudo-terminal: (exit status, stdout, what it drew there)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a terminal has a width
    try:
        proc = subprocess.Popen([*CLI, *map(str, args)], cwd=cwd, stdout=subprocess.PIPE, stderr=slave, text=True)
        os.close(slave)
        drawn = b""
        while True:
            ready, _, _ = select.select([master], [], [], 60)
            if not ready:
                break
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            drawn += chunk
        out, _ = proc.communicate(timeout=60)
    finally:
        os.close(master)
    return proc.returncode, out, drawn


def cli(*args, cwd: Path, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=120, **kw)


def schools(path: Path) -> dict[str, dict]:
    ws = openpyxl.load_workbook(path)["Schools"]
    head = [c.value for c in ws[1]]
    return {str(r[0]): dict(zip(head, r)) for r in ws.iter_rows(min_row=2, values_only=True) if r[0]}


def test_new_headteacher_clears_the_old_heads_email_and_names_the_row(tmp_path):
    tracked = [dict(SCHOOLS[0], **{"Headteacher": "Mrs Ann Acre"}),  # same head, with a title
               dict(SCHOOLS[1], **{"Headteacher email": "b.birch@beech.school.example.org"}),
               {**SCHOOLS[0], "URN": "100003", "School name": "Cedar Primary School", "Headteacher": "",
                "Headteacher email": "head@cedar.school.example.org"}]  # no head named: nothing to compare
    path = write_tracker(tmp_path / "t.xlsx", schools=tracked)
    extract = write_csv(tmp_path / "e.csv", rows=[
        row("100001", "Acorn Primary School", "Community school", LAM, "Open", "Primary", "Ann", "Acre"),
        row("100002", "Beech Academy", "Academy converter", ACAD, "Open", "Secondary", "Cal", "Carter"),
        row("100003", "Cedar Primary School", "Community school", LAM, "Open", "Primary", "Dee", "Dunn")])

    dry = cli("import-schools", path, extract, "--la", "850", "--dry-run", cwd=tmp_path)
    assert dry.returncode == 1, dry.stderr
    assert "row 3, column 'Headteacher email'" in dry.stdout
    assert schools(path)["100002"]["Headteacher email"] == "b.birch@beech.school.example.org"  # dry run

    done = cli("import-schools", path, extract, "--la", "850", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    flagged = [x for x in done.stdout.splitlines() if "new headteacher: check the email" in x]
    assert len(flagged) == 1
    assert "sheet 'Schools', row 3, column 'Headteacher email'" in flagged[0]
    assert "Cal Carter (was Ben Birch)" in flagged[0]
    got = schools(path)
    assert got["100002"]["Headteacher"] == "Cal Carter" and got["100002"]["Headteacher email"] is None
    assert got["100002"]["School email"] == "office@beech.school.example.org"  # the office is still written to
    assert got["100001"]["Headteacher email"] == "head@acorn.school.example.org"  # the same head, kept
    assert got["100003"]["Headteacher email"] == "head@cedar.school.example.org"

    # The officer types the new head's address: the next import leaves it alone and exits 0.
    again = cli("import-schools", path, extract, "--la", "850", cwd=tmp_path)
    assert again.returncode == 0 and "new headteacher" not in again.stdout


def big_extract(path: Path, rows: int, ours_every: int = 50) -> Path:
    """A generated extract in the real width and encoding, about 1 KB a row as the real one is,
    with one establishment in LA 850 for every `ours_every` rows."""
    filler = {h: "Not applicable" if i % 2 == 0 else "" for i, h in enumerate(WIDE)}
    with open(path, "w", encoding="cp1252", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=WIDE, lineterminator="\r\n")
        w.writeheader()
        for i in range(rows):
            r = row(str(200000 + i), f"École Établissement {i}", "Community school", LAM, "Open", "Primary",
                    "Zoë", f"Head{i}", la="850" if i % ours_every == 0 else "851")
            w.writerow({**filler, **{k: v for k, v in r.items() if v}})
    return path


PEAK = """
import json, resource, subprocess, sys
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
print(json.dumps({"rc": done.returncode, "kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
                  "err": done.stderr[-500:]}))
"""


def peak_kb(tmp_path: Path, extract: Path) -> int:
    """The import's peak resident memory (KB), measured around it alone in a fresh process."""
    tracker = write_tracker(tmp_path / f"{extract.stem}.xlsx")
    cmd = [sys.executable, "-c", PEAK, *CLI, "import-schools", str(tracker), str(extract), "--la", "850", "--dry-run"]
    got = json.loads(subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=tmp_path).stdout)
    assert got["rc"] in (0, 1), got["err"]
    return got["kb"]


@pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss is in KB on Linux")
def test_extract_is_streamed_memory_does_not_grow_with_its_size(tmp_path):
    small = big_extract(tmp_path / "small.csv", 1000)
    large = big_extract(tmp_path / "large.csv", 5000)
    assert large.stat().st_size > 4_000_000  # about a tenth of the real 49 MB extract
    a, b = peak_kb(tmp_path, small), peak_kb(tmp_path, large)
    # Reading the whole file would add its bytes and its text (8 MB or more) for the larger one.
    assert b - a < 3_000, (a, b)
    # The rest is the interpreter and the tool's imports (openpyxl, msgspec, lxml, holidays), not the extract.
    assert b < 64_000, b


def test_no_progress_bar_when_not_a_terminal(tmp_path):
    extract = big_extract(tmp_path / "e.csv", 3000)
    tracker = write_tracker(tmp_path / "t.xlsx")
    done = cli("import-schools", tracker, extract, "--la", "850", "--dry-run", cwd=tmp_path)
    assert done.returncode in (0, 1), done.stderr
    for mark in ("\r", "%|", "█", "it/s", "B/s", "Reading the GIAS extract"):
        assert mark not in done.stderr and mark not in done.stdout
    assert "Dry run: the tracker was not changed." in done.stdout


def test_progress_bar_on_a_terminal(tmp_path):
    extract = big_extract(tmp_path / "e.csv", 3000)
    tracker = write_tracker(tmp_path / "t.xlsx")
    code, out, drawn = on_a_terminal(["import-schools", tracker, extract, "--la", "850", "--dry-run"], tmp_path)
    assert code in (0, 1)
    assert b"Reading the GIAS extract" in drawn and b"%" in drawn
    assert "Reading the GIAS extract" not in out  # the report on stdout has no bar in it


def test_oversight_shows_its_stages_on_a_terminal_only(tmp_path):
    """A long `oversight` rebuild shows where it is on a terminal; a pipe (a log, a scheduled
    task) gets the result line alone."""
    tracker = write_tracker(tmp_path / "t.xlsx")
    piped = cli("oversight", tracker, cwd=tmp_path)
    assert piped.returncode == 0, piped.stderr
    assert "Reading the tracker" not in piped.stderr and "Oversight workbook written" in piped.stdout
    code, out, drawn = on_a_terminal(["oversight", tracker], tmp_path)
    assert code == 0
    assert b"Reading the tracker" in drawn or b"Building the oversight workbook" in drawn
    assert "Oversight workbook written" in out and "Reading the tracker" not in out
