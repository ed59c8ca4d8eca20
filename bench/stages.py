"""Run the console script's main() with the run's stages timed (wall and CPU), for bench_stages.py.
Usage: python bench/stages.py ARGS... (the ofsted-tracker arguments). Prints '## stage<TAB>wall<TAB>cpu<TAB>calls'
lines on stderr (the interpreter's own start-up is not in them: the caller times the whole process). The wrapping is done where each stage is called from, so the real code runs unchanged."""

from __future__ import annotations

import functools
import importlib
import sys
import time

T0, C0 = time.perf_counter(), time.process_time()

# (module whose attribute is called, attribute, label)
STAGES = (
    ("automation.workbook.store", "read_workbook", "read the tracker (calamine, scans)"),
    ("automation.session", "build_tracker", "check every row (validate)"),
    ("automation.run", "plan", "plan: every step for every inspection, messages built"),
    ("automation.run", "tool_update", "the tool's cells (Status, Problems, Follow-ups, Email log)"),
    ("automation.workbook.store", "WorkbookStore.pending", "the save's edit plan (made once: counted, then written)"),
    ("automation.run", "deliver", "deliver: journal and outbox (durable writes)"),
    ("automation.run", "save_update", "save the tracker"),
    ("automation.run", "after_run", "after the run (oversight check)"),
)
totals: dict[str, list[float]] = {}


def _wrap(module: str, name: str, label: str) -> None:
    owner = importlib.import_module(module)
    *path, name = name.split(".")
    for part in path:  # a method: Class.method
        owner = getattr(owner, part)
    fn = getattr(owner, name)

    @functools.wraps(fn)
    def timed(*a, **k):
        w, c = time.perf_counter(), time.process_time()
        try:
            return fn(*a, **k)
        finally:
            got = totals.setdefault(label, [0.0, 0.0, 0])
            got[0] += time.perf_counter() - w
            got[1] += time.process_time() - c
            got[2] += 1

    setattr(owner, name, timed)


def main() -> int:
    """The console script's main() with the stages wrapped; the timings on stderr."""
    from automation.cli import main as cli_main

    for module, name, label in STAGES:
        _wrap(module, name, label)
    try:
        return cli_main(sys.argv[1:])
    finally:
        wall, cpu = time.perf_counter() - T0, time.process_time() - C0
        for label, (w, c, n) in totals.items():
            print(f"## {label}\t{w:.3f}\t{c:.3f}\t{n}", file=sys.stderr)
        rest_w = wall - sum(v[0] for v in totals.values())
        rest_c = cpu - sum(v[1] for v in totals.values())
        print(f"## the rest: imports, config and rules, lock, journal, forms folder\t{rest_w:.3f}\t{rest_c:.3f}\t1",
              file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
