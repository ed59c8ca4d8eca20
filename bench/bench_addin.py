"""Excel round trips and time per ribbon action, for trackers of 10 and 10,000 rows.

Runs every action of the add-in through the counting xlwings double (tests/
test_xlstore_double.py) on real trackers written with openpyxl, and prints the calls
that would each be a round trip to Excel. Usage: python bench/bench_addin.py [N ...]"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from conftest import write_tracker  # noqa: E402,F401  (the test helpers, for the trackers)
from test_xlstore import big_tracker  # noqa: E402
from test_xlstore_double import FakeBook  # noqa: E402

from automation.addin.excel import perform  # noqa: E402
from automation.addin.registry import ACTIONS  # noqa: E402
from automation.calendar import LONDON  # noqa: E402
from automation.config import parse_config  # noqa: E402
from automation.mail.transport import MemoryTransport  # noqa: E402


def main(sizes: list[int]) -> None:
    cfg = parse_config({"la": {"name": "Example County Council"}}, "bench")
    now = datetime(2026, 11, 16, 13, 5, tzinfo=LONDON)
    with tempfile.TemporaryDirectory() as tmp:
        books = {n: FakeBook.from_file(big_tracker(Path(tmp) / f"t{n}.xlsx", n)) for n in sizes}
        print(f"{'action':20} " + " ".join(f"{f'{n} rows: calls (reads/writes) time':>36}" for n in sizes))
        for action in ACTIONS:
            cells = []
            for n in sizes:
                folder = Path(tmp) / f"{action.id}-{n}"
                folder.mkdir()
                book = books[n].copy(str(folder / "tracker.xlsx"))
                book.select("Inspections", 2)
                start = time.perf_counter()
                perform(action.id, book, now, cfg, MemoryTransport())
                took = time.perf_counter() - start
                c = book.xl.calls
                cells.append(f"{book.xl.total:>12} ({c['range.value get']}/{c['range.value set']}) {took:>9.2f} s")
            print(f"{action.id:20} " + " ".join(f"{x:>36}" for x in cells))


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [10, 10_000])
