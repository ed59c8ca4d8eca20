"""The .xlsx package at zip level: which part holds which sheet, its tables, its styles.
Used so the tool edits only its own cells and copies every other part untouched."""

from __future__ import annotations

import functools
import posixpath
import re
import zipfile

from lxml import etree
from automation.errors import WorkbookUnsafe

NS = {
    "m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "pr": "http://schemas.openxmlformats.org/package/2006/relationships",
    "ct": "http://schemas.openxmlformats.org/package/2006/content-types",
}
M = "{%s}" % NS["m"]
R_ID = "{%s}id" % NS["r"]
TABLE_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/table"
SHEET_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"
SHEET_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"


def parse(data: bytes, part: str = "a part") -> etree._Element:
    """Parse a part, keeping everything; entities are never resolved and a DOCTYPE is refused."""
    # safety.check_prolog refuses a DOCTYPE before any part is read; this is the second lock.
    root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                                                  huge_tree=False, remove_blank_text=False))
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise WorkbookUnsafe(f"The tracker's {part} declares a DOCTYPE/entities, which Excel never writes — "
                             "not read. Restore the tracker from a backup.")
    return root


def serialise(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def rels_path(part: str) -> str:
    folder, name = posixpath.split(part)
    return posixpath.join(folder, "_rels", name + ".rels")


def resolve(base_part: str, target: str) -> str:
    """A relationship target made absolute within the package."""
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(base_part), target))


def workbook_part(z: zipfile.ZipFile) -> str:
    root = parse(z.read("_rels/.rels"))
    for rel in root.iterfind("pr:Relationship", NS):
        if rel.get("Type").endswith("/officeDocument"):
            return resolve("", rel.get("Target"))
    raise KeyError("officeDocument")


def sheet_parts(z: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> worksheet part path, in workbook order."""
    wb = workbook_part(z)
    rels = {r.get("Id"): r for r in parse(z.read(rels_path(wb))).iterfind("pr:Relationship", NS)}
    out = {}
    for sheet in parse(z.read(wb)).iterfind("m:sheets/m:sheet", NS):
        rel = rels.get(sheet.get(R_ID))
        if rel is not None and rel.get("Type") == SHEET_REL:
            out[sheet.get("name")] = resolve(wb, rel.get("Target"))
    return out


def table_parts(z: zipfile.ZipFile, sheet_part: str) -> list[str]:
    """The table parts that belong to a worksheet."""
    rp = rels_path(sheet_part)
    if rp not in z.namelist():
        return []
    root = parse(z.read(rp))
    return [resolve(sheet_part, r.get("Target")) for r in root.iterfind("pr:Relationship", NS)
            if r.get("Type") == TABLE_REL]


@functools.lru_cache(maxsize=4096)
def col_letter(n: int) -> str:
    """1 -> A, 27 -> AA (a local function: importing openpyxl for this costs ~17 MB and a start-up)."""
    if not 1 <= n <= 18278:
        raise ValueError(f"column {n} is outside A..ZZZ")
    out = ""
    while n:
        n, r = divmod(n - 1, 26)
        out = chr(65 + r) + out
    return out


@functools.lru_cache(maxsize=4096)
def col_number(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


_REF = re.compile(r"([A-Za-z]+)(\d+)")


def split_ref(ref: str) -> tuple[int, int]:
    """'AB12' -> (row 12, column 28)."""
    m = _REF.fullmatch(ref)
    if m is None:
        return _split_ref_slowly(ref)
    return int(m.group(2)), col_number(m.group(1).upper())


def _split_ref_slowly(ref: str) -> tuple[int, int]:
    """A reference the pattern does not take (e.g. '$A$1'), read as before: letters, then the row."""
    i = next(i for i, ch in enumerate(ref) if ch.isdigit())
    return int(ref[i:]), col_number(ref[:i].upper())
