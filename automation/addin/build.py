"""Build the .xlam from text: ribbon XML, VBA modules and a minimal workbook,
zipped reproducibly (same inputs, same bytes)."""

from __future__ import annotations

import zipfile
from pathlib import Path

from automation.addin.ribbon import check_ribbon, ribbon_xml
from automation.addin.vba import VBA_PROJECT, modules
from automation.addin.vbaproject import Module, build_vba_project
from automation.errors import TrackerError

ADDIN_NAME = "OfstedTracker.xlam"
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


def package_parts(ribbon: bytes, vba_bin: bytes) -> dict[str, bytes]:
    """Every part of the .xlam, by name, in the order they are zipped."""
    ct = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    parts = {
        "[Content_Types].xml": _XML + (
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.ms-excel.addin.macroEnabled.main+xml"/>'
            f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{ct}.worksheet+xml"/>'
            f'<Override PartName="/xl/styles.xml" ContentType="{ct}.styles+xml"/></Types>'),
        "_rels/.rels": _XML + (
            f'<Relationships xmlns="{_PKG_REL}">'
            f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/>'
            '<Relationship Id="rId2" Type="http://schemas.microsoft.com/office/2007/relationships/ui/extensibility" '
            'Target="customUI/customUI14.xml"/></Relationships>'),
        "customUI/customUI14.xml": ribbon,
        "xl/workbook.xml": _XML + (
            f'<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><workbookPr codeName="ThisWorkbook"/>'
            '<bookViews><workbookView visibility="hidden"/></bookViews>'
            '<sheets><sheet name="About" sheetId="1" r:id="rId1"/></sheets></workbook>'),
        "xl/_rels/workbook.xml.rels": _XML + (
            f'<Relationships xmlns="{_PKG_REL}">'
            f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
            f'<Relationship Id="rId2" Type="{_REL}/styles" Target="styles.xml"/>'
            '<Relationship Id="rId3" Type="http://schemas.microsoft.com/office/2006/relationships/vbaProject" '
            'Target="vbaProject.bin"/></Relationships>'),
        "xl/worksheets/sheet1.xml": _XML + (
            f'<worksheet xmlns="{_MAIN}"><sheetPr codeName="Sheet1"/><sheetData>'
            '<row r="1"><c r="A1" t="inlineStr"><is><t>Ofsted tracker ribbon add-in (ofsted-tracker addin build). '
            'Its buttons are on the Ofsted tab.</t></is></c></row></sheetData></worksheet>'),
        "xl/styles.xml": _XML + (
            f'<styleSheet xmlns="{_MAIN}"><fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
            '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>'
            '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
            '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
            '<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs>'
            '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>'),
        "xl/vbaProject.bin": vba_bin,
    }
    return {k: v.encode("utf-8") if isinstance(v, str) else v for k, v in parts.items()}


def zip_bytes(parts: dict[str, bytes]) -> bytes:
    """A zip with fixed timestamps and attributes, so the same parts give the same bytes."""
    import io

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in parts.items():
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 0
            info.external_attr = 0
            z.writestr(info, data, compresslevel=6)
    return buf.getvalue()


def build_addin(out_dir: Path, mods: list[Module] | None = None) -> Path:
    """Write OfstedTracker.xlam and its text sources (for a build through Excel) to out_dir."""
    ribbon = ribbon_xml()
    wrong = check_ribbon(ribbon)
    if wrong:
        raise TrackerError("The ribbon does not match the action registry: " + "; ".join(wrong))
    mods = mods or modules()
    out_dir = Path(out_dir)
    src = out_dir / "src"
    src.mkdir(parents=True, exist_ok=True)
    (src / "customUI14.xml").write_bytes(ribbon)
    for m in mods:
        if not m.document:
            (src / f"{m.name}.bas").write_bytes(m.source.encode("cp1252"))
    from automation.addin.excel_build import powershell_script
    (src / "build-in-excel.ps1").write_text(powershell_script(), encoding="utf-8-sig", newline="\r\n")
    target = out_dir / ADDIN_NAME
    tmp = target.with_suffix(".tmp")
    tmp.write_bytes(zip_bytes(package_parts(ribbon, build_vba_project(VBA_PROJECT, mods))))
    tmp.replace(target)
    return target
