"""Excel round trips and the Python side's time per ribbon action, for trackers of 10 and
10,000 rows, against a calamine read of the same file.

Runs every action of the add-in through the counting xlwings double (tests/
test_xlstore_double.py) on real trackers written with openpyxl, and prints the calls
that would each be a round trip to Excel, for a whole click (the action and its message
box): through the add-in's bulk macros, and the slower way an older add-in takes
(xlwings sheet by sheet). xlwings' own Book.caller() is not counted (about two calls).

The time is the Python side's CPU time: the click minus the time the double spends playing
Excel (its macros and ranges: Excel's work in real life). Each click is a process of its own
in real life (RunPython starts Python), so each click here runs in a process of its own too:
its Python side is Python's start-up, importing the add-in's entry point and the click, set
against a whole process reading the same tracker with calamine. *Send contact plan* and
*Record concern* are clicked on an inspection notified that morning (so a plan is really due
and sent), the other selected-row buttons on row 2.
Usage: python bench/bench_addin.py [N ...] [--actions send_plan,record_concern,...] [--tracker FILE]
(--tracker: a tracker of your own, e.g. bench/data/settled_10000/tracker.xlsx, with its state
folder and forms, instead of the generated ones)."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
# Nothing of the tool or the double is imported here: a click's process imports them itself (timed).
ADDIN_NAME = "OfstedTracker.xlam"
WAYS = {"bulk macros": ADDIN_NAME, "older add-in": None}
NEW_ROW_ACTIONS = ("send_plan", "record_concern")  # clicked on a row notified this morning
CALAMINE = ("import sys, python_calamine; wb = python_calamine.CalamineWorkbook.from_path(sys.argv[1]); "
            "[wb.get_sheet_by_name(s).to_python() for s in wb.sheet_names]")
excel_time = [0.0]  # CPU seconds the double spent playing Excel


def _timed(fn):
    def wrapper(*args, **kw):
        start = time.process_time()
        try:
            return fn(*args, **kw)
        finally:
            excel_time[0] += time.process_time() - start
    return wrapper


def _time_the_double() -> None:
    """Count the double's own work (Excel's, in real life) apart from the Python side."""
    import test_xlstore_double as double

    double.FakeMacro.__call__ = _timed(double.FakeMacro.__call__)
    value = double.FakeRange.value
    double.FakeRange.value = property(_timed(value.fget), _timed(value.fset))
    double.FakeSheet.used_range = property(_timed(double.FakeSheet.used_range.fget))


def add_new_inspection(book, now: datetime) -> int:
    """An inspection of the first school notified this morning, as an admin types it; its row."""
    sheet = book.by_name["Inspections"]
    cols = {v: c for (r, c), v in sheet.cells.items() if r == 1}
    row = max(r for r, _ in sheet.cells) + 1
    notified = now.replace(tzinfo=None, hour=9, minute=0)
    start = (notified + timedelta(days=1)).replace(hour=0)
    urn = next(v for (r, c), v in sheet.cells.items() if r == 2 and c == cols["URN"])
    for header, value in {"URN": urn, "Inspection type": "Full", "Notified at": notified,
                          "Start date": start, "Lead inspector": "A. Inspector"}.items():
        sheet.cells[(row, cols[header])] = value
    return row


def click(book, action, now, cfg, addin, row) -> tuple[int, float, str]:
    """(calls to Excel, Python-side CPU seconds, the message's title) for one click."""
    from automation.addin.excel import perform, show
    from automation.mail.transport import MemoryTransport

    book.select("Inspections", row)
    book.xl.reset()
    excel_time[0] = 0.0
    start = time.process_time()
    outcome = perform(action, book, now, cfg, MemoryTransport(), addin=addin)
    show(book, outcome)
    return book.xl.total, time.process_time() - start - excel_time[0], outcome.title


def child(cells_file: str, fullname: str, action: str, addin: str, row: int) -> None:
    """One click in a process of its own, as RunPython makes it: prints calls, the CPU seconds of
    importing the add-in's entry point and of the click (the double's own work left out)."""
    import json
    import pickle
    import types

    start = time.process_time()
    import automation.addin.excel  # noqa: F401  (what RunPython's command line imports)
    from automation.calendar import LONDON
    from automation.config import parse_config
    imports = time.process_time() - start
    # The double reads files with openpyxl (not here: its cells come pickled); a click that needs
    # openpyxl must still pay for importing it.
    sys.modules["openpyxl"] = types.ModuleType("openpyxl")
    from test_xlstore_double import Excel, FakeBook, FakeSheet
    del sys.modules["openpyxl"]
    from automation.addin.build import ADDIN_NAME as name
    assert name == ADDIN_NAME

    with open(cells_file, "rb") as fh:
        cells = pickle.load(fh)
    xl = Excel()
    book = FakeBook(fullname, {n: FakeSheet(xl, n, c) for n, c in cells.items()}, xl, addin == "bulk")
    _time_the_double()
    cfg = parse_config({"la": {"name": "Example County Council"}}, "bench")
    now = datetime(2026, 11, 16, 13, 5, tzinfo=LONDON)
    calls, took, title = click(book, action, now, cfg, ADDIN_NAME if addin == "bulk" else None, row)
    print(json.dumps({"calls": calls, "imports": imports, "click": took, "title": title}))


def process_cpu(args: list[str]) -> float:
    """User + system CPU seconds of a whole process."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def in_a_process(book, folder: Path, action: str, way: str, row: int) -> dict:
    import json
    import pickle

    cells_file = folder / "cells.pickle"
    with open(cells_file, "wb") as fh:
        pickle.dump({n: s.cells for n, s in book.by_name.items()}, fh)
    done = subprocess.run([sys.executable, __file__, "--child", str(cells_file), str(folder / "tracker.xlsx"), action,
                           way, str(row)], check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(sizes: list[int], only: set[str] | None, tracker: Path | None) -> None:
    import shutil

    from test_xlstore import big_tracker
    from test_xlstore_double import FakeBook

    from automation.addin.registry import ACTIONS
    from automation.calendar import LONDON

    now = datetime(2026, 11, 16, 13, 5, tzinfo=LONDON)
    python = min(process_cpu([sys.executable, "-c", "pass"]) for _ in range(3))
    with tempfile.TemporaryDirectory() as tmp:
        if tracker is not None:
            files = {"tracker": tracker}
        else:
            files = {n: big_tracker(Path(tmp) / f"t{n}.xlsx", n) for n in sizes}
        read = {n: min(process_cpu([sys.executable, "-c", CALAMINE, str(f)]) for _ in range(3)) for n, f in files.items()}
        books = {n: FakeBook.from_file(f) for n, f in files.items()}
        print(f"Python's own start-up: {python:.2f} s CPU; each click below is a process of its own")
        print("calamine read of the same file, whole process: "
              + ", ".join(f"{n} {'rows ' if tracker is None else ''}{read[n]:.2f} s CPU" for n in files))
        cols = [f"{n}, {way}" for way in WAYS for n in files]
        print("calls to Excel per click (and the Python side's CPU seconds: start-up and imports + the click)")
        print(f"{'action':18}" + "".join(f"{c:>30}" for c in cols) + "   Python side / calamine read")
        for action in ACTIONS:
            if only and action.id not in only:
                continue
            cells, ratios = [], []
            for way, addin in WAYS.items():
                for n, f in files.items():
                    folder = Path(tmp) / f"{action.id}-{n}-{bool(addin)}"
                    if tracker is not None:  # its state folder (journal) and forms come along
                        shutil.copytree(tracker.parent, folder, ignore=shutil.ignore_patterns("*.xlsx", "*.log*"))
                    else:
                        folder.mkdir()
                    book = books[n].copy(str(folder / "tracker.xlsx"))
                    row = add_new_inspection(book, now) if action.id in NEW_ROW_ACTIONS else 2
                    got = in_a_process(book, folder, action.id, "bulk" if addin else "older", row)
                    start = python + got["imports"]
                    cells.append(f"{got['calls']:>4} ({start:.2f} + {got['click']:6.2f} s)")
                    if addin:
                        ratios.append(f"{n}: {(start + got['click']) / read[n]:.1f}x")
            print(f"{action.id:18}" + "".join(f"{c:>30}" for c in cells) + "   " + ", ".join(ratios))


if __name__ == "__main__":
    argv = sys.argv[1:]
    if argv[:1] == ["--child"]:
        child(argv[1], argv[2], argv[3], argv[4], int(argv[5]))
        sys.exit(0)
    picked = tracker_path = None
    if "--actions" in argv:
        i = argv.index("--actions")
        picked = set(argv[i + 1].split(","))
        del argv[i:i + 2]
    if "--tracker" in argv:
        i = argv.index("--tracker")
        tracker_path = Path(argv[i + 1]).resolve()
        del argv[i:i + 2]
    main([int(a) for a in argv] or [10, 10_000], picked, tracker_path)
