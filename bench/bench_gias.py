"""Benchmark: `import-schools` on a real-sized GIAS extract (50,000 establishments x 129
columns, about 49 MB in Windows-1252, as DfE publishes it), each figure a whole process timed
from outside with its peak memory (GNU time's maximum resident set). Medians of --repeat runs.
Prints figures; not a test. Target: peak memory <= 50 MB.

The tracker is a benchmark tracker (bench/trackers.py) with 480 schools (an English LA has up
to about 600); one extract row in a hundred is the LA's (LA code 850): those schools, one
headteacher in ten new (about a year's turnover), and 20 new schools.

    .venv/bin/python bench/bench_gias.py [--rows 50000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import trackers  # noqa: E402
from bench_perf import EXE, PY, Failed, measure  # noqa: E402

NAMED = ["URN", "LA (code)", "LA (name)", "EstablishmentName", "TypeOfEstablishment (name)",
         "EstablishmentTypeGroup (name)", "EstablishmentStatus (name)", "PhaseOfEducation (name)", "HeadTitle (name)",
         "HeadFirstName", "HeadLastName", "DistrictAdministrative (name)", "CloseDate", "Town", "Postcode"]
HEADER = NAMED + [f"Extra{i} (name)" for i in range(129 - len(NAMED))]


def extract(path: Path, rows: int) -> Path:
    """A generated extract in the real width and encoding, about 1 KB a row as the real one is."""
    filler = {h: "Not applicable" if i % 2 == 0 else "" for i, h in enumerate(HEADER)}
    with open(path, "w", encoding="cp1252", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=HEADER, lineterminator="\r\n")
        w.writeheader()
        for i in range(rows):
            ours = i % 100 == 0
            urn = str(100000 + i // 100) if ours else str(200000 + i)
            w.writerow({**filler, "URN": urn, "LA (code)": "850" if ours else "851",
                        "LA (name)": "Hampshire" if ours else "Elsewhere",
                        "EstablishmentName": f"School {i // 100:04d}" if ours else f"École Établissement {i}",
                        **_kind(i // 100 if ours else i), "EstablishmentStatus (name)": "Open",
                        "HeadTitle (name)": "Mrs",
                        "HeadFirstName": "Zoë" if i % 1000 == 0 else "", "HeadLastName": f"Head {i // 100}",
                        "DistrictAdministrative (name)": f"District {i % 7}", "Town": "Winchester",
                        "Postcode": "SO23 8UJ"})
    return path


def _kind(n: int) -> dict[str, str]:
    """The GIAS type, group and phase that map to the benchmark tracker's school n (bench/trackers.py)."""
    phase = ("Primary", "Primary", "Primary", "Secondary", "Special", "Nursery")[n % 6]
    maintained = n % 3 != 0
    if phase == "Special":
        kind = "Community special school" if maintained else "Academy special converter"
    elif phase == "Nursery" and maintained:
        kind = "Local authority nursery school"
    else:
        kind = "Community school" if maintained else "Academy converter"
    return {"TypeOfEstablishment (name)": kind, "PhaseOfEducation (name)": "Not applicable" if phase == "Special" else phase,
            "EstablishmentTypeGroup (name)": "Local authority maintained schools" if maintained else "Academies"}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=50000)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="ofsted-gias-"))
    try:
        csv_path = extract(work / "edubasealldata20261119.csv", args.rows)
        (work / "settled").mkdir()
        tracker = trackers.generate(work / "settled" / "tracker.xlsx", 100, schools=480)
        print(f"bench_gias: Python {sys.version.split()[0]}, {os.cpu_count()} CPU(s), load {os.getloadavg()[0]:.1f}; "
              f"medians of {args.repeat} whole processes (GNU time: elapsed, max RSS)")
        print(f"extract: {args.rows:,} rows x {len(HEADER)} columns, {csv_path.stat().st_size / 1e6:.1f} MB; "
              f"tracker: 480 schools (the extract has 500 of the LA's), {tracker.stat().st_size / 1e6:.1f} MB")

        def fresh(i):
            folder = work / f"run{i}"
            shutil.rmtree(folder, ignore_errors=True)
            shutil.copytree(tracker.parent, folder)
            return [EXE, "import-schools", str(folder / "tracker.xlsx"), str(csv_path), "--la", "850"], folder

        rows = [("ofsted-tracker --version (start-up)", [EXE, "--version"], None),
                ("python -c 'import csv' (interpreter)", [PY, "-c", "import csv"], None),
                ("import-schools --dry-run", [EXE, "import-schools", str(tracker), str(csv_path), "--la", "850", "--dry-run"],
                 None),
                ("import-schools (writes the Schools sheet)", None, fresh)]
        peak = 0.0
        for label, argv, make in rows:
            try:
                s, mb, _ = measure(argv, tracker.parent, args.repeat, make, expect=(0, 1))
            except Failed as exc:
                print(f"  {label:<46} FAILED ({exc})")
                continue
            if label.startswith("import-schools"):
                peak = max(peak, mb)
            print(f"  {label:<46} {s:7.2f} s {mb:7.0f} MB", flush=True)
        print(f"  => import-schools peak memory {peak:.0f} MB (target <= 50 MB)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
