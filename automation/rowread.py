"""Reading one row of a contract sheet: the row reader that collects problems, the plain
Inspections columns read by their kind alone (workbook/schema.py Column.attr), the grades,
and which rows a look at some inspections reads."""

from __future__ import annotations

import re
from dataclasses import fields as dataclass_fields
from datetime import date
from functools import lru_cache
from typing import Iterable

from automation import values as V
from automation.calendar import LONDON
from automation.errors import Problem, visible
from automation.model import Inspection, Staff
from automation.rules import Rules
from automation.workbook import schema
from automation.workbook.raw import Formula, RawSheet


class Row:
    """Reads one row's cells, collecting problems instead of raising."""

    __slots__ = ("sheet", "spec", "number", "cells", "problems", "bad")

    def __init__(self, sheet: RawSheet, spec: schema.Sheet, number: int, cells: dict, problems: list):
        self.sheet, self.spec, self.number, self.cells, self.problems = sheet, spec, number, cells, problems
        self.bad = False

    def report(self, column, value, message, fix, severity="error"):
        self.problems.append(Problem(severity, self.spec.name, self.number, column,
                                     V.text(value) if not isinstance(value, Formula) else value.text, message, fix))
        if severity == "error":
            self.bad = True

    def get(self, header, parse=V.text, required=None, severity="error"):
        # The hot path of a read (tens of cells a row): a blank cell costs one set lookup,
        # a plain text cell a strip.
        v = self.cells.get(header)
        if v is None:
            if required if required is not None else header in self.spec.required_headers:
                self.report(header, "", "is empty", f"fill in the {header}.", severity)
            return None
        if type(v) is str and parse is V.text:
            return v.strip()
        if isinstance(v, Formula):
            self.report(header, v, "holds a formula; the tool reads typed values only",
                        "replace the formula with the value itself (Copy, then Paste Values).", severity)
            return None
        try:
            return parse(v)
        except V.BadValue as exc:
            self.report(header, v, f"'{visible(V.text(v))}' {exc.message}", exc.fix, severity)
            return None

    def texts(self, headers) -> list[str]:
        """Text cells, "" for a blank (never "is empty": the caller's sheet fills them itself)."""
        out = []
        for h in headers:
            v = self.cells.get(h)
            out.append("" if v is None else v.strip() if type(v) is str else self.get(h, required=False) or "")
        return out

    def choice(self, header, values, severity="error"):
        raw = self.get(header, severity=severity)
        if raw is None:
            return ""
        exact, loose = _canonical(tuple(values))
        found = exact.get(raw) or loose.get(" ".join(raw.split()).lower())
        if found is not None:
            return found
        self.report(header, raw, f"'{visible(raw)}' is not one of the allowed values",
                    f"choose one of: {', '.join(values)} (use the cell's dropdown).", severity)
        return ""


@lru_cache(maxsize=256)
def _canonical(values: tuple[str, ...]) -> tuple[dict[str, str], dict[str, str]]:
    """({typed exactly as listed: value}, {lower case, spaces tidied: value}), the first listed
    spelling winning: a vocabulary is looked up once per cell, and most cells are typed as listed."""
    loose: dict[str, str] = {}
    for c in values:
        loose.setdefault(c.lower(), c)
    exact = {c: loose[c.lower()] for c in values if " ".join(c.split()) == c}
    return exact, loose


def staff_ref(r: Row, header: str, staff: dict[str, Staff], want_role: str | None = None):
    """The Staff name a cell refers to (staff: by lower-case name), or "" with the problem reported."""
    name = r.get(header)
    if name is None:
        return ""
    match = staff.get(name.lower())
    if match is None:
        r.report(header, name, f"'{visible(name)}' is not on the Staff sheet", "type a Name exactly as it is on the Staff sheet (use the dropdown), or add the officer to Staff.")
        return ""
    if want_role and match.role != want_role:
        r.report(header, name, f"{name} is listed on Staff as {match.role}, not {want_role}",
                 "check the right officer is named, or correct their Role on the Staff sheet.", "warning")
    return match.name


def _grade_plan(fw, frameworks) -> tuple[tuple[str, object], ...]:
    """(area, the framework whose area it is) for every grade column, read on fw's scale
    where fw has the area (Early years, Sixth form are both frameworks')."""
    out, seen = [], set()
    for other in frameworks:
        for area in (fw.areas if other is fw else [a for a in other.areas if a not in fw.areas]):
            if area not in seen:
                seen.add(area)
                out.append((area, other))
    return tuple(out)


def _grades(r: Row, fw, look: "Lookups") -> dict[str, str]:
    out = {}
    cells = r.cells
    for area, other in look.grade_plan(fw):
        if area not in cells:
            continue
        value = r.get(area)
        if value is None:
            continue
        if other is not fw:
            r.report(area, value, f"'{area}' is a {other.label} area but this inspection is under the {fw.label}",
                     f"record grades in the {fw.label} columns ({', '.join(fw.areas[:3])}, ...).", "warning")
            continue
        grade = look.grade(fw, value)
        if grade is None:
            r.report(area, value, f"'{visible(value)}' is not on the {fw.label} scale", f"choose one of: {', '.join(fw.scale)}.", "warning")
        else:
            out[area] = grade
    return out


class Lookups:
    """What every row of a read looks up, worked out once per read rather than once per cell."""

    def __init__(self, rules: Rules, staff: dict[str, Staff]):
        self.rules, self.staff = rules, staff  # staff: by lower-case name
        self._values: dict[tuple[str, str], tuple[str, ...]] = {}
        self._grades: dict[str, tuple] = {}
        self._framework: dict[date, object] = {}
        self._grade: dict[tuple[str, str], str | None] = {}

    def values(self, col: schema.Column, fw) -> tuple[str, ...]:
        """A choice or yes/no column's allowed values (framework="row": the row's framework's own)."""
        key = (col.header, fw.key if col.framework == "row" else "")
        got = self._values.get(key)
        if got is None:
            if col.kind == "yesno":
                got = self.rules.choices("yes_no")
            elif col.framework == "row":
                got = tuple(getattr(fw, col.choices))
            else:
                got = self.rules.choices(col.choices)
            self._values[key] = got
        return got

    def grade_plan(self, fw) -> tuple:
        if fw.key not in self._grades:
            self._grades[fw.key] = _grade_plan(fw, tuple(self.rules.frameworks.values()))
        return self._grades[fw.key]

    def grade(self, fw, value: str) -> str | None:
        """fw.grade(value), remembered: a tracker holds a handful of distinct grades."""
        key = (fw.key, value)
        if key not in self._grade:
            self._grade[key] = fw.grade(value)
        return self._grade[key]

    def framework_on(self, day: date):
        if day not in self._framework:
            self._framework[day] = self.rules.framework_on(day)
        return self._framework[day]


_BLANK = {"date": None, "datetime": None}  # what a blank cell gives, by kind (else "")
_PARSE = {"urn": V.urn, "email": V.email}  # text-like kinds with their own check (else V.text)
GRADES = "grades"  # in a row's plan: the grade columns, read together on the row's framework's scale


def plain_value(r: Row, col: schema.Column, fw, look: Lookups):
    """A plain column's value, read and checked by its kind alone (schema.Column.kind)."""
    h, kind = col.header, col.kind
    if h not in r.cells and not col.required:
        return _BLANK.get(kind, "")
    if kind in ("choice", "yesno"):
        return r.choice(h, look.values(col, fw), col.bad_value)
    if kind == "datetime":
        got = r.get(h, V.parse_datetime, severity=col.bad_value)
        return got[0].replace(tzinfo=LONDON) if got else None
    if kind == "date":
        return r.get(h, V.parse_date, severity=col.bad_value)
    if kind == "staff":
        return staff_ref(r, h, look.staff)
    return r.get(h, _PARSE.get(kind, V.text), severity=col.bad_value) or ""


def row_plan(spec: schema.Sheet) -> list:
    """(header, column, required, what a blank gives, attr, whether Inspection declares it) for
    the plain columns (with attr), and GRADES for the grade columns, in the sheet's order."""
    plan: list = []
    for col in spec.columns:
        if col.attr:
            plan.append((col.header, col, col.required, _BLANK.get(col.kind, ""),
                         col.attr, col.attr in _INSPECTION_FIELDS))
        elif col.kind == "grade" and GRADES not in plan:
            plan.append(GRADES)
    return plan


_INSPECTION_FIELDS = frozenset(f.name for f in dataclass_fields(Inspection))


def build_inspection(r: Row, look: Lookups, plan: list, fw, iid, new, urn, itype, notified, start, feedback,
                     deferral, sent) -> Inspection:
    """The Inspection of a checked row: the core values given, the plain columns and grades read by plan."""
    known: dict[str, object] = {}
    extra: dict[str, object] = {}
    cells = r.cells
    for step in plan:
        if step is GRADES:
            known["grades"] = _grades(r, fw, look)
            continue
        header, col, required, blank, attr, typed = step
        # Most plain cells are blank: no call for those.
        value = plain_value(r, col, fw, look) if header in cells or required else blank
        (known if typed else extra)[attr] = value
    return Inspection(row=r.number, inspection_id=iid, id_is_new=new, urn=urn, inspection_type=itype,
                      framework=fw.key, notified_at=notified, start_date=start, deferral=deferral,
                      contact_plan_sent=sent, final_feedback_at=feedback, fields=extra, **known)


# The tool's own ids name the school: OFS-<URN>-<yyyymmdd>.
_OWN_ID = re.compile(r"OFS-(\d{6,7})-\d{8}")


class Pick:
    """Which rows build_tracker reads for some inspections: the rows with those ids (or those row
    numbers), every row of the same schools (a duplicate is found among them, and a row not yet
    given an id gets its school's), the schools' rows and the inspections' follow-ups."""

    def __init__(self, sheet: RawSheet, only: Iterable[str] | None, rows: Iterable[int] | None):
        self.ids = {str(i).strip().upper() for i in only or ()}
        numbers = set(rows or ())
        self.urns = {m.group(1) for i in self.ids if (m := _OWN_ID.fullmatch(i))}
        if numbers:
            self.ids.update(_id_cell(c) for n, c in sheet.rows if c and n in numbers and _id_cell(c))
        for n, cells in sheet.rows:
            if cells and (n in numbers or _id_cell(cells) in self.ids):
                self.urns.add(_urn_cell(cells))
        self.urns.discard("")

    @classmethod
    def named(cls, ids: set[str], urns: set[str]) -> "Pick":
        """A Pick of ids and URNs already known (no sheet looked at)."""
        pick = cls.__new__(cls)
        pick.ids, pick.urns = set(ids), set(urns)
        return pick

    # Each is asked of every row of its sheet: a few dictionary lookups, no parsing.
    def inspection(self, cells: dict) -> bool:
        return _urn_cell(cells) in self.urns or _id_cell(cells) in self.ids

    def school(self, cells: dict) -> bool:
        return _urn_cell(cells) in self.urns

    def follow_up(self, cells: dict) -> bool:
        iid = _id_cell(cells)
        # More than needed is harmless: any OFS- id of one of the schools.
        return iid in self.ids or iid[:4] == "OFS-" and iid[4:].split("-", 1)[0] in self.urns


def keep_for(ids: Iterable[str]) -> dict | None:
    """What a read for these inspections alone may leave out, for workbook.reader's `keep`: the
    rows Pick would not take. None (read every row) unless every id is the tool's own
    OFS-<URN>-<date>, whose URN names the school before any row is read; the caller checks that
    each inspection's row has that URN (else it reads again in full)."""
    wanted = {str(i).strip().upper() for i in ids}
    urns = {m.group(1) for i in wanted if (m := _OWN_ID.fullmatch(i))}
    if not wanted or len(urns) != len(wanted):
        return None
    pick = Pick.named(wanted, urns)  # the same tests Pick applies, over the cells that decide them
    return {"Inspections": (frozenset(("URN", "Inspection ID")), pick.inspection),
            "Schools": (frozenset(("URN",)), pick.school),
            "Follow-ups": (frozenset(("Inspection ID",)), pick.follow_up),
            "Email log": (frozenset(("Inspection ID",)), lambda cells: _id_cell(cells) in wanted)}


def own_urn(inspection_id: str) -> str | None:
    """The URN the tool's own id names (OFS-<URN>-<date>), or None."""
    m = _OWN_ID.fullmatch(str(inspection_id).strip().upper())
    return m.group(1) if m else None


def _id_cell(cells: dict) -> str:
    v = cells.get("Inspection ID")
    if type(v) is str:
        return v.strip().upper()
    return "" if v is None or isinstance(v, Formula) else V.text(v).upper()


def _urn_cell(cells: dict) -> str:
    v = cells.get("URN")
    if type(v) is int:
        return str(v)
    return v.strip() if type(v) is str else V.text(v)
