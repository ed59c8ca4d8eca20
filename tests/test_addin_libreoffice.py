"""The add-in's bulk macros (VBA module OfstedStore) actually run — in LibreOffice's VBA
compatibility layer, headless, on a real tracker — and do what the test double's emulation
does (tests/test_xlstore_double.py), so the round-trip counts and the store tests rest on
an emulation checked against running code. LibreOffice is not Excel: this is evidence the
VBA is sound and the double honest, not a verification in Excel itself."""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import zipfile
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest
from conftest import SCHOOLS, inspection, write_tracker
from test_xlstore_double import FakeBook, _read_sheets, _write_blocks

from automation.addin.vba_store import store_source
from automation.addin.vbaproject import Module, build_vba_project, document_module, normalise_source
from automation.workbook import schema

SYSTEM_PYTHON = "/usr/bin/python3"  # LibreOffice's UNO bridge lives in the system Python


def _uno_available() -> bool:
    if shutil.which("soffice") is None or not Path(SYSTEM_PYTHON).exists():
        return False
    return subprocess.run([SYSTEM_PYTHON, "-c", "import uno"], capture_output=True).returncode == 0


pytestmark = pytest.mark.skipif(not _uno_available(), reason="LibreOffice with Python UNO is not installed")

# Calls the module's functions as the store does, and hands the answers to Python:
# UNO drops Basic dates on the way out, so they travel as text.
PROBE = normalise_source('''Attribute VB_Name = "Probe"
Option Explicit

Public Function ReadAll(ByVal wanted As Variant) As Variant
    Dim got As Variant, item As Variant, g As Variant, i As Long, r As Long, c As Long
    got = OfstedReadSheets(ThisWorkbook, wanted)
    If Not IsArray(got) Then
        ReadAll = got
        Exit Function
    End If
    For i = 1 To UBound(got)
        If IsArray(got(i)) Then
            item = got(i)
            g = item(3)
            For r = LBound(g, 1) To UBound(g, 1)
                For c = LBound(g, 2) To UBound(g, 2)
                    If VarType(g(r, c)) = vbDate Then g(r, c) = "DATE:" & Format(g(r, c), "yyyy-mm-dd hh:mm:ss")
                Next c
            Next r
            item(3) = g
            got(i) = item
        End If
    Next i
    ReadAll = got
End Function

Public Function WriteAll(ByVal sheetNames As Variant, ByVal addresses As Variant, ByVal clears As Variant, _
                         ByVal values As Variant) As String
    WriteAll = OfstedWriteBlocks(ThisWorkbook, sheetNames, addresses, clears, values)
End Function

Public Function Updating() As Boolean
    Updating = Application.ScreenUpdating
End Function
''')

RUNNER = r'''
import json, subprocess, sys, time, uno
from com.sun.star.beans import PropertyValue

def prop(name, value):
    p = PropertyValue(); p.Name = name; p.Value = value; return p

path, port, profile, plan = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
proc = subprocess.Popen(["soffice", "-env:UserInstallation=" + profile, "--headless", "--norestore", "--nologo",
                         "--accept=socket,host=127.0.0.1,port=%s;urp;" % port],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
    for _ in range(240):
        try:
            ctx = resolver.resolve("uno:socket,host=127.0.0.1,port=%s;urp;StarOffice.ComponentContext" % port)
            break
        except Exception:
            time.sleep(0.25)
    desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
    doc = desktop.loadComponentFromURL(uno.systemPathToFileUrl(path), "_blank", 0,
                                       (prop("Hidden", True), prop("MacroExecutionMode", 4)))
    def call(name, *args):
        script = doc.getScriptProvider().getScript(
            "vnd.sun.star.script:OfstedTracker.Probe.%s?language=Basic&location=document" % name)
        return script.invoke(tuple(args), (), ())[0]
    out = {"before": call("ReadAll", tuple(plan["names"])),
           "write": call("WriteAll", *[tuple(plan[k]) for k in ("sheets", "addresses", "clears", "values")]),
           "after": call("ReadAll", tuple(plan["names"])),
           "refused": call("WriteAll", ("Staff", "Staff"), ("A2:A2", "A0:A0"), (False, False), ("x", "y")),
           "updating": call("Updating")}
    doc.close(True)
    print(json.dumps(out))
finally:
    proc.terminate()
    proc.wait(30)
'''


def tracker_xlsm(tmp_path: Path) -> Path:
    """A tracker (dates, a number typed as a number, a Problems list, a sheet name in
    capitals) carrying the add-in's OfstedStore module and the probe, as an .xlsm."""
    src = write_tracker(tmp_path / "tracker.xlsx", schools=[dict(SCHOOLS[0], URN=100001), SCHOOLS[1]], inspections=[
        inspection(notified=datetime(2026, 11, 16, 9, 30), start=datetime(2026, 11, 18)), inspection(urn="100002")])
    wb = openpyxl.load_workbook(src)
    wb["Problems"].append(["old", "Error", "Inspections", 2, "URN", "999999", "Unknown URN", "Fix it"])
    wb["Problems"].append(["old", "Error", "Inspections", 3, "URN", "999998", "Unknown URN", "Fix it"])
    wb["Email log"].title = "tmp"  # openpyxl numbers a title that differs only in case
    wb["tmp"].title = "EMAIL LOG"
    wb.save(src)
    vba = build_vba_project("OfstedTracker", [document_module("ThisWorkbook", "workbook"),
                                              Module("OfstedStore", store_source()), Module("Probe", PROBE)])
    out = tmp_path / "tracker.xlsm"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename).decode("utf-8") if item.filename.endswith((".xml", ".rels")) else None
            if item.filename == "[Content_Types].xml":
                data = data.replace(
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                    "application/vnd.ms-excel.sheet.macroEnabled.main+xml").replace(
                    "</Types>", '<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/></Types>')
            elif item.filename == "xl/_rels/workbook.xml.rels":
                data = data.replace("</Relationships>", '<Relationship Id="rIdVba" Type="http://schemas.microsoft.com/'
                                    'office/2006/relationships/vbaProject" Target="vbaProject.bin"/></Relationships>')
            elif item.filename == "xl/workbook.xml":
                data = re.sub(r"<workbookPr(\s[^>]*)?/>", "", data)  # one workbookPr, naming ThisWorkbook
                data = re.sub(r"(<workbook [^>]*>)", r'\1<workbookPr codeName="ThisWorkbook"/>', data, count=1)
            zout.writestr(item, data.encode("utf-8") if data is not None else zin.read(item.filename))
        zout.writestr("xl/vbaProject.bin", vba)
    return out


def portable(v):
    """Answers from either side, in one shape: lists, dates as text, the file's name only."""
    if isinstance(v, (list, tuple)):
        return [portable(x) for x in v]
    if isinstance(v, datetime):
        return "DATE:" + v.strftime("%Y-%m-%d %H:%M:%S")
    return v


def test_the_bulk_macros_run_in_libreoffice_as_the_double_emulates_them(tmp_path):
    path = tracker_xlsm(tmp_path)
    names = [s.name for s in schema.ALL] + ["No such sheet", "New sheet"]
    plan = {"names": names,
            "sheets": ["Inspections", "email log", "Problems", "Problems", "New sheet"],
            "addresses": ["A2:B3", "A3:B3", "A2:H2", "A3:H3", "A1:B1"],
            "clears": [False, False, False, True, False],
            "values": ["OFS-1", "Planned", "", "Scheduled", "Sent", "OFS-1",
                       "now", "Warning", "Schools", 3.0, "URN", "x", "Check it", "Do this",
                       "hello", 42.0]}
    port = _free_port()
    done = subprocess.run([SYSTEM_PYTHON, "-c", RUNNER, str(path), str(port), (tmp_path / "profile").as_uri(),
                           json.dumps(plan)], capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    lo = json.loads(done.stdout.strip().splitlines()[-1])
    assert not isinstance(lo["before"], str), lo  # a String is the macro saying what failed

    book = FakeBook.from_file(path)
    book.select("Schools", 1)  # where LibreOffice's cursor is when it opens the file
    double = {"before": _read_sheets(book, names),
              "write": _write_blocks(book, *[plan[k] for k in ("sheets", "addresses", "clears", "values")]),
              "after": _read_sheets(book, names)}
    for when in ("before", "after"):
        ours, theirs = portable(double[when]), portable(lo[when])
        assert Path(theirs[0][0]).name == Path(ours[0][0]).name  # LibreOffice's FullName may be the bare name
        assert theirs[0][1] == ours[0][1]
        assert theirs[1:] == ours[1:], when
    assert lo["write"] == double["write"] == ""
    # a failed write comes back as words saying where (not raised), and the screen updates again
    assert lo["refused"].startswith("sheet 'Staff', cells A0:A0: ") and lo["updating"] is True
    # and what the read found is what matters to the store
    before = {name: item for name, item in zip(names, portable(lo["before"])[1:])}
    assert before["No such sheet"] is None is before["New sheet"] and before["Email log"][0] == "EMAIL LOG"
    assert before["Schools"][3][1][0] == 100001.0  # a number, as COM gives it
    assert "DATE:2026-11-16 09:30:00" in before["Inspections"][3][1]
    after = {name: item for name, item in zip(names, portable(lo["after"])[1:])}
    assert after["New sheet"] == ["New sheet", 1, 1, [["hello", 42.0]]]
    assert after["Inspections"][3][1][:3] == ["OFS-1", "Planned", "100001"]
    assert after["Inspections"][3][2][:3] == [None, "Scheduled", "100002"]  # "" leaves the cell empty
    assert after["Email log"][3][2][:2] == ["Sent", "OFS-1"]  # row 3 of 'EMAIL LOG', found by a lower-case name
    assert after["Problems"][3][1][:2] == ["now", "Warning"] and len(after["Problems"][3]) == 2  # row 3 cleared


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
