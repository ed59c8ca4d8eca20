"""Where the run with 20 new inspections spends its time, stage by stage, against what the floor
of bench_perf.py (b) does. Prints figures; not a test.

The run is the bench_perf (b) run (the morning-settled tracker, a 09:15 run, 20 new rows, the
09:30 run), started as `python bench/stages.py run ...`, which times the run's own stages where
they are called (bench/stages.py). Beside it, whole processes: `ofsted-tracker --version`, a
calamine read and the least write. The last lines add up what any correct run must do at least —
start up, read every sheet, deliver its messages durably, write the tracker — against 2 x floor.

    python bench/bench_stages.py [--rows 10000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import bench_perf as bp  # noqa: E402


def _stages(path: Path) -> dict[str, tuple[float, float]]:
    p = subprocess.run([bp.PY, str(ROOT / "bench" / "stages.py"), "run", str(path), "--now", f"{bp.DAY}T09:30"],
                       cwd=path.parent, capture_output=True, text=True)
    if p.returncode not in (0, 1) or "20 new inspections" not in p.stdout:  # else it timed some other run
        raise SystemExit(p.stdout[-2000:] + p.stderr[-2000:])
    out = {}
    for line in p.stderr.splitlines():
        if line.startswith("## "):
            label, wall, cpu, _ = line[3:].split("\t")
            out[label] = (float(wall), float(cpu))
    return out


def main(argv=None) -> None:
    """Print the stages of the 20-new run and the floors beside them."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=10000)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args(argv)
    settled = bp.settle(a.rows)
    work = Path(tempfile.mkdtemp(prefix=f"ofsted-stages-{a.rows}-"))
    try:
        runs = [_stages(bp.with_new_inspections(settled, work / f"s{i}")) for i in range(a.repeat)]
        last = work / f"s{a.repeat - 1}"
        parts = bp.changed_parts(last / "before.xlsx", last / "tracker.xlsx")
        start, _, _ = bp.measure([bp.EXE, "--version"], work, a.repeat)
        bare, _, _ = bp.measure([bp.PY, "-c", "pass"], work, a.repeat)  # in every whole process: counted once
        read, _, _ = bp.measure([bp.PY, "-c", bp.CALAMINE_READ, str(last / "before.xlsx")], work, a.repeat)
        least, _, _ = bp.measure([bp.PY, "-c", bp.LEAST_WRITE, str(last / "before.xlsx"), str(work / "least.xlsx"),
                                  ",".join(parts)], work, a.repeat)
        print(f"\n{a.rows:,} rows, the 09:30 run with 20 new inspections (medians of {a.repeat}; wall / CPU seconds):")
        med = {k: (statistics.median(r[k][0] for r in runs), statistics.median(r[k][1] for r in runs)) for k in runs[0]}
        for label, (w, c) in med.items():
            print(f"  {label:<70} {w:6.2f} {c:6.2f}")
        print(f"  {'(stages above; the interpreter start-up is in the whole process below)':<70}")
        print(f"\n  whole processes: start-up (--version) {start:.2f} s, calamine read {read:.2f} s, "
              f"calamine read + least write ({len(parts)} parts) {least:.2f} s")
        deliver = med.get("deliver: journal and outbox (durable writes)", (0, 0))[0]
        must = start + (read - bare) + deliver + (least - read)
        print(f"  target: 2 x floor = {2 * least:.2f} s. At least any correct run: start-up {start:.2f} + read "
              f"{read - bare:.2f} (the calamine process less a bare interpreter's {bare:.2f}) + deliver {deliver:.2f} "
              f"+ least write {least - read:.2f} = {must:.2f} s, leaving "
              f"{2 * least - must:.2f} s to check and plan {a.rows:,} rows, build the messages and work out the tool's cells")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
