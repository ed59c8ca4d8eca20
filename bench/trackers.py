"""Big trackers for the benchmarks: 5,000 schools and n inspection rows (mostly years old,
every one already planned), written fast with openpyxl's write-only mode, headers from the
contract, and the <dimension> Excel always writes added to each sheet."""

from __future__ import annotations

import random
import sys
import zipfile
from datetime import date, datetime, timedelta
from pathlib import Path

import openpyxl
from lxml import etree

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from automation.calendar import LONDON  # noqa: E402
from automation.rules import load_rules  # noqa: E402
from automation.workbook import package as pkg  # noqa: E402
from automation.workbook import schema  # noqa: E402

TODAY = datetime(2026, 11, 19, 9, 0, tzinfo=LONDON)  # a Thursday: digests go out
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

