"""Shared test fixtures: small real trackers written with openpyxl from the contract."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import openpyxl
import pytest

from automation.config import parse_config
from automation.rules import load_rules
from automation.workbook import schema

# Heaviest test files first, for the two xdist workers (tests/scheduling.py).
pytest_plugins = ["tests.scheduling"]

STAFF = [
    {"Name": "Sam Imrie", "Role": "SIM", "Email": "sam.imrie@la.example.org", "Phone": "01234 100001"},
    {"Name": "Alex Inchley", "Role": "AI", "Email": "alex.inchley@la.example.org", "Phone": "01234 100002"},
    {"Name": "Pat Primrose", "Role": "CEM", "Email": "pat.primrose@la.example.org", "Phone": "01234 100003", "Phase": "Primary"},
    {"Name": "Sol Secombe", "Role": "CEM", "Email": "sol.secombe@la.example.org", "Phone": "01234 100004", "Phase": "Secondary"},
    {"Name": "Gill Govan", "Role": "Governor Services", "Email": "gill.govan@la.example.org"},
]
SCHOOLS = [
    {"URN": "100001", "School name": "Acorn Primary School", "Governance": "Maintained", "Phase": "Primary",
     "School email": "office@acorn.school.example.org", "Headteacher": "Ann Acre",
     "Headteacher email": "head@acorn.school.example.org", "SIM": "Sam Imrie", "AI": "Alex Inchley",
     "Context notes": "New head since September."},
    {"URN": "100002", "School name": "Beech Academy", "Governance": "Academy", "Phase": "Secondary",
     "School email": "office@beech.school.example.org", "Headteacher": "Ben Birch",
     "SIM": "Sam Imrie", "AI": "Alex Inchley"},
]


def write_tracker(path: Path, schools=SCHOOLS, staff=STAFF, inspections=(), follow_ups=(), holidays=(),
                  extra_sheets: dict | None = None) -> Path:
    """A tracker with every contract sheet, headers in row 1, the given rows below."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    offers = [{"Offer": o["name"], "Provider": o.get("provider"), "What it is": o.get("detail"),
               "How to access": o.get("contact"), "Include in school emails": "Yes"} for o in load_rules().support_offers]
    data = {"Schools": schools, "Staff": staff, "Inspections": inspections, "Follow-ups": follow_ups,
            "Holidays": holidays, "Support offers": offers}
    for spec in schema.ALL:
        ws = wb.create_sheet(spec.name)
        ws.append(spec.headers())
        for row in data.get(spec.name, ()):
            ws.append([row.get(h) for h in spec.headers()])
    for name, rows in (extra_sheets or {}).items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    wb.save(path)
    return path


def inspection(urn="100001", itype="Full", notified=datetime(2026, 11, 16, 12, 5), start=datetime(2026, 11, 17), **more):
    """One Inspections row (headers -> values)."""
    return {"URN": urn, "Inspection type": itype, "Notified at": notified, "Start date": start, **more}


@pytest.fixture
def rules():
    return load_rules()


@pytest.fixture
def conf(tmp_path):
    """A config file for the console script: outbox transport, outbox/ beside it."""
    path = tmp_path / "config.toml"
    path.write_text('[la]\nname = "Example County Council"\n[mail]\ntransport = "outbox"\noutbox_dir = "outbox"\n',
                    encoding="utf-8")
    return path


@pytest.fixture
def cfg():
    return parse_config({"la": {"name": "Example County Council"}}, "test")


@pytest.fixture
def tracker_path(tmp_path):
    return write_tracker(tmp_path / "tracker.xlsx", inspections=[inspection()])
