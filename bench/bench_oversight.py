"""Benchmark: the oversight workbook on big trackers (what a run adds when anything changed).

For 1,000 / 10,000 / 50,000 inspections (5,000 schools, 7 districts, 30 SIMs, two school years)
it builds the domain Tracker in memory and times, separately:
  * facts    — inspection_facts: one Facts per inspection (the core);
  * workbook — build_oversight + save: tables, 14 native charts and the per-inspection sheet;
  * skip     — the run's check that nothing changed (fingerprint), which is all a steady-state
               run pays.
Usage:  .venv/bin/python bench/bench_oversight.py [--rows 1000 10000 50000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import resource
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from automation.calendar import LONDON, WorkingCalendar  # noqa: E402
from automation.model import FollowUp, Inspection, School, Tracker  # noqa: E402
from automation.oversight.figures import inspection_facts  # noqa: E402
from automation.oversight.workbook import build_oversight  # noqa: E402
from automation.rules import load_rules  # noqa: E402

NOW = datetime(2026, 11, 19, 9, 0, tzinfo=LONDON)


def tracker(rows: int) -> Tracker:
    t = Tracker()
    for i in range(5000):
        urn = str(100000 + i)
        t.schools[urn] = School(urn, f"School {i:04d}", "Maintained" if i % 3 else "Academy", "Primary",
                                f"office{i}@school.example.org", f"SIM {i % 30:02d}", f"AI {i % 30:02d}",
                                district=f"District {i % 7}")
    start = date(2024, 9, 2)
    for n in range(rows):
        notified = datetime.combine(start + timedelta(days=(n * 730) // rows), datetime.min.time(),
                                    tzinfo=LONDON).replace(hour=9 + n % 7, minute=5)
        renewed = notified.date() >= date(2025, 11, 10)
        iid = f"OFS-{100000 + n % 5000}-{notified:%Y%m%d}-{n}"
        t.inspections.append(Inspection(
            n + 2, iid, False, str(100000 + n % 5000), "Full" if renewed else "Graded", "renewed" if renewed else "eif2024",
            notified, notified.date() + timedelta(days=1), contact_plan_sent=notified + timedelta(hours=1 + n % 3),
            concerns_raised="Yes" if n % 9 == 0 else "", conduct_concerns="Yes" if n % 27 == 0 else "",
            learning_review="Requested" if n % 50 == 0 else ""))
        if n % 4 == 0:
            t.follow_ups.append(FollowUp(iid, "", "Follow-up call", f"SIM {n % 30:02d}", notified.date() + timedelta(days=5)))
    return t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, nargs="+", default=[1000, 10000, 50000])
    args = ap.parse_args()
    rules, cal = load_rules(), WorkingCalendar()
    print(f"{'rows':>7} {'facts s':>8} {'workbook s':>11} {'skip s':>7} {'peak RSS MB':>12} {'file KB':>8}")
    for rows in args.rows:
        t = tracker(rows)
        t0 = time.perf_counter()
        facts = inspection_facts(t, rules, cal, [], NOW)
        t1 = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            dest = Path(tmp) / "oversight.xlsx"
            build_oversight(facts, rules, NOW, "Bench County", "bench.xlsx").save(dest)
            t2 = time.perf_counter()
            size = dest.stat().st_size
            skip = _skip_check(Path(tmp), rows)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux; grows with the largest size
        print(f"{rows:>7} {t1 - t0:>8.2f} {t2 - t1:>11.2f} {skip:>7.3f} {peak:>12.0f} {size / 1024:>8.0f}")


def _skip_check(folder: Path, rows: int) -> float:
    """The steady-state cost: fingerprint a tracker-sized file and compare with the stamp."""
    from automation.workbook.writer import file_digest

    fake = folder / "tracker.xlsx"
    fake.write_bytes(b"x" * (rows * 250))  # about the size of a tracker with this many rows
    t0 = time.perf_counter()
    file_digest(fake)
    return time.perf_counter() - t0


if __name__ == "__main__":
    main()
