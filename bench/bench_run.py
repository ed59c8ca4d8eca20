"""Benchmark: `run` on big trackers against the floor of openpyxl load_workbook + save.

For 1,000 / 10,000 / 50,000 inspection rows (5,000 schools) it writes a tracker with
openpyxl's write-only mode, makes one catch-up run (IDs, statuses, follow-ups and the day's
digests are written and sent), then times, in the same process:
  * run   — the scheduled run again that day: nothing new to send (the steady state);
  * floor — openpyxl.load_workbook(file) + save(copy): the least any openpyxl-based
            tool could do to read and rewrite the file.
and prints the ratio run / floor, and each one's peak memory (resident set, measured in a
fresh process so the two do not mix). Usage:

    .venv/bin/python bench/bench_run.py [--rows 1000 10000 50000] [--repeat 3] [--keep DIR]
"""

from __future__ import annotations

import argparse
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import openpyxl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from automation.calendar import LONDON  # noqa: E402
from automation.config import parse_config  # noqa: E402
from automation.rules import load_rules  # noqa: E402
from automation.workbook import schema  # noqa: E402

TODAY = datetime(2026, 11, 19, 9, 0, tzinfo=LONDON)  # a Thursday: digests go out
LATER = TODAY + timedelta(minutes=15)
RENEWED_FROM = date(2025, 11, 10)


def _staff():
    rows = []
    for i in range(30):
        rows.append({"Name": f"SIM {i:02d}", "Role": "SIM", "Email": f"sim{i:02d}@la.example.org", "Phone": "01632 960000"})
        rows.append({"Name": f"AI {i:02d}", "Role": "AI", "Email": f"ai{i:02d}@la.example.org", "Phone": "01632 960001"})
    rows += [{"Name": "CEM Primary", "Role": "CEM", "Email": "cem.p@la.example.org", "Phase": "Primary"},
             {"Name": "CEM Secondary", "Role": "CEM", "Email": "cem.s@la.example.org", "Phase": "Secondary"},
             {"Name": "Governor Services", "Role": "Governor Services", "Email": "gs@la.example.org"},
             {"Name": "EPS Team", "Role": "EPS", "Email": "eps@la.example.org"}]
    return rows


def _schools(n: int):
    phases = ("Primary", "Primary", "Primary", "Secondary", "Special", "Nursery")
    return [{"URN": str(100000 + i), "School name": f"School {i:04d}", "Governance": "Maintained" if i % 3 else "Academy",
             "Phase": phases[i % len(phases)], "District": f"District {i % 7}", "School email": f"office{i}@school.example.org",
             "Headteacher": f"Head {i}", "SIM": f"SIM {i % 30:02d}", "AI": f"AI {i % 30:02d}",
             "Context notes": "Internal context." if i % 11 == 0 else None} for i in range(n)]


def _inspections(n: int, schools: int, rng: random.Random, rules):
    """Mostly old inspections (years back), a recent few: every one already planned."""
    eif, renewed = rules.frameworks["eif2024"], rules.frameworks["renewed"]
    rows = []
    per_school = max(1, -(-n // schools))
    span_days = 365 * 10
    for k in range(n):
        school, nth = k % schools, k // schools
        # spread each school's inspections over ten years, a few days apart per school
        day = date(2026, 11, 13) - timedelta(days=int(span_days * (nth + rng.random() * 0.8) / per_school) + school % 5)
        while day.weekday() > 4:
            day -= timedelta(days=1)
        notified = datetime.combine(day, datetime.min.time()).replace(hour=10 + k % 6, minute=5)
        start = day + timedelta(days=1 if day.weekday() < 4 else 3)
        fw = renewed if day >= RENEWED_FROM else eif
        itype = fw.types[k % 2]
        row = {"Inspection ID": f"OFS-{100000 + school}-{notified:%Y%m%d}", "URN": str(100000 + school),
               "Inspection type": itype, "Notified at": notified, "Start date": datetime.combine(start, datetime.min.time()),
               "Lead inspector": f"Inspector {k % 97}", "Contact plan sent": notified + timedelta(minutes=20),
               "Final feedback at": datetime.combine(start + timedelta(days=1), datetime.min.time()).replace(hour=15),
               "Concerns raised": "Yes" if k % 23 == 0 else "No", "Conduct concerns": "Yes" if k % 97 == 0 else None,
               "Safeguarding": fw.safeguarding[0]}
        grade = fw.scale[1] if k % 5 else fw.scale[3]
        for area in fw.areas[:4]:
            row[area] = grade
        if start < date(2026, 10, 1):
            row["Report published"] = datetime.combine(start + timedelta(days=40), datetime.min.time())
            row["Feedback form completed"] = datetime.combine(start + timedelta(days=3), datetime.min.time())
        rows.append(row)
    return rows


def generate(path: Path, n: int, schools: int = 5000, seed: int = 5) -> Path:
    """A big tracker, written fast with openpyxl's write-only mode (headers from the contract)."""
    rules = load_rules()
    rng = random.Random(seed)
    data = {"Schools": _schools(schools), "Staff": _staff(), "Inspections": _inspections(n, schools, rng, rules),
            "Support offers": [{"Offer": o["name"], "Provider": o.get("provider"), "Include in school emails": "Yes"}
                               for o in rules.support_offers]}
    wb = openpyxl.Workbook(write_only=True)
    for spec in schema.ALL:
        ws = wb.create_sheet(spec.name)
        ws.append(spec.headers())
        for row in data.get(spec.name, ()):
            ws.append([row.get(h) for h in spec.headers()])
    wb.save(path)
    _add_dimensions(path)
    return path


def _add_dimensions(path: Path) -> None:
    """Give each sheet the <dimension> Excel always writes (openpyxl's write-only mode leaves
    it out, which would make every reader parse each sheet twice: not a real tracker)."""
    import zipfile

    from lxml import etree

    from automation.workbook import package as pkg

    ns = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(path) as z, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as out:
        parts = set(pkg.sheet_parts(z).values())
        for info in z.infolist():
            data = z.read(info.filename)
            if info.filename in parts:
                root = etree.fromstring(data)
                rows = root.find(f"{ns}sheetData")
                last = rows[-1].get("r") if len(rows) else "1"
                widest = max((len(r) for r in rows), default=1)
                dim = etree.Element(f"{ns}dimension", ref=f"A1:{pkg.col_letter(widest)}{last}")
                after = root.find(f"{ns}sheetPr")
                root.insert(0 if after is None else root.index(after) + 1, dim)
                data = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
            out.writestr(info, data)
    tmp.replace(path)


def run_once(path: Path, when: datetime):
    from automation.run import run

    cfg = parse_config({"mail": {"transport": "outbox"}}, "bench")
    return run(path, cfg, when)


def floor_once(path: Path, out: Path) -> None:
    wb = openpyxl.load_workbook(path)
    wb.save(out)


def timed(fn, *args) -> float:
    t = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t


def peak_rss_mb(kind: str, path: Path) -> float:
    """Peak resident memory of a fresh process doing just one run or one floor."""
    out = subprocess.run([sys.executable, __file__, "--child", kind, str(path)], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def child(kind: str, path: Path) -> None:
    if kind == "run":
        run_once(path, LATER + timedelta(minutes=30))
    else:
        floor_once(path, path.with_name(path.stem + ".floor.xlsx"))
    print(_peak_mb())


def _peak_mb() -> float:
    """This process's peak resident memory. VmHWM, because ru_maxrss survives exec and would
    report the (bigger) parent's peak on Linux."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)


def bench(n: int, folder: Path, repeat: int) -> dict:
    path = generate(folder / f"tracker_{n}.xlsx", n)
    size = path.stat().st_size
    t0 = time.perf_counter()
    first = run_once(path, TODAY)  # catch-up: IDs, statuses, follow-ups, today's digests
    catch_up = time.perf_counter() - t0
    runs, floors = [], []
    for i in range(repeat):
        floors.append(timed(floor_once, path, folder / f"floor_{n}.xlsx"))
        t = time.perf_counter()
        steady = run_once(path, LATER + timedelta(minutes=i))
        runs.append(time.perf_counter() - t)
        assert not steady.messages, f"the steady run should send nothing, not {len(steady.messages)}"
    return {"rows": n, "size_mb": size / 1e6, "catch_up_s": catch_up, "catch_up_sent": len(first.messages),
            "follow_ups": len(first.update.follow_ups or []), "run_s": min(runs), "floor_s": min(floors),
            "ratio": min(runs) / min(floors), "run_rss": peak_rss_mb("run", path), "floor_rss": peak_rss_mb("floor", path)}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, nargs="+", default=[1000, 10000, 50000])
    p.add_argument("--repeat", type=int, default=3, help="timed repeats; the best is reported")
    p.add_argument("--keep", type=Path, help="keep the generated trackers in this folder")
    p.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        return child(args.child[0], Path(args.child[1]))
    folder = args.keep or Path(tempfile.mkdtemp(prefix="ofsted-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"{'rows':>7} {'file MB':>8} {'catch-up s':>10} {'sent':>5} {'follow-ups':>10} {'run s':>7} {'floor s':>8} "
          f"{'ratio':>6} {'run MB':>7} {'floor MB':>8}  (run and floor: best of {args.repeat}; MB: peak RSS)")
    results = []
    try:
        for n in args.rows:
            r = bench(n, folder, args.repeat)
            results.append(r)
            print(f"{r['rows']:>7} {r['size_mb']:>8.1f} {r['catch_up_s']:>10.2f} {r['catch_up_sent']:>5} {r['follow_ups']:>10} "
                  f"{r['run_s']:>7.2f} {r['floor_s']:>8.2f} {r['ratio']:>6.2f} {r['run_rss']:>7.0f} {r['floor_rss']:>8.0f}", flush=True)
        if len(results) > 1:
            a, b = results[0], results[-1]
            print(f"Growth from {a['rows']} to {b['rows']} rows (x{b['rows'] / a['rows']:.0f}): "
                  f"run x{b['run_s'] / a['run_s']:.1f}, floor x{b['floor_s'] / a['floor_s']:.1f}")
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
