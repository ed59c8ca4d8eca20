"""A user's own pivot table on their own sheet survives a run.

The fixture adds genuine ECMA-376 pivot parts to a real tracker (cache definition, cache
records, pivot table, their relationships, content types and the workbook's <pivotCaches>),
proves they are a real pivot (openpyxl reads it; LibreOffice, when installed, imports it as
a data pilot), runs the product, and checks the pivot is untouched while the tool's own
cells were really written."""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from datetime import datetime

import openpyxl
import pytest
from lxml import etree

from automation.calendar import LONDON
from automation.mail.transport import MemoryTransport
from automation.run import run
from automation.workbook import package as pkg
from automation.workbook.package import NS
from tests.conftest import inspection, write_tracker

NOW = datetime(2026, 11, 16, 13, 0, tzinfo=LONDON)  # notified 12:05 the same day: the contact plan goes
SHEET = "My analysis"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
CT = "application/vnd.openxmlformats-officedocument.spreadsheetml."
CACHE = "xl/pivotCache/pivotCacheDefinition1.xml"
RECORDS = "xl/pivotCache/pivotCacheRecords1.xml"
PIVOT = "xl/pivotTables/pivotTable1.xml"
PIVOT_PARTS = (CACHE, RECORDS, PIVOT, pkg.rels_path(CACHE), pkg.rels_path(PIVOT))
TABLE_NS = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

# Source: Inspections!C1:D3 (URN, Inspection type). Rows: Inspection type; values: count of URN.
CACHE_XML = HEAD + f"""<pivotCacheDefinition xmlns="{NS['m']}" xmlns:r="{NS['r']}" r:id="rId1" \
refreshedBy="Jo Admin" refreshedDate="46342.5" createdVersion="6" refreshedVersion="6" \
minRefreshableVersion="3" recordCount="2"><cacheSource type="worksheet"><worksheetSource \
ref="C1:D3" sheet="Inspections"/></cacheSource><cacheFields count="2"><cacheField name="URN" \
numFmtId="0"><sharedItems/></cacheField><cacheField name="Inspection type" numFmtId="0"><sharedItems \
count="2"><s v="Full"/><s v="Monitoring"/></sharedItems></cacheField></cacheFields></pivotCacheDefinition>"""
RECORDS_XML = HEAD + f"""<pivotCacheRecords xmlns="{NS['m']}" xmlns:r="{NS['r']}" count="2">\
<r><s v="100001"/><x v="0"/></r><r><s v="100002"/><x v="1"/></r></pivotCacheRecords>"""
PIVOT_XML = HEAD + f"""<pivotTableDefinition xmlns="{NS['m']}" name="InspectionsByType" cacheId="1" \
applyNumberFormats="0" applyBorderFormats="0" applyFontFormats="0" applyPatternFormats="0" \
applyAlignmentFormats="0" applyWidthHeightFormats="1" dataCaption="Values" updatedVersion="6" \
minRefreshableVersion="3" useAutoFormatting="1" itemPrintTitles="1" createdVersion="6" indent="0" \
outline="1" outlineData="1"><location ref="A3:B6" firstHeaderRow="1" firstDataRow="1" firstDataCol="1"/>\
<pivotFields count="2"><pivotField dataField="1" showAll="0"/><pivotField axis="axisRow" showAll="0">\
<items count="3"><item x="0"/><item x="1"/><item t="default"/></items></pivotField></pivotFields>\
<rowFields count="1"><field x="1"/></rowFields><rowItems count="3"><i><x/></i><i><x v="1"/></i>\
<i t="grand"><x/></i></rowItems><colItems count="1"><i/></colItems><dataFields count="1"><dataField \
name="Count of URN" fld="0" subtotal="count" baseField="0" baseItem="0"/></dataFields><pivotTableStyleInfo \
name="PivotStyleLight16" showRowHeaders="1" showColHeaders="1" showRowStripes="0" showColStripes="0" \
showLastColumn="1"/></pivotTableDefinition>"""
# What Excel stores as the pivot's rendered cells (a pivot's output is ordinary cells).
RENDERED = [["Inspections by type"], [], ["Row Labels", "Count of URN"], ["Full", 1], ["Monitoring", 1],
            ["Grand Total", 2]]
# CT_Workbook's children before <pivotCaches>, in schema order: it goes after the last present.
BEFORE_PIVOT_CACHES = ("fileVersion", "fileSharing", "workbookPr", "workbookProtection", "bookViews", "sheets",
                       "functionGroups", "externalReferences", "definedNames", "calcPr", "oleSize",
                       "customWorkbookViews")


def _rels(*rels: tuple[str, str, str]) -> bytes:
    root = etree.Element(f"{{{NS['pr']}}}Relationships", nsmap={None: NS["pr"]})
    for rid, kind, target in rels:
        etree.SubElement(root, f"{{{NS['pr']}}}Relationship", Id=rid, Type=REL + kind, Target=target)
    return pkg.serialise(root)


def _free_id(rels) -> str:
    ids = {r.get("Id") for r in rels}
    return next(f"rId{i}" for i in range(1, 10_000) if f"rId{i}" not in ids)


def add_pivot(path) -> str:
    """Add the pivot parts to the package at `path`, on sheet SHEET; returns that sheet's part."""
    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
        sheet_part = pkg.sheet_parts(z)[SHEET]
        wb_part = pkg.workbook_part(z)
    assert pkg.rels_path(sheet_part) not in parts  # openpyxl wrote no rels for a plain sheet
    parts[CACHE], parts[RECORDS], parts[PIVOT] = CACHE_XML.encode(), RECORDS_XML.encode(), PIVOT_XML.encode()
    parts[pkg.rels_path(CACHE)] = _rels(("rId1", "pivotCacheRecords", "pivotCacheRecords1.xml"))
    parts[pkg.rels_path(PIVOT)] = _rels(("rId1", "pivotCacheDefinition", "../pivotCache/pivotCacheDefinition1.xml"))
    parts[pkg.rels_path(sheet_part)] = _rels(("rId1", "pivotTable", "../pivotTables/pivotTable1.xml"))

    wb_rels = pkg.parse(parts[pkg.rels_path(wb_part)])
    rid = _free_id(wb_rels)
    etree.SubElement(wb_rels, f"{{{NS['pr']}}}Relationship", Id=rid, Type=REL + "pivotCacheDefinition",
                     Target="pivotCache/pivotCacheDefinition1.xml")
    parts[pkg.rels_path(wb_part)] = pkg.serialise(wb_rels)

    book = pkg.parse(parts[wb_part])
    caches = etree.Element(f"{pkg.M}pivotCaches")
    etree.SubElement(caches, f"{pkg.M}pivotCache", cacheId="1").set(pkg.R_ID, rid)
    last = [el for el in book if etree.QName(el).localname in BEFORE_PIVOT_CACHES][-1]
    last.addnext(caches)
    parts[wb_part] = pkg.serialise(book)

    types = pkg.parse(parts["[Content_Types].xml"])
    for part, kind in ((CACHE, "pivotCacheDefinition"), (RECORDS, "pivotCacheRecords"), (PIVOT, "pivotTable")):
        etree.SubElement(types, f"{{{NS['ct']}}}Override", PartName="/" + part, ContentType=f"{CT}{kind}+xml")
    parts["[Content_Types].xml"] = pkg.serialise(types)

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for name, data in parts.items():
            out.writestr(name, data)
    return sheet_part


def pivot_tracker(tmp_path):
    path = write_tracker(tmp_path / "tracker.xlsx",
                         inspections=[inspection(), inspection(urn="100002", itype="Monitoring")],
                         extra_sheets={SHEET: RENDERED})
    return path, add_pivot(path)


def parts(path):
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


def assert_openpyxl_sees_pivot(path):
    ws = openpyxl.load_workbook(path)[SHEET]
    assert len(ws._pivots) == 1
    pivot = ws._pivots[0]
    assert pivot.name == "InspectionsByType" and pivot.location.ref == "A3:B6"
    source = pivot.cache.cacheSource.worksheetSource
    assert (source.sheet, source.ref) == ("Inspections", "C1:D3")
    assert [f.name for f in pivot.cache.cacheFields] == ["URN", "Inspection type"]
    assert len(pivot.cache.records.r) == 2
    assert pivot.dataFields[0].name == "Count of URN"


def libreoffice_data_pilots(path, tmp_path):
    """The data-pilot tables LibreOffice makes of the workbook (converted to .ods)."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    out = tmp_path / f"ods-{path.stat().st_mtime_ns}"
    profile = tmp_path / "lo-profile"  # our own profile: other LibreOffice runs may be going
    subprocess.run([soffice, f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", "ods",
                    "--outdir", str(out), str(path)], check=True, capture_output=True, timeout=180)
    with zipfile.ZipFile(out / (path.stem + ".ods")) as z:
        content = etree.fromstring(z.read("content.xml"))
    pilots = content.findall(f".//{{{TABLE_NS}}}data-pilot-table")
    return [(p.get(f"{{{TABLE_NS}}}target-range-address"),
             p.find(f"{{{TABLE_NS}}}source-cell-range").get(f"{{{TABLE_NS}}}cell-range-address")) for p in pilots]


def test_the_fixture_is_a_real_pivot_table(tmp_path):
    path, _ = pivot_tracker(tmp_path)
    assert_openpyxl_sees_pivot(path)
    book = pkg.parse(parts(path)["xl/workbook.xml"])
    assert book.find(f"{pkg.M}pivotCaches/{pkg.M}pivotCache") is not None


def test_pivot_table_survives_a_run(tmp_path, cfg):
    path, sheet_part = pivot_tracker(tmp_path)
    before = parts(path)
    result = run(path, cfg, NOW, transport=MemoryTransport())
    assert result.saved and result.cells_written > 0
    after = parts(path)

    # Every pivot part, the workbook, its rels, content types and the user's sheet: byte for byte.
    for name in (*PIVOT_PARTS, pkg.rels_path(sheet_part), sheet_part, "xl/workbook.xml",
                 "xl/_rels/workbook.xml.rels", "[Content_Types].xml"):
        assert after.get(name) == before[name], name
    with zipfile.ZipFile(path) as z:
        sheets = pkg.sheet_parts(z)
    tool_parts = {sheets[s] for s in ("Inspections", "Email log", "Problems", "Follow-ups")} | {"xl/styles.xml"}
    changed = {n for n in before if before[n] != after.get(n)} | (set(after) - set(before))
    assert changed <= tool_parts, changed
    book = pkg.parse(after["xl/workbook.xml"])
    assert book.find(f"{pkg.M}pivotCaches/{pkg.M}pivotCache") is not None
    sheet_rels = pkg.parse(after[pkg.rels_path(sheet_part)])
    assert [pkg.resolve(sheet_part, r.get("Target")) for r in sheet_rels] == [PIVOT]

    assert_openpyxl_sees_pivot(path)
    # Not vacuous: the tool's own cells were written.
    ws = openpyxl.load_workbook(path)["Inspections"]
    headers = [c.value for c in ws[1]]
    ids = [ws.cell(r, headers.index("Inspection ID") + 1).value for r in (2, 3)]
    assert ids == ["OFS-100001-20261116", "OFS-100002-20261116"]
    assert [ws.cell(r, headers.index("Status") + 1).value for r in (2, 3)] == ["Plan sent", "Plan sent"]
    log = openpyxl.load_workbook(path)["Email log"]
    logged = [row[1] for row in log.iter_rows(min_row=2, values_only=True)]
    plans = [m for m in result.messages if m.purpose in ("contact_plan_internal", "contact_plan_school")]
    assert sorted(set(logged)) == ids and len(logged) == len(result.messages) and len(plans) == 4


@pytest.mark.skipif(not (shutil.which("soffice") or shutil.which("libreoffice")), reason="LibreOffice not installed")
def test_libreoffice_imports_the_pivot_before_and_after_a_run(tmp_path, cfg):
    path, _ = pivot_tracker(tmp_path)
    expected = [("'My analysis'.A3:'My analysis'.B6", "Inspections.C1:Inspections.D3")]
    assert libreoffice_data_pilots(path, tmp_path) == expected
    result = run(path, cfg, NOW, transport=MemoryTransport())
    assert result.saved and result.cells_written > 0
    assert libreoffice_data_pilots(path, tmp_path) == expected
