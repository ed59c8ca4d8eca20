"""Trackers written by other writers than openpyxl (XlsxWriter, LibreOffice), and the
independent read-backs the tests judge them by: every cell through openpyxl, the package's
tables, and LibreOffice converting the file headless."""

from __future__ import annotations

import csv
import re
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import openpyxl
from openpyxl.utils import get_column_letter, range_boundaries

from automation.rules import load_rules
from automation.workbook import schema
from conftest import SCHOOLS, STAFF, inspection

CLI = [sys.executable, "-m", "automation.cli"]
NOW = "2026-11-16T13:05"
SENT_AT = datetime(2026, 11, 16, 13, 5)
NOTE = "Note: the log is archived every September."
NOTE_ROW = 31
USER_COLUMNS = ("My notes", "Days' notice")
SOFFICE = shutil.which("soffice")
# LibreOffice 7.2+: every sheet to its own <name>-<sheet>.csv, raw values (not as shown).
CSV_ALL_SHEETS = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1"

INSPECTIONS = [inspection(**{"Lead inspector": "Lee Inman"}),
               inspection(urn="100002", itype="Monitoring", notified=datetime(2026, 11, 16, 9, 30),
                          start=datetime(2026, 11, 18))]


def _offers() -> list[dict]:
    return [{"Offer": o["name"], "Provider": o.get("provider"), "What it is": o.get("detail"),
             "How to access": o.get("contact"), "Include in school emails": "Yes"} for o in load_rules().support_offers]


def xlsxwriter_tracker(path: Path, *, date_1904: bool = False, inline_strings: bool = False,
                       note_row: int = NOTE_ROW) -> Path:
    """A tracker as XlsxWriter writes one: shared strings (or inline strings), Excel tables with
    totals rows on Inspections and Email log, a note below the log's table, the user's own
    columns (one a shared formula, as Excel stores a filled-down formula), a user's sheet."""
    import xlsxwriter  # dev extra

    # XlsxWriter writes inline strings only when streaming, and cannot stream tables.
    wb = xlsxwriter.Workbook(str(path), {"date_1904": date_1904, "constant_memory": inline_strings})
    stamp = wb.add_format({"num_format": "dd/mm/yyyy hh:mm"})
    day = wb.add_format({"num_format": "dd/mm/yyyy"})
    data = {"Schools": SCHOOLS, "Staff": STAFF, "Inspections": INSPECTIONS, "Support offers": _offers()}
    for spec in schema.ALL:
        ws = wb.add_worksheet(spec.name)
        heads = spec.headers()
        extra = list(USER_COLUMNS) if spec is schema.INSPECTIONS else []
        rows = data.get(spec.name, [])
        for c, h in enumerate(heads + extra):
            ws.write_string(0, c, h)
        for r, row in enumerate(rows, 1):
            for c, h in enumerate(heads):
                v = row.get(h)
                if isinstance(v, datetime):
                    ws.write_datetime(r, c, v, stamp)
                elif v is not None:
                    ws.write(r, c, v)
            if extra:
                ws.write_string(r, len(heads), f"ring the head first ({r})")
                notified, start = (get_column_letter(heads.index(h) + 1) for h in ("Notified at", "Start date"))
                gap = row["Start date"] - row["Notified at"]
                ws.write_formula(r, len(heads) + 1, f"={start}{r + 1}-{notified}{r + 1}", None,
                                 round(gap.total_seconds() / 86400, 6))
        if not inline_strings and spec.name in ("Inspections", "Email log"):
            columns = [{"header": h} for h in heads + extra]
            columns[0]["total_string"] = "Total"
            columns[-1]["total_function"] = "count"
            last = max(len(rows), 1) + 1  # an empty data row when there are none, then the totals row
            ws.add_table(0, 0, last, len(columns) - 1, {"name": spec.name.replace(" ", "") + "Tbl",
                                                         "columns": columns, "total_row": True})
        if spec.name == "Email log":
            ws.write_string(note_row - 1, 0, NOTE)
    ws = wb.add_worksheet("Dashboard")
    ws.write_string(0, 0, "Inspections so far")
    ws.write_formula(0, 1, "=COUNTA(Inspections!C:C)-1", None, len(INSPECTIONS))
    ws.write_string(1, 0, "Year starts")
    ws.write_datetime(1, 1, datetime(2026, 9, 1), day)
    wb.close()
    return _share_formulas(path, get_column_letter(len(schema.INSPECTIONS.headers()) + 2), len(INSPECTIONS))


def _share_formulas(path: Path, letter: str, n: int) -> Path:
    """Store the filled-down Days' notice formulas as Excel does: one shared formula."""
    with zipfile.ZipFile(path) as z:
        parts = {i.filename: z.read(i) for i in z.infolist()}
    name = sheet_part(path, "Inspections")
    xml = parts[name].decode()
    for k, r in enumerate(range(2, n + 2)):
        cell = re.compile(rf'(<c r="{letter}{r}"[^>]*>)<f>([^<]*)</f>')
        share = (rf'\1<f t="shared" ref="{letter}2:{letter}{n + 1}" si="0">\2</f>' if k == 0
                 else r'\1<f t="shared" si="0"/>')
        xml, hits = cell.subn(share, xml)
        assert hits == 1, f"no formula in {letter}{r}"
    parts[name] = xml.encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for part_name, blob in parts.items():
            z.writestr(part_name, blob)
    return path


def sheet_part(path: Path, sheet: str) -> str:
    """The zip member holding a sheet, by its name (through workbook.xml and its rels)."""
    with zipfile.ZipFile(path) as z:
        book = z.read("xl/workbook.xml").decode()
        rels = z.read("xl/_rels/workbook.xml.rels").decode()
    rid = re.search(rf'<sheet [^>]*name="{re.escape(sheet)}"[^>]*r:id="([^"]+)"', book).group(1)
    target = re.search(rf'<Relationship [^>]*Id="{rid}"[^>]*Target="([^"]+)"', rels)
    target = target or re.search(rf'<Relationship [^>]*Target="([^"]+)"[^>]*Id="{rid}"', rels)
    t = target.group(1)
    return t.lstrip("/") if t.startswith("/") else "xl/" + t


# ---------------------------------------------------------------- LibreOffice

def soffice(fmt: str, files: list[Path], outdir: Path, profile: Path) -> subprocess.CompletedProcess:
    """One headless LibreOffice converting several files (its own profile: others may run one too)."""
    outdir.mkdir(parents=True, exist_ok=True)
    return subprocess.run([SOFFICE, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
                           "--nologo", "--convert-to", fmt, "--outdir", str(outdir), *map(str, files)],
                          capture_output=True, text=True, timeout=120)


def lo_csv(outdir: Path, stem: str, sheet: str) -> list[list[str]] | None:
    """A sheet as LibreOffice exported it to CSV (None: LibreOffice wrote nothing for it)."""
    path = outdir / f"{stem}-{sheet}.csv"
    if not path.exists():
        return None
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def lo_datetime(text: str) -> datetime:
    """A date-time as LibreOffice's raw CSV export writes it (en-US)."""
    return datetime.strptime(text, "%m/%d/%Y %H:%M:%S")


# ---------------------------------------------------------------- before / after

Cells = dict[str, dict[tuple[int, int], tuple[object, str]]]


def cells(path: Path) -> Cells:
    """Every non-empty cell (value or formula as stored, number format) of every sheet."""
    wb = openpyxl.load_workbook(path)
    out = {ws.title: {(c.row, c.column): (c.value, c.number_format) for row in ws.iter_rows() for c in row
                      if c.value is not None} for ws in wb.worksheets}
    wb.close()
    return out


def header_row(sheet: dict, spec: schema.Sheet, search: int = 20) -> int | None:
    """The row (of the first `search`) holding most of the contract's headers, as a person sees it."""
    wanted = {h.lower() for h in spec.headers()}
    scores = {r: sum(1 for (rr, _), (v, _) in sheet.items() if rr == r and str(v).strip().lower() in wanted)
              for r in range(1, search + 1)}
    best = max(scores, key=scores.get)
    return best if scores[best] >= 2 else None


def outside_tool(before: Cells, after: Cells, header_rows: dict[str, int] | None = None) -> list[str]:
    """Every cell the run changed, added or removed that is not the tool's to write:
    the tool's columns below the header row of a contract sheet are; nothing else is."""
    header_rows = header_rows or {}
    bad = []
    for title in sorted(set(before) | set(after)):
        b, a = before.get(title, {}), after.get(title, {})
        spec = schema.BY_NAME.get(title)
        head = header_rows.get(title) or (header_row(b, spec) if spec else None)
        tool_cols = set()
        if spec and head:
            heads = {c: str(v).strip().lower() for (r, c), (v, _) in b.items() if r == head}
            tool_cols = {c for c, h in heads.items()
                         if any(col.tool and col.header.lower() == h for col in spec.columns)}
        for key in sorted(set(b) | set(a)):
            if head and key[0] > head and key[1] in tool_cols:
                continue
            if b.get(key) != a.get(key):
                bad.append(f"{title}!{get_column_letter(key[1])}{key[0]}: {b.get(key)!r} -> {a.get(key)!r}")
    if title_missing := set(before) - set(after):
        bad.append(f"sheets gone: {sorted(title_missing)}")
    return bad


@dataclass
class TableSeen:
    sheet: str
    name: str
    ref: str
    totals: int
    autofilter: str | None
    columns: list[str] = field(default_factory=list)


def tables(path: Path) -> list[TableSeen]:
    """Every Excel table in the file, with the sheet it sits on (openpyxl's reading)."""
    wb = openpyxl.load_workbook(path)
    out = [TableSeen(ws.title, t.displayName, t.ref, int(t.totalsRowCount or 0),
                     t.autoFilter.ref if t.autoFilter is not None else None, [c.name for c in t.tableColumns])
           for ws in wb.worksheets for t in ws.tables.values()]
    wb.close()
    return out


def table_problems(path: Path) -> list[str]:
    """What is wrong with the file's tables: a header row that is not the table's column names,
    a totals row that is not the last row of the table (or not labelled), a data row stranded
    below the totals row, a filter reaching outside the table, tables overlapping."""
    wb = openpyxl.load_workbook(path)
    bad = []
    seen: dict[str, list[tuple[int, int, int, int]]] = {}
    for t in tables(path):
        ws = wb[t.sheet]
        c1, r1, c2, r2 = range_boundaries(t.ref)
        heads = [ws.cell(r1, c).value for c in range(c1, c2 + 1)]
        if heads != t.columns:
            bad.append(f"{t.sheet}/{t.name}: header row {heads} is not the table's columns {t.columns}")
        if t.totals:
            label = ws.cell(r2, c1).value
            if label != "Total":
                bad.append(f"{t.sheet}/{t.name}: last row {r2} of {t.ref} is not the totals row (it starts {label!r})")
            for r in range(r2 + 1, ws.max_row + 1):  # the tool's rows (dates, ids), not a user's note
                vals = [ws.cell(r, c).value for c in range(c1, c2 + 1)]
                if any(isinstance(v, datetime) or str(v).startswith("OFS-") for v in vals):
                    bad.append(f"{t.sheet}/{t.name}: row {r}, below the totals row, holds the tool's data")
            for r in range(r1 + 1, r2):
                if ws.cell(r, c1).value == "Total":
                    bad.append(f"{t.sheet}/{t.name}: a second 'Total' row at {r}, inside the table")
        if t.autofilter:
            f1, g1, f2, g2 = range_boundaries(t.autofilter)
            if not (c1 <= f1 and f2 <= c2 and r1 == g1 and g2 <= r2):
                bad.append(f"{t.sheet}/{t.name}: filter {t.autofilter} reaches outside {t.ref}")
        for other in seen.get(t.sheet, []):
            if not (c2 < other[0] or other[2] < c1 or r2 < other[1] or other[3] < r1):
                bad.append(f"{t.sheet}/{t.name}: {t.ref} overlaps another table")
        seen.setdefault(t.sheet, []).append((c1, r1, c2, r2))
    wb.close()
    return bad


# ---------------------------------------------------------------- Excel's own parts in a tracker

_SHARED_CELL = re.compile(r'<c r="([A-Z]+\d+)"([^>]*?) t="s"([^>]*)><v>(\d+)</v></c>')


def graft_excel_sheet(tracker: Path, excel: Path, name: str) -> tuple[str, str]:
    """Add an Excel-authored file's first sheet and its table to the tracker as sheet `name`,
    its few shared strings made inline (the tracker has its own string table), the rest of
    Excel's markup as Excel wrote it. Returns (sheet part, table part) as now in the tracker."""
    with zipfile.ZipFile(excel) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
        strings = re.findall(r"<si><t[^>]*>([^<]*)</t></si>", z.read("xl/sharedStrings.xml").decode())
        table = z.read("xl/tables/table1.xml").decode()
    sheet = _SHARED_CELL.sub(lambda m: f'<c r="{m[1]}"{m[2]} t="inlineStr"{m[3]}><is><t>{strings[int(m[4])]}</t></is></c>',
                             sheet)
    with zipfile.ZipFile(tracker) as z:
        parts = {i.filename: z.read(i) for i in z.infolist()}
    n_sheets = sum(1 for p in parts if re.fullmatch(r"xl/worksheets/sheet\d+\.xml", p))
    n_tables = sum(1 for p in parts if re.fullmatch(r"xl/tables/table\d+\.xml", p))
    sheet_name, table_name = f"xl/worksheets/sheet{n_sheets + 1}.xml", f"xl/tables/table{n_tables + 1}.xml"
    table = re.sub(r'<table ([^>]*?)\bid="\d+"', rf'<table \1id="{n_tables + 1}"', table, count=1)  # ids are per workbook
    table = table.replace('name="Table1" displayName="Table1"', f'name="{name.replace(" ", "")}" displayName="{name.replace(" ", "")}"')
    book = parts["xl/workbook.xml"].decode()
    sheet_id = max(int(i) for i in re.findall(r'sheetId="(\d+)"', book)) + 1
    rid = f"rIdGraft{sheet_id}"
    parts["xl/workbook.xml"] = book.replace("</sheets>", f'<sheet name="{name}" sheetId="{sheet_id}" r:id="{rid}"/></sheets>').encode()
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    parts["xl/_rels/workbook.xml.rels"] = parts["xl/_rels/workbook.xml.rels"].decode().replace(
        "</Relationships>", f'<Relationship Id="{rid}" Type="{rel}/worksheet" Target="worksheets/sheet{n_sheets + 1}.xml"/>'
        "</Relationships>").encode()
    ct = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    parts["[Content_Types].xml"] = parts["[Content_Types].xml"].decode().replace(
        "</Types>", f'<Override PartName="/{sheet_name}" ContentType="{ct}.worksheet+xml"/>'
        f'<Override PartName="/{table_name}" ContentType="{ct}.table+xml"/></Types>').encode()
    parts[sheet_name] = sheet.encode()
    parts[table_name] = table.encode()
    parts[f"xl/worksheets/_rels/sheet{n_sheets + 1}.xml.rels"] = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="http://schemas.openxmlformats.org/'
        f'package/2006/relationships"><Relationship Id="rId1" Type="{rel}/table" Target="../tables/table{n_tables + 1}.xml"/>'
        "</Relationships>").encode()
    with zipfile.ZipFile(tracker, "w", zipfile.ZIP_DEFLATED) as z:
        for part_name, blob in parts.items():
            z.writestr(part_name, blob)
    return sheet_name, table_name
