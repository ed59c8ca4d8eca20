"""Checks made before any part of a tracker is read: is it an .xlsx at all, is every zip
part a sensible size, and does no XML part declare a DOCTYPE (the way external entities
and entity bombs get in). The tracker is a shared file anyone can save over, so the
tool treats it as untrusted input."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from lxml import etree

from automation.errors import ConfigError, WorkbookUnreadable, WorkbookUnsafe

MB = 1024 * 1024
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
# Stream names (UTF-16LE in the OLE directory) of an Office file encrypted with a password
# or a sensitivity label that applies encryption.
_ENCRYPTED_MARKS = tuple(s.encode("utf-16-le") for s in ("EncryptedPackage", "EncryptionInfo"))
_XML_SUFFIXES = (".xml", ".rels")
_FIX_BROKEN = ("restore the last good copy (SharePoint/OneDrive version history or the backup), "
               "or open it in Excel and let Excel repair it, then save it as .xlsx")


@dataclass(frozen=True)
class PartLimits:
    """How big a zip part may unpack to, and how much it may have been compressed."""

    max_part_bytes: int = 200 * MB
    max_ratio: float = 100.0
    ratio_floor_bytes: int = 1 * MB  # smaller parts are never refused for their ratio (XML compresses well)

    @classmethod
    def from_section(cls, section: dict, source: str = "config") -> "PartLimits":
        """Limits from the config's [workbook] table (max_part_mb, max_compression_ratio)."""
        mb = section.get("max_part_mb", 200)
        ratio = section.get("max_compression_ratio", 100)
        for key, value in (("max_part_mb", mb), ("max_compression_ratio", ratio)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ConfigError(f"{source}: key 'workbook.{key}' = {value!r} should be a number above 0 — correct it.")
        return cls(max_part_bytes=int(mb * MB), max_ratio=float(ratio))


DEFAULT_LIMITS = PartLimits()


def sniff(path: Path) -> None:
    """Refuse, in one line, anything that is not an .xlsx-style zip before opening it."""
    if not path.exists():
        raise WorkbookUnreadable(f"There is no workbook at {path} — check the path (or create one with `ofsted-tracker init`).")
    if path.is_dir():
        raise WorkbookUnreadable(f"{path} is a folder, not a workbook — give the path of the tracker's .xlsx file.")
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
            if head == OLE_MAGIC:
                fh.seek(0)
                raise WorkbookUnreadable(_ole_message(path, fh))
    except PermissionError:
        raise WorkbookUnreadable(f"{path.name} cannot be read: permission denied — ask whoever manages the share "
                                 "to give your account read and write access to the tracker.")
    if not head:
        raise WorkbookUnreadable(f"{path.name} is empty (0 bytes) — {_FIX_BROKEN}.")
    if not head.startswith(ZIP_MAGIC):
        kind = "a CSV/text file" if path.suffix.lower() in (".csv", ".txt") or _looks_like_text(head) else "not an Excel workbook"
        raise WorkbookUnreadable(f"{path.name} is {kind}, not an .xlsx workbook — use the tracker itself, "
                                 "or open this file in Excel and save it as 'Excel Workbook (*.xlsx)'.")


def _looks_like_text(head: bytes) -> bool:
    return all(b in b"\t\r\n" or 32 <= b < 127 or b >= 0x80 for b in head)


def _ole_message(path: Path, fh: BinaryIO) -> str:
    if _has_encryption_streams(fh):
        return (f"{path.name} is encrypted — it has a password or a sensitivity label that applies encryption, "
                "so the tool cannot read it. Save it without a password (File > Info > Protect Workbook), or ask IT "
                "to apply a sensitivity label without encryption to the tracker.")
    return (f"{path.name} is an old-format Excel 97-2003 workbook (.xls) — open it in Excel and "
            "save it as 'Excel Workbook (*.xlsx)', then run again on the .xlsx.")


def _has_encryption_streams(fh: BinaryIO) -> bool:
    tail = b""
    for chunk in iter(lambda: fh.read(1 << 20), b""):
        window = tail + chunk
        if any(mark in window for mark in _ENCRYPTED_MARKS):
            return True
        tail = window[-64:]
    return False


def open_package(fh: BinaryIO, name: str, limits: PartLimits | None = None) -> zipfile.ZipFile:
    """The zip of an opened workbook, after checking every part's size and XML prolog."""
    try:
        z = zipfile.ZipFile(fh)
    except (zipfile.BadZipFile, EOFError, ValueError) as exc:
        raise WorkbookUnreadable(f"{name} is damaged or truncated ({exc}) — {_FIX_BROKEN}.")
    try:
        check_sizes(z, name, limits or DEFAULT_LIMITS)
        check_kind(z, name)
        for info in z.infolist():
            if info.filename.lower().endswith(_XML_SUFFIXES):
                check_prolog(z, info, name)
    except BaseException:
        z.close()
        raise
    return z


def check_sizes(z: zipfile.ZipFile, name: str, limits: PartLimits) -> None:
    """Refuse any part that would unpack too big, or was compressed suspiciously hard, before reading it.
    Python's zipfile never unpacks more than the declared size, so the declared size is enough."""
    for info in z.infolist():
        size, packed = info.file_size, max(info.compress_size, 1)
        if size > limits.max_part_bytes:
            raise WorkbookUnsafe(
                f"{name}: part {info.filename} would unpack to {size / MB:.0f} MB, over the limit of "
                f"{limits.max_part_bytes / MB:g} MB ([workbook] max_part_mb) — not read. If the tracker really is "
                "that big, raise the limit in config.toml; otherwise restore it from a backup.")
        if size >= limits.ratio_floor_bytes and size / packed > limits.max_ratio:
            raise WorkbookUnsafe(
                f"{name}: part {info.filename} is compressed {size / packed:.0f} to 1 (limit {limits.max_ratio:g}, "
                "[workbook] max_compression_ratio), which real workbooks never are — not read. Restore the tracker "
                "from a backup, or raise the limit in config.toml if the file is genuine.")


def check_kind(z: zipfile.ZipFile, name: str) -> None:
    """A zip that is another kind of document (.ods, .xlsb, .docx) said plainly."""
    names = set(z.namelist())
    if "mimetype" in names and "[Content_Types].xml" not in names:
        raise WorkbookUnreadable(f"{name} is an OpenDocument (LibreOffice .ods) file, not .xlsx — save it "
                                 "as 'Excel 2007-365 (.xlsx)' and run again on that.")
    if "[Content_Types].xml" not in names:
        raise WorkbookUnreadable(f"{name} is a zip file but not an Excel workbook (no [Content_Types].xml) — "
                                 "use the tracker itself, or save it from Excel as .xlsx.")
    if any(n.lower().endswith("workbook.bin") for n in names):
        raise WorkbookUnreadable(f"{name} is an Excel Binary Workbook (.xlsb) — open it in Excel and save it "
                                 "as 'Excel Workbook (*.xlsx)'.")
    if not any(n.startswith("xl/") for n in names):
        raise WorkbookUnreadable(f"{name} is an Office document but not an Excel workbook — give the tracker's .xlsx file.")


CHECKED_BYTES = 64 * 1024  # how much of each part is parsed for well-formedness before it is read


def check_prolog(z: zipfile.ZipFile, info: zipfile.ZipInfo, name: str) -> None:
    """Refuse a DOCTYPE (Office never writes one) and a part whose first 64 KB are not well-formed."""
    pull = etree.XMLPullParser(events=("start", "end"), resolve_entities=False, no_network=True,
                               load_dtd=False, huge_tree=False)
    fed, root = 0, None
    try:
        with z.open(info) as part:
            # Fed 4 KB at a time and each finished element let go: lxml would otherwise hold a tree
            # of all it is fed (about 5 MB over a tracker's parts).
            for chunk in iter(lambda: part.read(4096), b""):
                pull.feed(chunk)
                fed += len(chunk)
                for event, el in pull.read_events():
                    if root is None:
                        docinfo = el.getroottree().docinfo
                        if docinfo.doctype or docinfo.internalDTD is not None:
                            raise refuse_doctype(name, info.filename)
                        root = el
                    elif event == "end":
                        el.clear()
                        while el.getprevious() is not None:
                            del el.getparent()[0]
                if root is not None and fed >= CHECKED_BYTES:
                    return
            if root is None:
                pull.close()
    except etree.XMLSyntaxError as exc:
        raise damaged_xml(name, info.filename, exc)
    except (zipfile.BadZipFile, EOFError) as exc:
        raise WorkbookUnreadable(f"{name} is damaged: part {info.filename} cannot be unpacked ({exc}) — {_FIX_BROKEN}.")


def refuse_doctype(name: str, part: str) -> WorkbookUnsafe:
    """The one-line refusal of a part declaring a DOCTYPE or entities."""
    return WorkbookUnsafe(f"{name}: part {part} declares a DOCTYPE/entities, which Excel never writes and which "
                          "can pull other files into the tracker — not read. Restore the tracker from a backup "
                          "and tell IT security who last saved it.")


def damaged_xml(name: str, part: str, exc: Exception) -> WorkbookUnreadable:
    """The one-line message for a part that is not well-formed XML."""
    detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return WorkbookUnreadable(f"{name} is damaged: part {part} is not well-formed XML ({detail}) — {_FIX_BROKEN}.")


def find_damaged_part(z: zipfile.ZipFile, name: str) -> WorkbookUnreadable | None:
    """After a parser failed somewhere: the first XML part that does not parse, as an error."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    for info in z.infolist():
        if info.filename.lower().endswith(_XML_SUFFIXES):
            try:
                etree.fromstring(z.read(info), parser)
            except etree.XMLSyntaxError as exc:
                return damaged_xml(name, info.filename, exc)
    return None
