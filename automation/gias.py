"""Fill or refresh the Schools sheet from the DfE "Get Information about Schools" extract
(edubasealldataYYYYMMDD.csv). The plan is plain data; the CSV reader and the XML-level write
are the edges. Only GIAS's columns are touched: the LA's own (emails, SIM, AI, context notes)
are kept, and a closed school is reported, never deleted."""

from __future__ import annotations

import codecs
import csv
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

from automation import values as V
from automation.config import Config
from automation.errors import Problem, TrackerError, WorkbookError
from automation.rules import Rules, load_rules
from automation.rules_schema import GiasColumns, GiasFile
from automation.workbook import schema
from automation.workbook.raw import RawSheet, RawWorkbook
from automation.workbook.reader import read_workbook
from automation.workbook.writer import SheetEdit, apply_edits

URN, LA_CODE, NAME = "URN", "LA (code)", "EstablishmentName"
TYPE, GROUP, STATUS = "TypeOfEstablishment (name)", "EstablishmentTypeGroup (name)", "EstablishmentStatus (name)"
PHASE, TITLE, FIRST, LAST = "PhaseOfEducation (name)", "HeadTitle (name)", "HeadFirstName", "HeadLastName"
DISTRICT, CLOSE_DATE = "DistrictAdministrative (name)", "CloseDate"
NEEDED = (URN, LA_CODE, NAME, TYPE, GROUP, STATUS, PHASE, FIRST, LAST)
# The Schools columns GIAS fills; District only where the LA has left it blank (an LA may group
# its schools its own way), the others are refreshed.
REFRESHED = ("School name", "Governance", "Phase", "Headteacher")
# Filled from GIAS where GIAS has a value (the extract's column names and its "none" words are in
# rules/gias.toml [columns]); an LA's own entry is kept where GIAS has none.
FROM_GIAS_IF_GIVEN = ("Trust", "Diocese")
LA_ONLY = ("School email", "SIM", "AI")
HEAD_EMAIL = "Headteacher email"
# Progress is reported every this many lines of the extract (a callback per line would slow the read).
PROGRESS_EVERY = 2000


@dataclass(frozen=True)
class GiasSchool:
    urn: str
    name: str
    type_name: str
    group: str
    status: str
    phase: str
    headteacher: str
    district: str
    close_date: str = ""
    trust: str = ""
    diocese: str = ""

    def values(self, rules: GiasFile) -> dict[str, str]:
        """The Schools sheet's values for this establishment (mappings in rules/gias.toml)."""
        gov = rules.governance_by_type.get(self.type_name) or rules.governance_by_group.get(self.group) or "Other"
        phase = rules.phase_by_type.get(self.type_name) or rules.phase.get(self.phase, "")
        return {"URN": self.urn, "School name": self.name, "Governance": gov, "Phase": phase,
                "Headteacher": self.headteacher, "District": self.district, "Trust": self.trust, "Diocese": self.diocese}


@dataclass
class ImportPlan:
    cells: dict[tuple[int, str], str] = field(default_factory=dict)  # (row, header) -> value
    changes: list[str] = field(default_factory=list)  # plain-words changes to existing rows
    added: list[tuple[int, GiasSchool]] = field(default_factory=list)
    closed: list[tuple[int, str, GiasSchool]] = field(default_factory=list)  # (row, tracker name, GIAS record)
    missing: list[tuple[int, str, str]] = field(default_factory=list)  # (row, urn, name): not in the LA's extract
    successors: dict[str, GiasSchool] = field(default_factory=dict)  # closed URN -> a new URN with the same name
    unmapped: set[str] = field(default_factory=set)  # GIAS types/phases with no mapping
    problems: list[Problem] = field(default_factory=list)  # for an officer to act on (a new head's email)

    @property
    def needs_attention(self) -> bool:
        """Whether an officer must act (the command then exits 1)."""
        return bool(self.problems)

    def lines(self, dry_run: bool = False) -> list[str]:
        """The report, in plain words."""
        verb = "would be" if dry_run else "were"
        out = [f"Schools sheet: {len(self.changes)} change(s) to existing schools and {len(self.added)} new school(s) "
               f"{verb} written."]
        out += [f"  - {c}" for c in self.changes]
        if self.added:
            out.append(f"New URNs {'to add' if dry_run else 'added'} (fill in School email, SIM and AI on these rows "
                       "— until then the run reports them on the Problems sheet):")
            out += [f"  - row {r}: {g.urn} {g.name} ({g.type_name})" for r, g in self.added]
        if self.closed:
            out.append("Closed in GIAS (the rows are kept, with their inspection history; delete them when you are ready):")
            for r, name, g in self.closed:
                line = f"  - row {r}: {g.urn} {name} — {g.status}" + (f" on {g.close_date}" if g.close_date else "")
                if g.urn in self.successors:
                    new = self.successors[g.urn]
                    line += (f"; reopened as URN {new.urn} ({new.type_name}): copy the school's emails, SIM, AI and "
                             "context notes to the new row")
                out.append(line)
        if self.missing:
            out.append("In the tracker but not in this GIAS extract for the LA (check the URN, or the school moved LA):")
            out += [f"  - row {r}: {u} {n}" for r, u, n in self.missing]
        if self.unmapped:
            out.append("GIAS values with no mapping in rules/gias.toml (Governance 'Other' or Phase left blank): "
                       + ", ".join(sorted(self.unmapped)))
        if self.problems:
            out.append("To check (the run greets each headteacher at the Headteacher email):")
            out += [f"  - {p}" for p in self.problems]
        if dry_run:
            out.append("Dry run: the tracker was not changed.")
        return out


def extract_encoding(path: Path) -> str:
    """UTF-8 (with or without a byte-order mark) if the whole file decodes as such, else
    Windows-1252 as DfE publishes it; read in chunks, never the whole file at once."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with open(path, "rb") as fh:
            bom = fh.read(3) == codecs.BOM_UTF8
            fh.seek(0)
            while chunk := fh.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8-sig" if bom else "utf-8"


def _counted(lines: Iterable[str], progress: Callable[[int], None] | None) -> Iterator[str]:
    """The lines, telling `progress` how many characters were read every PROGRESS_EVERY lines."""
    done = 0
    for n, line in enumerate(lines, 1):
        done += len(line)
        if progress and n % PROGRESS_EVERY == 0:
            progress(done)
            done = 0
        yield line
    if progress and done:
        progress(done)


def read_extract(path: Path, la_code: str, columns: GiasColumns,
                 progress: Callable[[int], None] | None = None) -> list[GiasSchool]:
    """The LA's establishments from the GIAS CSV (Windows-1252, as DfE publishes it; UTF-8 accepted),
    read row by row: only the LA's rows are kept, so memory does not grow with the extract.
    `columns`: rules/gias.toml [columns] (where the trust and diocese are, and GIAS's words for none).
    `progress`: told how many characters have been read since it was last told (for a progress bar)."""
    trust_col, diocese_col = columns.trust, columns.diocese
    blanks = {b.lower() for b in columns.none_values}
    try:
        encoding = extract_encoding(path)
        with open(path, encoding=encoding, errors="replace", newline="") as fh:
            return _establishments(csv.reader(_counted(fh, progress)), Path(path).name, str(la_code).strip(),
                                   trust_col, diocese_col, blanks)
    except OSError as exc:
        raise TrackerError(f"The GIAS extract {path} cannot be read ({exc.strerror or exc}) — check the path.")
    except csv.Error as exc:
        raise TrackerError(f"The GIAS extract {Path(path).name} is not a readable CSV ({exc}) — download it "
                           "again from get-information-schools.service.gov.uk/Downloads.")


def _establishments(reader, name: str, la_code: str, trust_col: str, diocese_col: str, blanks: set[str]) -> list[GiasSchool]:
    header = next(reader, [])
    at = {h: i for i, h in reversed(list(enumerate(header)))}  # the first of any repeated header
    missing = [c for c in NEEDED if c not in at]
    if missing:
        raise TrackerError(f"{name} is not the GIAS establishment extract: it has no column(s) "
                           f"{', '.join(repr(m) for m in missing)} — download 'Establishment fields CSV' from "
                           "get-information-schools.service.gov.uk/Downloads and use edubasealldata*.csv.")
    la = at[LA_CODE]
    wanted = (URN, NAME, TYPE, GROUP, STATUS, PHASE, FIRST, LAST, DISTRICT, CLOSE_DATE, trust_col, diocese_col)
    out = []
    for row in reader:
        if len(row) <= la or row[la].strip() != la_code:
            continue
        get = {c: (row[at[c]] if c in at and at[c] < len(row) else "").strip() for c in wanted}
        head = " ".join(x for x in (get[FIRST], get[LAST]) if x)
        out.append(GiasSchool(get[URN], get[NAME], get[TYPE], get[GROUP], get[STATUS], get[PHASE], head,
                              get[DISTRICT], get[CLOSE_DATE], _none(get[trust_col], blanks), _none(get[diocese_col], blanks)))
    return out


def _none(value: str, blanks: set[str]) -> str:
    return "" if value.lower() in blanks else value


def plan_import(sheet: RawSheet, extract: list[GiasSchool], rules: GiasFile) -> ImportPlan:
    """What to write to the Schools sheet, and what to report."""
    groups, open_states = set(rules.import_.include_groups), set(rules.import_.open_statuses)
    by_urn = {g.urn: g for g in extract if not groups or g.group in groups}
    plan = ImportPlan()
    existing: dict[str, int] = {}
    for row, cells in sheet.rows:
        urn = V.text(cells.get("URN"))
        if not urn:
            continue
        existing[urn] = row
        g = by_urn.get(urn)
        if g is None:
            plan.missing.append((row, urn, V.text(cells.get("School name"))))
            continue
        if g.status not in open_states:
            plan.closed.append((row, V.text(cells.get("School name")) or g.name, g))
        want = g.values(rules)
        _note_unmapped(plan, g, want, rules)
        for header in REFRESHED + ("District",) + FROM_GIAS_IF_GIVEN:
            if header not in sheet.columns or not want.get(header):
                continue
            old = V.text(cells.get(header))
            if header == "District" and old:
                continue
            if old != want[header]:
                plan.cells[(row, header)] = want[header]
                plan.changes.append(f"row {row}: {urn} {header}: {old or '(blank)'} → {want[header]}")
                if header == "Headteacher":
                    _new_head(plan, sheet, row, cells, old, want[header], rules)
    nxt = max([sheet.header_row, *[n for n, c in sheet.rows if c]]) + 1
    for g in sorted(by_urn.values(), key=lambda g: g.name.lower()):
        if g.urn in existing or g.status not in open_states:
            continue
        want = g.values(rules)
        _note_unmapped(plan, g, want, rules)
        for header, value in want.items():
            if header in sheet.columns and value:
                plan.cells[(nxt, header)] = value
        plan.added.append((nxt, g))
        nxt += 1
    new_by_name = {g.name.lower(): g for _, g in plan.added}
    for _, name, g in plan.closed:
        if name.lower() in new_by_name or g.name.lower() in new_by_name:
            plan.successors[g.urn] = new_by_name.get(name.lower()) or new_by_name[g.name.lower()]
    return plan


def _person(name: str, titles: set[str]) -> str:
    """A name compared without case, punctuation or a title (Mrs Ann Acre is Ann Acre)."""
    words = re.sub(r"[^\w\s'-]", " ", name).casefold().split()
    return " ".join(w for w in words if w not in titles)


def _new_head(plan: ImportPlan, sheet: RawSheet, row: int, cells: dict, old: str, new: str, rules: GiasFile) -> None:
    """A different headteacher: the old head's address is cleared, so the new head is never
    greeted at it, and an officer is asked for the new one."""
    titles = {t.casefold() for t in rules.headteacher.titles}
    email = V.text(cells.get(HEAD_EMAIL))
    if not old or not email or HEAD_EMAIL not in sheet.columns or _person(old, titles) == _person(new, titles):
        return
    plan.cells[(row, HEAD_EMAIL)] = None
    plan.problems.append(Problem(
        "warning", sheet.name, row, HEAD_EMAIL, email,
        f"new headteacher: check the email — GIAS names {new} (was {old}), so the import clears the old head's address",
        f"type {new}'s email in {HEAD_EMAIL} (or the same address again if it is the school's shared head's "
        "mailbox); until then the school's office address is used."))


def _note_unmapped(plan: ImportPlan, g: GiasSchool, want: dict, rules: GiasFile) -> None:
    if g.type_name not in rules.governance_by_type and g.group not in rules.governance_by_group:
        plan.unmapped.add(f"type {g.type_name!r}")
    if not want["Phase"]:
        plan.unmapped.add(f"phase {g.phase!r}")


def import_schools(workbook: Path, csv_path: Path, la_code: str, cfg: Config, dry_run: bool = False,
                   rules: Rules | None = None, progress: Callable[[int], None] | None = None,
                   raw: RawWorkbook | None = None) -> ImportPlan:
    """Read the extract and the Schools sheet, plan, and (unless dry_run) write through the XML writer.
    `progress` is told how far through the extract the read is (see read_extract); `raw`: the tracker
    as already read (a SharePoint tracker, through its store: dry run only)."""
    rules = rules or load_rules(Path(cfg.rules_dir) if cfg.rules_dir else None)
    extract = read_extract(csv_path, la_code, rules.gias.columns, progress)
    if not extract:
        raise TrackerError(f"{Path(csv_path).name} has no establishments with LA (code) {la_code!r} — "
                           "check the code (e.g. 850 for Hampshire) against the LA (code) column.")
    raw = raw if raw is not None else read_workbook(Path(workbook), sheets=(schema.SCHOOLS,))
    sheet = raw.sheets.get("Schools")
    if sheet is None:
        raise WorkbookError(f"{Path(workbook).name} has no Schools sheet — add it (copy it from the tracker template).")
    if "URN" not in sheet.columns:
        raise WorkbookError(f"The Schools sheet of {Path(workbook).name} has no 'URN' column in its header row — add it.")
    plan = plan_import(sheet, extract, rules.gias)
    if not dry_run and plan.cells:
        cells = {(row, sheet.columns[h]): v for (row, h), v in plan.cells.items()}
        apply_edits(Path(workbook), [SheetEdit(sheet.name, cells)], raw.digest)
    return plan
