"""Benchmark: HTTP requests per run of a SharePoint tracker, counted at the Graph drive stand-in
(tests/standins/graph_drive.py), and each run's wall time as a whole process (the console
script, real msal and requests). Prints figures; not a test.

  (a) an unchanged run (the skip: targets <= 3 requests);
  (b) a run that finds 20 new inspections (sends and writes: target <= 20 requests).

The tracker is bench_perf's generated one (bench/trackers.py, caught up by bench_perf.settle),
copied into the stand-in's drive, signed in with `graph login`, and run until a run changes
nothing. For (b) every repeat starts from that settled state (drive file and this machine's
state folder restored), with 20 inspections notified this morning added to the file on the
drive, as an officer would type them. Usage:

    .venv/bin/python bench/bench_graph.py [--rows 10000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import bench_perf  # noqa: E402
from bench_perf import DAY, EVENING, EXE, add_new_inspections, settle  # noqa: E402
from tests.sharepoint_run import local_root, sharepoint_config, sign_in  # noqa: E402
from tests.standins.graph_drive import GraphDrive  # noqa: E402

TARGETS = {"unchanged": 3, "20 new inspections": 20}


@dataclass
class Figures:
    wall: float  # the whole process, seconds
    served: float  # of which the stand-in spent answering (openpyxl loads and saves the real file)
    http: list[str]  # the HTTP requests, by kind (a $batch is one)
    inner: list[str]  # the requests inside those $batch requests


def serving_time(drive) -> list[float]:
    """Time the stand-in spends answering, so its own slowness can be told from the run's."""
    spent = [0.0]
    handle = drive.app.handle

    def timed(*args, **kwargs):
        start = time.perf_counter()
        try:
            return handle(*args, **kwargs)
        finally:
            spent[0] += time.perf_counter() - start

    drive.app.handle = timed
    return spent


def timed_run(cfg: Path, cwd: Path, now: str, drive, spent: list[float]) -> tuple[Figures, subprocess.CompletedProcess]:
    """The figures of one whole `ofsted-tracker run` process, and its result."""
    n, nb, served = len(drive.state.requests), len(drive.state.batches), spent[0]
    start = time.perf_counter()
    p = subprocess.run([EXE, "run", "--config", str(cfg), "--now", now], cwd=cwd, capture_output=True, text=True)
    secs = time.perf_counter() - start
    if p.returncode not in (0, 1):
        raise SystemExit(f"run at {now} exited {p.returncode}:\n{p.stdout}\n{p.stderr}")
    kinds, inner = list(drive.state.requests[n:]), [k for b in drive.state.batches[nb:] for k in b]
    http = list(kinds)
    for k in inner:  # the stand-in records a $batch's requests among the others: what went over the wire is the batch
        http.remove(k)
    return Figures(secs, spent[0] - served, http, inner), p


def caught_up(cfg: Path, cwd: Path, drive, spent) -> None:
    """Run in the evening until a run is skipped (nothing changed, nothing due)."""
    for minute in range(10):
        _, p = timed_run(cfg, cwd, f"{EVENING}{minute:02d}", drive, spent)
        if "Nothing changed" in p.stdout:
            return
    raise SystemExit("the SharePoint tracker never settled:\n" + p.stdout)


def show(label: str, runs: list[Figures]) -> None:
    counts = [len(f.http) for f in runs]
    target = TARGETS[label]
    wall, served = statistics.median(f.wall for f in runs), statistics.median(f.served for f in runs)
    print(f"  {label:<20} {statistics.median(counts):4.0f} HTTP requests (target <= {target}: "
          f"{'met' if max(counts) <= target else 'NOT MET'}; each run {counts}); "
          f"{wall:6.2f} s wall, of which the stand-in answering {served:5.2f} s (medians)")
    shown = []
    for f in runs:  # each different mix of requests once
        mix = (sorted(Counter(f.http).items()), sorted(Counter(f.inner).items()))
        if mix in shown:
            continue
        shown.append(mix)
        print(f"      {len(f.http)} requests: " + ", ".join(f"{k} x{v}" for k, v in mix[0]))
        if f.inner:
            print("        inside the $batch requests: " + ", ".join(f"{k} x{v}" for k, v in mix[1]))


def bench(n: int, repeat: int) -> None:
    settled = settle(n)  # the local tracker, caught up (bench/data/settled_<n>)
    work = Path(tempfile.mkdtemp(prefix=f"ofsted-graph-{n}-"))
    try:
        site = work / "site"
        site.mkdir()
        tracker = site / settled.name
        shutil.copy(settled, tracker)
        with GraphDrive(tracker) as drive:
            # The stand-in reads and writes the real 10k-row file with openpyxl: far slower than Graph, so
            # the per-request timeout is raised here (the request counts do not depend on it).
            cfg = sharepoint_config(work / "config.toml", drive, work / "here", work / "outbox",
                                    "timeout_seconds = 900\n")
            sign_in(cfg, work)
            spent = serving_time(drive)
            caught_up(cfg, work, drive, spent)
            print(f"\n{n:,} inspection rows: tracker {tracker.stat().st_size / 1e6:.1f} MB on the stand-in's drive")
            show("unchanged", [timed_run(cfg, work, f"{EVENING}{30 + i:02d}", drive, spent)[0] for i in range(repeat)])

            # (b) from the settled state each time: the drive's file and this machine's state folder
            here = local_root(work / "here", drive)
            snapshot = work / "snapshot"
            shutil.copytree(here, snapshot / "state")
            shutil.copy(tracker, snapshot / tracker.name)
            figures = []
            for i in range(repeat):
                # The drive's side moved on in the last repeat (the lease file, the uploaded files): keep this
                # machine's copies and notes of those, or a repeat would pay for a stale lease eTag or re-upload
                # files, not for the run's own work. The journal and fingerprint go back to the settled state.
                kept = work / "kept"
                shutil.rmtree(kept, ignore_errors=True)
                kept.mkdir()
                moving = [here / "lease.json", *here.glob(".ofsted-tracker/*.sharepoint-files.json"),
                          *(here / d for d in ("forms", "reviews", "reports"))]
                for p in [p for p in moving if p.exists()]:
                    shutil.move(p, kept / p.relative_to(here).as_posix().replace("/", "@"))
                shutil.rmtree(here)
                shutil.copytree(snapshot / "state", here)
                for p in kept.iterdir():
                    dest = here / p.name.replace("@", "/")
                    if dest.is_dir():
                        shutil.rmtree(dest)
                    dest.unlink(missing_ok=True)
                    shutil.move(p, dest)
                for stamp in (here / "reports").glob(".*.fingerprint"):  # rebuilt and uploaded, as the first repeat did
                    stamp.unlink()
                with drive.state.lock:  # as one edit: the stand-in sees the whole new file
                    shutil.copy(snapshot / tracker.name, tracker)
                    add_new_inspections(tracker, 20)
                got, p = timed_run(cfg, work, f"{DAY}T09:30", drive, spent)
                if "20 new inspections" not in p.stdout:
                    print("    (the run did not find 20 new inspections: " + p.stdout.strip().splitlines()[2] + ")")
                figures.append(got)
            show("20 new inspections", figures)
            if drive.state.errors:
                print(f"  stand-in errors: {len(drive.state.errors)} (first: {drive.state.errors[0][:300]})")
        local_runs(settled, work, repeat)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def local_runs(settled: Path, work: Path, repeat: int) -> None:
    """For comparison, under the same load: the same two runs on the tracker as a local file."""
    def wall(argv, cwd) -> float:
        start = time.perf_counter()
        subprocess.run(argv, cwd=cwd, capture_output=True)
        return time.perf_counter() - start

    path = bench_perf.copy_of(settled, work / "local")
    for minute in ("10", "11"):  # as bench_perf: two runs settle it, the third is the skip
        wall([EXE, "run", str(path), "--now", f"{EVENING}{minute}"], path.parent)
    skip = statistics.median(wall([EXE, "run", str(path), "--now", f"{EVENING}{40 + i}"], path.parent)
                             for i in range(repeat))
    new = []
    for i in range(repeat):
        p = bench_perf.copy_of(settled, work / f"local-new{i}")
        add_new_inspections(p, 20)
        new.append(wall([EXE, "run", str(p), "--now", f"{DAY}T09:30"], p.parent))
    print(f"  the same tracker as a local file: unchanged {skip:.2f} s, 20 new inspections "
          f"{statistics.median(new):.2f} s wall (medians)")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, nargs="+", default=[10000])
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args(argv)
    bench_perf.DATA.mkdir(parents=True, exist_ok=True)
    print(f"bench_graph: Python {sys.version.split()[0]}, {os.cpu_count()} CPU(s), load {os.getloadavg()[0]:.1f}; "
          f"requests counted at the stand-in, wall time of whole processes")
    for n in args.rows:
        bench(n, args.repeat)


if __name__ == "__main__":
    main()
