"""Benchmark, like with like: every figure is a whole process (the console script, or a
small Python process doing the floor's work), timed from outside with its peak memory
(GNU time's maximum resident set). Medians of --repeat runs. Prints figures; not a test.

  (a) an unchanged run (skipped), the same run with --force (reads and checks everything,
      writes nothing), against `ofsted-tracker --version` (start-up), a calamine read of
      the same file, and a byte copy of it;
  (b) a run that finds 20 new inspections, against a calamine read plus the least write:
      re-zipping the file with exactly the parts that run changed recompressed;
  (d) every command at each size, with peak memory, against the tracker's XML size.

Trackers are generated in bench/data/ (trackers.generate), caught up once with a real
run at 07:00 on the bench day, then run until a run changes nothing. The 20-new run is the
09:30 run, after a 09:15 run (not timed) has done the morning's work. Usage:

    .venv/bin/python bench/bench_perf.py [--rows 1000 10000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import zipfile
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import trackers  # noqa: E402

DATA = ROOT / "bench" / "data"
EXE = str(Path(sys.executable).with_name("ofsted-tracker"))
PY = sys.executable
TIME = "/usr/bin/time"
DAY = "2026-11-19"  # a Thursday (trackers.TODAY)
EVENING = f"{DAY}T20:"  # after working hours: the skip may apply until midnight
MORNING = f"{DAY}T07:"  # the trackers are caught up before the day's work starts

CALAMINE_READ = """
import sys, python_calamine
wb = python_calamine.CalamineWorkbook.from_path(sys.argv[1])
n = sum(len(wb.get_sheet_by_name(s).to_python()) for s in wb.sheet_names)
"""

LEAST_WRITE = """
import sys, zipfile, python_calamine
src, dst, changed = sys.argv[1], sys.argv[2], set(sys.argv[3].split(","))
wb = python_calamine.CalamineWorkbook.from_path(src)
n = sum(len(wb.get_sheet_by_name(s).to_python()) for s in wb.sheet_names)
with zipfile.ZipFile(src) as z, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as out:
    for info in z.infolist():
        if info.filename in changed:
            out.writestr(info, z.read(info.filename))  # decompress and recompress: what a write costs
        else:
            with z.open(info) as fh:
                out.writestr(info, fh.read())
"""


def measure(argv: list[str], cwd: Path, repeat: int, fresh=None, expect=(0,)) -> tuple[float, float, str]:
    """(median seconds, median peak MB, last stdout) of argv run repeat times, each a fresh process."""
    secs, mbs, out = [], [], ""
    for i in range(repeat):
        if fresh is not None:
            argv, cwd = fresh(i)
        p = subprocess.run([TIME, "-f", "@@%e %M", *argv], cwd=cwd, capture_output=True, text=True)
        tail = [ln for ln in p.stderr.splitlines() if ln.startswith("@@")][-1]
        s, kb = tail[2:].split()
        if p.returncode not in expect:
            why = (p.stdout.strip().splitlines() or p.stderr.strip().splitlines() or ["?"])[-1]
            raise Failed(f"exited {p.returncode}: {why[:160]}")
        secs.append(float(s))
        mbs.append(int(kb) / 1024)
        out = p.stdout
    return statistics.median(secs), statistics.median(mbs), out


class Failed(Exception):
    """A timed process that did not finish as expected (reported in place of its figure)."""


def xml_mb(path: Path) -> float:
    with zipfile.ZipFile(path) as z:
        return sum(i.file_size for i in z.infolist()) / 1e6


def settle(n: int) -> Path:
    """A caught-up tracker of n inspection rows in its own folder (its state folder beside it)."""
    folder = DATA / f"settled_am_{n}"
    path = folder / "tracker.xlsx"
    if path.exists():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    trackers.generate(path, n)
    for minute in ("00", "01", "02", "03"):
        p = subprocess.run([EXE, "run", str(path), "--now", f"{MORNING}{minute}"], cwd=folder, capture_output=True, text=True)
        if p.returncode not in (0, 1):
            raise SystemExit(p.stdout + p.stderr)
        if "Nothing changed" in p.stdout or "already up to date" in p.stdout:
            break
    return path


def copy_of(settled: Path, where: Path) -> Path:
    """A copy of a settled tracker with its state, forms and reports folders."""
    if where.exists():
        shutil.rmtree(where)
    shutil.copytree(settled.parent, where)
    return where / settled.name


def add_new_inspections(path: Path, count: int) -> None:
    """count inspections notified this morning (renewed framework: Full), appended to the Inspections sheet (the tool's writer)."""
    from automation.workbook.reader import read_workbook
    from automation.workbook.writer import SheetEdit, apply_edits

    raw = read_workbook(path)
    sheet = raw.sheets["Inspections"]
    cols = sheet.columns
    first = max(n for n, c in sheet.rows if c) + 1
    edit = SheetEdit("Inspections", header_row=sheet.header_row, append_from=first)
    day = datetime.fromisoformat(DAY)
    for k in range(count):
        row = first + k
        values = {"URN": str(100000 + 4000 + k), "Inspection type": "Full", "Notified at": day.replace(hour=8, minute=k),
                  "Start date": day + timedelta(days=1), "Lead inspector": "Inspector 1"}
        for h, v in values.items():
            edit.cells[(row, cols[h])] = v
    apply_edits(path, [edit], raw.digest)


def with_new_inspections(settled: Path, where: Path) -> Path:
    """A copy of a settled tracker whose 09:15 run has done the morning's work (the day's digests,
    say), with 20 inspections notified this morning added; before.xlsx beside it. The 09:30 run is
    then the one that finds the 20 new rows, as a scheduled run would."""
    path = copy_of(settled, where)
    p = subprocess.run([EXE, "run", str(path), "--now", f"{DAY}T09:15"], cwd=path.parent, capture_output=True, text=True)
    if p.returncode not in (0, 1):
        raise Failed(f"the 09:15 run exited {p.returncode}: {(p.stdout + p.stderr).strip()[-300:]}")
    add_new_inspections(path, 20)
    shutil.copy(path, path.with_name("before.xlsx"))
    return path


def changed_parts(before: Path, after: Path) -> list[str]:
    with zipfile.ZipFile(before) as a, zipfile.ZipFile(after) as b:
        old = {i.filename: i.CRC for i in a.infolist()}
        return [i.filename for i in b.infolist() if old.get(i.filename) != i.CRC]


def bench(n: int, repeat: int) -> None:
    settled = settle(n)
    work = Path(tempfile.mkdtemp(prefix=f"ofsted-perf-{n}-"))
    try:
        path = copy_of(settled, work / "a")
        print(f"\n{n:,} inspection rows: file {path.stat().st_size / 1e6:.1f} MB, XML {xml_mb(path):.1f} MB uncompressed")
        rows = []

        def row(label, argv, cwd=path.parent, fresh=None, expect=(0,)):
            try:
                s, mb, out = measure(argv, cwd, repeat, fresh, expect)
            except Failed as exc:
                print(f"  {label:<52} FAILED ({exc})", flush=True)
                return float("nan"), ""
            rows.append((label, s, mb))
            print(f"  {label:<52} {s:7.2f} s {mb:7.0f} MB", flush=True)
            return s, out

        start, _ = row("ofsted-tracker --version (start-up)", [EXE, "--version"])
        copy, _ = row("byte copy (cp)", ["cp", str(path), str(work / "copy.xlsx")])
        read, _ = row("calamine read, every sheet (python process)", [PY, "-c", CALAMINE_READ, str(path)])
        # (a) two runs settle it, then the third is the skip
        subprocess.run([EXE, "run", str(path), "--now", f"{EVENING}10"], cwd=path.parent, capture_output=True)
        subprocess.run([EXE, "run", str(path), "--now", f"{EVENING}11"], cwd=path.parent, capture_output=True)
        skip, out = row("run, nothing changed (skipped)", [EXE, "run", str(path), "--now", f"{EVENING}20"], expect=(0, 1))
        if "skipped" not in out:
            print(f"    (not skipped: {out.strip().splitlines()[-1] if out.strip() else out})")
        forced, _ = row("run --force, nothing changed (reads, writes nothing)",
                        [EXE, "run", str(path), "--now", f"{EVENING}21", "--force"], expect=(0, 1))
        print(f"  => skipped run / start-up = {skip / start:.2f} (target <= 2); --force run / calamine read = {forced / read:.1f}")

        # (b) 20 new inspections: a fresh copy for every repeat (the run sends and writes)
        def fresh_new(i):
            p = with_new_inspections(settled, work / f"new{i}")
            return [EXE, "run", str(p), "--now", f"{DAY}T09:30"], p.parent
        new, _ = row("run, 20 new inspections (sends and writes)", None, fresh=fresh_new, expect=(0, 1))
        last = work / f"new{repeat - 1}"
        parts = changed_parts(last / "before.xlsx", last / "tracker.xlsx")
        least, _ = row(f"calamine read + re-zip {len(parts)} changed part(s)",
                       [PY, "-c", LEAST_WRITE, str(last / "before.xlsx"), str(work / "least.xlsx"), ",".join(parts)])
        print(f"  => 20-new run / (read + least write) = {new / least:.1f} (target <= 2)")

        # (d) every command on the settled tracker
        iid = _an_inspection_id(path)
        for label, argv in (
            ("validate", ["validate", str(path)]),
            ("run --dry-run", ["run", str(path), "--now", f"{DAY}T09:30", "--dry-run"]),
            ("follow-ups --dry-run", ["follow-ups", str(path), "--now", f"{DAY}T09:30", "--dry-run"]),
            (f"review {iid}", ["review", str(path), iid, "--now", f"{DAY}T09:30", "--replace"]),
            ("oversight", ["oversight", str(path), "--now", f"{DAY}T09:30"]),
            ("forms", ["forms", str(path), "--now", f"{DAY}T09:30"]),
            ("mail unsettled", ["mail", "unsettled", str(path)]),
        ):
            s, _ = row(label, [EXE, *argv], expect=(0, 1))
        peak = max(mb for _, _, mb in rows)
        if not any(label.startswith("review") for label, _, _ in rows):
            rows.append(("review", float("nan"), 0))
        print(f"  => review / calamine read = {_find(rows, 'review') / read:.1f} (target <= 2); "
              f"peak memory {peak:.0f} MB = {peak / xml_mb(path):.1f} x XML size (target <= 3)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _find(rows, prefix):
    return next(s for label, s, _ in rows if label.startswith(prefix))


def _an_inspection_id(path: Path) -> str:
    from automation.workbook.reader import read_workbook

    sheet = read_workbook(path).sheets["Inspections"]
    return str(next(c["Inspection ID"] for _, c in reversed(sheet.rows) if c.get("Inspection ID")))


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, nargs="+", default=[1000, 10000])
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args(argv)
    DATA.mkdir(parents=True, exist_ok=True)
    print(f"bench_perf: Python {sys.version.split()[0]}, {os.cpu_count()} CPU(s), load {os.getloadavg()[0]:.1f}; "
          f"medians of {args.repeat} whole processes (GNU time: elapsed, max RSS)")
    for n in args.rows:
        bench(n, args.repeat)


if __name__ == "__main__":
    main()
