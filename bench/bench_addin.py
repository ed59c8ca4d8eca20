"""Excel round trips and time per ribbon action, for trackers of 10 and 10,000 rows.

Runs every action of the add-in through the counting xlwings double (tests/
test_xlstore_double.py) on real trackers written with openpyxl, and prints the calls
that would each be a round trip to Excel, for a whole click (the action and its message
box): through the add-in's bulk macros, and the slower way an older add-in takes
(xlwings sheet by sheet). xlwings' own Book.caller() is not counted (about two calls).
The time is this process's (the core's work plus the double), not Excel's.
Usage: python bench/bench_addin.py [N ...]"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from test_xlstore import big_tracker  # noqa: E402
from test_xlstore_double import FakeBook  # noqa: E402

from automation.addin.build import ADDIN_NAME  # noqa: E402
from automation.addin.excel import perform, show  # noqa: E402
from automation.addin.registry import ACTIONS  # noqa: E402
from automation.calendar import LONDON  # noqa: E402
from automation.config import parse_config  # noqa: E402
from automation.mail.transport import MemoryTransport  # noqa: E402

WAYS = {"bulk macros": ADDIN_NAME, "older add-in": None}


def click(book, action, now, cfg, addin) -> tuple[int, float]:
    """(calls to Excel, seconds) for one click of the button."""
    book.select("Inspections", 2)
    start = time.perf_counter()
    show(book, perform(action, book, now, cfg, MemoryTransport(), addin=addin))
    return book.xl.total, time.perf_counter() - start


def main(sizes: list[int]) -> None:
    cfg = parse_config({"la": {"name": "Example County Council"}}, "bench")
    now = datetime(2026, 11, 16, 13, 5, tzinfo=LONDON)
    with tempfile.TemporaryDirectory() as tmp:
        books = {n: FakeBook.from_file(big_tracker(Path(tmp) / f"t{n}.xlsx", n)) for n in sizes}
        cols = [f"{n} rows, {way}" for way in WAYS for n in sizes]
        print("calls to Excel per click (and seconds)")
        print(f"{'action':18}" + "".join(f"{c:>26}" for c in cols))
        for action in ACTIONS:
            cells = []
            for way, addin in WAYS.items():
                for n in sizes:
                    folder = Path(tmp) / f"{action.id}-{n}-{bool(addin)}"
                    folder.mkdir()
                    calls, took = click(books[n].copy(str(folder / "tracker.xlsx")), action.id, now, cfg, addin)
                    cells.append(f"{calls:>4} ({took:6.2f} s)")
            print(f"{action.id:18}" + "".join(f"{c:>26}" for c in cells))


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [10, 10_000])
