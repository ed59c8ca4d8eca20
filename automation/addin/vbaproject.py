"""A source-only VBA project (vbaProject.bin): PROJECT, PROJECTwm, VBA/dir,
VBA/_VBA_PROJECT and one compressed stream per module (MS-OVBA 2.3).

With no compiled p-code (the _VBA_PROJECT version 0xFFFF), Excel compiles the
modules from source when it opens the add-in."""

from __future__ import annotations

import struct
import uuid
from dataclasses import dataclass

from automation.addin.cfb import write_compound
from automation.addin.ovba import compress, encrypt

CODEPAGE = 1252
# Office object library: for the ribbon callback's IRibbonControl. Excel resolves it by GUID.
OFFICE_LIBID = ("*\\G{2DF8D04C-5BFA-101B-BDE5-00AA0044DE52}#2.0#0#C:\\Program Files\\Common Files\\"
                "Microsoft Shared\\OFFICE16\\MSO.DLL#Microsoft Office 16.0 Object Library")
DOCUMENT_BASES = {"workbook": "0{00020819-0000-0000-C000-000000000046}",
                  "worksheet": "0{00020820-0000-0000-C000-000000000046}"}


@dataclass(frozen=True)
class Module:
    name: str
    source: str  # the text as Excel stores it, "Attribute VB_Name" line first
    document: bool = False  # ThisWorkbook / sheet modules


def document_module(name: str, base: str) -> Module:
    """An empty document module (ThisWorkbook or a worksheet) as Excel writes one."""
    attrs = [f'Attribute VB_Name = "{name}"', f'Attribute VB_Base = "{DOCUMENT_BASES[base]}"',
             "Attribute VB_GlobalNameSpace = False", "Attribute VB_Creatable = False",
             "Attribute VB_PredeclaredId = True", "Attribute VB_Exposed = True",
             "Attribute VB_TemplateDerived = False", "Attribute VB_Customizable = True"]
    return Module(name, "\r\n".join(attrs) + "\r\n", document=True)


def normalise_source(text: str) -> str:
    """CRLF line ends, as the VBA editor stores them."""
    return "\r\n".join(text.replace("\r\n", "\n").split("\n")).rstrip("\r\n") + "\r\n"


def project_streams(name: str, modules: list[Module]) -> dict[str, bytes]:
    """Every stream of the project, by compound-file path."""
    project_id = "{" + str(uuid.uuid5(uuid.NAMESPACE_URL, "ofsted-tracker:" + name)).upper() + "}"
    streams = {"PROJECT": _project(name, project_id, modules), "PROJECTwm": _project_wm(modules),
               "VBA/_VBA_PROJECT": b"\xcc\x61\xff\xff\x00\x00\x00", "VBA/dir": compress(_dir(name, modules))}
    for m in modules:
        streams[f"VBA/{m.name}"] = compress(_mbcs(m.source))
    return streams


def build_vba_project(name: str, modules: list[Module]) -> bytes:
    """vbaProject.bin bytes for the modules."""
    return write_compound(project_streams(name, modules))


def _mbcs(text: str) -> bytes:
    return text.encode(f"cp{CODEPAGE}")


def _project(name: str, project_id: str, modules: list[Module]) -> bytes:
    lines = [f'ID="{project_id}"']
    lines += [f"Document={m.name}/&H00000000" if m.document else f"Module={m.name}" for m in modules]
    lines += [f'Name="{name}"', 'HelpContextID="0"', 'VersionCompatible32="393222000"',
              f'CMG="{encrypt(project_id, bytes(4))}"', f'DPB="{encrypt(project_id, bytes(1))}"',
              f'GC="{encrypt(project_id, bytes([0xFF]))}"', "",
              "[Host Extender Info]", "&H00000001={3832D640-CF90-11CF-8E43-00A0C911005A};VBE;&H00000000", "",
              "[Workspace]"]
    lines += [f"{m.name}=0, 0, 0, 0, C" for m in modules]
    return _mbcs("\r\n".join(lines) + "\r\n")


def _project_wm(modules: list[Module]) -> bytes:
    out = b"".join(_mbcs(m.name) + b"\0" + m.name.encode("utf-16-le") + b"\0\0" for m in modules)
    return out + b"\0\0"


def _rec(rid: int, data: bytes = b"") -> bytes:
    return struct.pack("<HI", rid, len(data)) + data


def _names(rid: int, rid_unicode: int, text: str) -> bytes:
    return _rec(rid, _mbcs(text)) + _rec(rid_unicode, text.encode("utf-16-le"))


def _dir(name: str, modules: list[Module]) -> bytes:
    """The dir stream (MS-OVBA 2.3.4.2), uncompressed."""
    u32 = lambda v: struct.pack("<I", v)  # noqa: E731
    u16 = lambda v: struct.pack("<H", v)  # noqa: E731
    out = bytearray()
    out += _rec(0x01, u32(1))  # SysKind: 32-bit Windows (Excel adapts it)
    out += _rec(0x02, u32(0x409)) + _rec(0x14, u32(0x409)) + _rec(0x03, u16(CODEPAGE))
    out += _rec(0x04, _mbcs(name))
    out += _rec(0x05) + _rec(0x40)  # doc string
    out += _rec(0x06) + _rec(0x3D)  # help file
    out += _rec(0x07, u32(0)) + _rec(0x08, u32(0))
    out += struct.pack("<HIIH", 0x09, 4, 1, 0)  # version 1.0 (the size field is fixed at 4)
    out += _rec(0x0C) + _rec(0x3C)  # constants
    libid = _mbcs(OFFICE_LIBID)
    out += _names(0x16, 0x3E, "Office")
    out += _rec(0x0D, u32(len(libid)) + libid + u32(0) + u16(0))
    out += _rec(0x0F, u16(len(modules))) + _rec(0x13, u16(0xFFFF))
    for m in modules:
        out += _names(0x19, 0x47, m.name)
        out += _names(0x1A, 0x32, m.name)
        out += _rec(0x1C) + _rec(0x48)
        out += _rec(0x31, u32(0))  # source starts at offset 0: no p-code
        out += _rec(0x1E, u32(0)) + _rec(0x2C, u16(0xFFFF))
        out += _rec(0x22 if m.document else 0x21)
        out += _rec(0x2B)
    out += _rec(0x10)
    return bytes(out)
