"""Bad, hostile and shared-drive trackers, through the real console script: one line on
stderr, exit 4, the file untouched; no external entity, no zip bomb, no lost permissions."""

from __future__ import annotations

import errno
import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest
from defusedxml import DefusedXmlException

from automation.addin.cfb import write_compound
from automation.addin.vbaproject import build_vba_project, document_module
from automation.errors import WorkbookUnsafe
from automation.workbook import package as pkg
from conftest import inspection, write_tracker

CLI = [sys.executable, "-m", "automation.cli"]
NOW = "2026-11-16T13:05"
INSPECTIONS_PART = "xl/worksheets/sheet3.xml"  # write_tracker's sheet order follows the contract


def cli(cwd: Path, *args) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=120)


def command(kind: str, path: Path, *more) -> list:
    return ["validate", path, *more] if kind == "validate" else ["run", path, "--now", NOW, *more]


def assert_refused(res: subprocess.CompletedProcess, *words: str) -> str:
    """Exit 4 with exactly one line on stderr, no traceback; returns the line."""
    assert "Traceback" not in res.stderr + res.stdout
    lines = res.stderr.strip().splitlines()
    assert res.returncode == 4, res.stderr
    assert len(lines) == 1, res.stderr
    for w in words:
        assert w.lower() in lines[0].lower(), lines[0]
    return lines[0]


def rewrite(path: Path, changes: dict[str, bytes | None], stored: bool = False) -> Path:
    """Rebuild the zip with some parts replaced (None drops one)."""
    with zipfile.ZipFile(path) as z:
        parts = {i.filename: z.read(i) for i in z.infolist()}
    parts.update(changes)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            if data is not None:
                z.writestr(name, data)
    return path


def part(path: Path, name: str) -> bytes:
    with zipfile.ZipFile(path) as z:
        return z.read(name)


def snapshot(path: Path):
    return path.read_bytes() if path.is_file() else (sorted(os.listdir(path)) if path.is_dir() else None)


# --- files that are not a readable .xlsx ---------------------------------------------------------

def _xls(tmp: Path) -> Path:
    p = tmp / "tracker.xls"
    p.write_bytes(write_compound({"Workbook": b"\x09\x08\x10\x00" + bytes(900), "\x05SummaryInformation": bytes(200)}))
    return p


def _encrypted(tmp: Path) -> Path:
    # What Excel writes for a password or an encrypting sensitivity label: an OLE file, named .xlsx
    p = tmp / "tracker.xlsx"
    p.write_bytes(write_compound({"EncryptionInfo": b"\x04\x00\x04\x00\x40\x00\x00\x00" + bytes(500),
                                  "EncryptedPackage": os.urandom(6000),
                                  "\x06DataSpaces/Version": bytes(76)}))
    return p


def _csv(tmp: Path) -> Path:
    p = tmp / "tracker.csv"
    p.write_text("URN,School name\n100001,Acorn Primary School\n", encoding="utf-8")
    return p


def _truncated(tmp: Path) -> Path:
    p = write_tracker(tmp / "tracker.xlsx", inspections=[inspection()])
    p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])
    return p


def _malformed(tmp: Path) -> Path:
    p = write_tracker(tmp / "tracker.xlsx", inspections=[inspection()])
    xml = part(p, INSPECTIONS_PART).replace(b"<t>Status</t>", b"<t>Status</is>", 1)
    return rewrite(p, {INSPECTIONS_PART: xml})


def _folder(tmp: Path) -> Path:
    p = tmp / "tracker.xlsx"
    p.mkdir()
    (p / "inside.txt").write_text("not a workbook")
    return p


def _missing(tmp: Path) -> Path:
    return tmp / "no-such-tracker.xlsx"


def _empty(tmp: Path) -> Path:
    p = tmp / "tracker.xlsx"
    p.write_bytes(b"")
    return p


def _ods(tmp: Path) -> Path:
    p = tmp / "tracker.xlsx"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("content.xml", "<office:document-content xmlns:office='urn:oasis:names:tc:opendocument:xmlns:office:1.0'/>")
    return p


BAD = {"xls": (_xls, ["97-2003", ".xlsx"]), "encrypted": (_encrypted, ["encrypted", "password", "label"]),
       "csv": (_csv, ["csv"]), "truncated": (_truncated, ["damaged"]),
       "malformed": (_malformed, ["not well-formed", INSPECTIONS_PART]),
       "folder": (_folder, ["folder"]), "missing": (_missing, ["no workbook"]), "empty": (_empty, ["empty"]),
       "ods": (_ods, ["OpenDocument"])}


CASES = [(name, kind) for name in sorted(BAD) for kind in ("validate", "run") if kind == "run" or name not in ("empty", "ods")]


@pytest.mark.parametrize("name,kind", CASES)
def test_bad_file_is_one_line_exit_4_and_untouched(tmp_path, name, kind):
    make, words = BAD[name]
    path = make(tmp_path)
    before = snapshot(path)
    res = cli(tmp_path, *command(kind, path))
    line = assert_refused(res, *words)
    assert path.name in line or str(path) in line
    assert snapshot(path) == before
    assert not list((tmp_path / "outbox").glob("*")) if (tmp_path / "outbox").exists() else True


# --- hostile XML: external entities ----------------------------------------------------------------

def _doctype(secret: Path, root_tag: bytes, xml: bytes) -> bytes:
    """The part with a DOCTYPE whose external entity points at a local file, used in a cell."""
    decl = (b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE ' + root_tag
            + b' [<!ENTITY xxe SYSTEM "' + secret.as_uri().encode() + b'">]>\n')
    body = xml.split(b"?>", 1)[1] if xml.startswith(b"<?xml") else xml
    return decl + body.replace(b"<t>Status</t>", b"<t>Status&xxe;</t>", 1)


def _with_shared_strings(path: Path, sst: bytes) -> Path:
    """Add a sharedStrings part, wired in as Excel does, and a cell that uses it."""
    ct = part(path, "[Content_Types].xml").replace(
        b"</Types>", b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
        b'officedocument.spreadsheetml.sharedStrings+xml"/></Types>')
    rels = part(path, "xl/_rels/workbook.xml.rels").replace(
        b"</Relationships>", b'<Relationship Id="rIdSst" Type="http://schemas.openxmlformats.org/officeDocument/'
        b'2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>')
    sheet = part(path, INSPECTIONS_PART).replace(b"</sheetData>", b'<row r="9"><c r="J9" t="s"><v>0</v></c></row></sheetData>')
    return rewrite(path, {"[Content_Types].xml": ct, "xl/_rels/workbook.xml.rels": rels,
                          "xl/sharedStrings.xml": sst, INSPECTIONS_PART: sheet})


SST = (b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE sst [<!ENTITY xxe SYSTEM "{uri}">]>\n'
       b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1">'
       b'<si><t>note &xxe;</t></si></sst>')


@pytest.fixture
def secret(tmp_path) -> tuple[Path, str]:
    words = "TOP-SECRET-" + os.urandom(6).hex()
    p = tmp_path / "elsewhere" / "secret.txt"
    p.parent.mkdir()
    p.write_text(words)
    return p, words


@pytest.mark.parametrize("where", ["sheet", "sharedStrings"])
def test_external_entity_is_refused_and_never_lands_anywhere(tmp_path, secret, where):
    secret_path, words = secret
    path = write_tracker(tmp_path / "tracker.xlsx", inspections=[inspection()])
    if where == "sheet":
        rewrite(path, {INSPECTIONS_PART: _doctype(secret_path, b"worksheet", part(path, INSPECTIONS_PART))})
    else:
        _with_shared_strings(path, SST.replace(b"{uri}", secret_path.as_uri().encode()))
    before = path.read_bytes()
    for kind in ("validate", "run") if where == "sheet" else ("run",):
        res = cli(tmp_path, *command(kind, path))
        assert_refused(res, "DOCTYPE", "tracker.xlsx")
        assert words not in res.stdout + res.stderr
    assert path.read_bytes() == before
    for f in tmp_path.rglob("*"):
        if f.is_file() and f != secret_path:
            assert words.encode() not in f.read_bytes(), f


def test_doctype_after_a_long_prolog_is_refused(tmp_path, secret):
    """The prolog check reads a part a few KB at a time: a DOCTYPE behind 20 KB of comments (before the
    root element, where XML allows it) is still found, however many reads it takes."""
    secret_path, words = secret
    path = write_tracker(tmp_path / "tracker.xlsx", inspections=[inspection()])
    hostile = _doctype(secret_path, b"worksheet", part(path, INSPECTIONS_PART))
    decl, rest = hostile.split(b"\n", 1)
    rewrite(path, {INSPECTIONS_PART: decl + b"\n" + b"<!-- padding -->\n" * 1300 + rest})
    before = path.read_bytes()
    res = cli(tmp_path, *command("run", path))
    assert_refused(res, "DOCTYPE", "tracker.xlsx")
    assert words not in res.stdout + res.stderr and path.read_bytes() == before


@pytest.mark.parametrize("offset", [100, 6000])
def test_damage_in_the_first_64_kb_of_a_part_is_refused(tmp_path, offset):
    """The prolog check reads 4 KB at a time but parses 64 KB of every part, as it always did: damage
    there (here in the theme, which calamine never reads; 6,000 is past the first read) is refused
    before a row is read or written."""
    path = write_tracker(tmp_path / "tracker.xlsx", inspections=[inspection()])
    theme = part(path, "xl/theme/theme1.xml")
    assert len(theme) > 6100
    i = theme.index(b"<", offset)
    rewrite(path, {"xl/theme/theme1.xml": theme[:i] + b"<<" + theme[i + 1:]})
    before = path.read_bytes()
    for kind in ("validate", "run"):
        res = cli(tmp_path, *command(kind, path))
        assert_refused(res, "is damaged", "xl/theme/theme1.xml")
    assert path.read_bytes() == before


def test_lxml_parse_never_resolves_and_refuses_a_doctype(secret):
    secret_path, words = secret
    xml = b'<!DOCTYPE x [<!ENTITY e SYSTEM "' + secret_path.as_uri().encode() + b'">]><x>&e;</x>'
    with pytest.raises(WorkbookUnsafe):
        pkg.parse(xml)


def test_openpyxls_own_reading_is_defused(tmp_path, secret):
    """Even past the tool's own check, openpyxl (via defusedxml) refuses entity declarations."""
    secret_path, _ = secret
    path = _with_shared_strings(write_tracker(tmp_path / "t.xlsx"), SST.replace(b"{uri}", secret_path.as_uri().encode()))
    with pytest.raises(ValueError) as caught:  # openpyxl wraps what the parser raised
        openpyxl.load_workbook(path, read_only=True)
    assert isinstance(caught.value.__cause__, DefusedXmlException)


# --- zip bombs -------------------------------------------------------------------------------------

def _padded_sheet(path: Path, megabytes: int, member: str = INSPECTIONS_PART) -> Path:
    """Replace a sheet with the same XML padded by `megabytes` of blanks, streamed into the zip."""
    xml = part(path, member)
    head, tail = xml.split(b"<sheetData>", 1)
    with zipfile.ZipFile(path) as z:
        others = {i.filename: z.read(i) for i in z.infolist() if i.filename != member}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in others.items():
            z.writestr(name, data)
        info = zipfile.ZipInfo(member)
        info.compress_type = zipfile.ZIP_DEFLATED
        with z.open(info, "w", force_zip64=True) as w:
            w.write(head + b"<sheetData>")
            blank = b" " * (1 << 20)
            for _ in range(megabytes):
                w.write(blank)
            w.write(tail)
    return path


# The console script's own peak (VmHWM belongs to the process image, so it starts afresh at exec:
# ru_maxrss from wait4 would carry over the forking test worker's size, hundreds of MB under xdist).
_MEASURED = ("import atexit, os, sys\n"
             "def _peak():\n"
             "    hwm = next(l for l in open('/proc/self/status') if l.startswith('VmHWM'))\n"
             "    open(os.environ['PEAK_FILE'], 'w').write(hwm.split()[1])\n"
             "atexit.register(_peak)\n"
             "from automation.cli import main\n"
             "sys.exit(main(sys.argv[1:]))\n")


def _run_measured(cwd: Path, *args) -> tuple[subprocess.CompletedProcess, int]:
    """Run the CLI and return its result and peak memory in MB (the console script's process only)."""
    peak = cwd / "peak.kb"
    res = subprocess.run([sys.executable, "-c", _MEASURED, *map(str, args)], cwd=cwd, capture_output=True, text=True,
                         env={**os.environ, "PEAK_FILE": str(peak)}, timeout=300)
    return res, int(peak.read_text()) // 1024


def test_big_part_is_refused_before_it_is_read(tmp_path):
    path = _padded_sheet(write_tracker(tmp_path / "tracker.xlsx", inspections=[inspection()]), 300)
    assert path.stat().st_size < 2_000_000  # a small file on disk ...
    before = path.read_bytes()
    res, peak_mb = _run_measured(tmp_path, *command("run", path))
    assert_refused(res, INSPECTIONS_PART, "max_part_mb")
    assert peak_mb < 200  # ... never unpacked to its 300 MB
    assert path.read_bytes() == before


def test_the_write_back_checks_the_parts_too(tmp_path):
    """A file swapped for a bomb between the read and the write is refused by the writer as well."""
    from automation.workbook.safety import PartLimits
    from automation.workbook.writer import SheetEdit, apply_edits

    path = _padded_sheet(write_tracker(tmp_path / "tracker.xlsx", inspections=[inspection()]), 2)
    before = path.read_bytes()
    with pytest.raises(WorkbookUnsafe, match="max_part_mb"):
        apply_edits(path, [SheetEdit("Inspections", {(2, 2): "x"})], limits=PartLimits(max_part_bytes=1 << 20))
    assert path.read_bytes() == before


def test_part_limit_comes_from_the_config(tmp_path):
    path = _padded_sheet(write_tracker(tmp_path / "tracker.xlsx", inspections=[inspection()]), 2)
    cfg = tmp_path / "config.toml"
    cfg.write_text("[workbook]\nmax_part_mb = 1\nmax_compression_ratio = 100000\n")
    before = path.read_bytes()
    for kind in ("validate", "run"):
        assert_refused(cli(tmp_path, *command(kind, path, "--config", cfg)), "max_part_mb", "1 MB")
    cfg.write_text("[workbook]\nmax_part_mb = 5\nmax_compression_ratio = 100000\n")
    res = cli(tmp_path, *command("validate", path, "--config", cfg))
    assert res.returncode in (0, 1), res.stderr  # within the raised limit: read as normal
    assert path.read_bytes() == before


def test_suspicious_compression_ratio_is_refused_but_small_parts_never_are(tmp_path):
    path = _padded_sheet(write_tracker(tmp_path / "tracker.xlsx", inspections=[inspection()]), 3)
    with zipfile.ZipFile(path) as z:
        info = z.getinfo(INSPECTIONS_PART)
        assert info.file_size / info.compress_size > 100
    assert_refused(cli(tmp_path, *command("validate", path)), "compressed", "max_compression_ratio")
    # a small, highly compressible sheet (ratio far above 100) is ordinary XML: read
    small = _padded_sheet(write_tracker(tmp_path / "small.xlsx", inspections=[inspection()]), 0)
    rewrite(small, {"xl/worksheets/sheet8.xml": part(small, "xl/worksheets/sheet8.xml").replace(b"</sheetData>", b" " * 500_000 + b"</sheetData>")})
    res = cli(tmp_path, *command("validate", small))
    assert res.returncode in (0, 1), res.stderr


# --- permissions and macros survive a write-back -------------------------------------------------------

def test_write_back_keeps_the_trackers_permissions_and_group(tmp_path):
    path = write_tracker(tmp_path / "tracker.xlsx", inspections=[inspection()])
    os.chmod(path, 0o664)
    owner = (os.getuid(), os.getgid())
    if os.geteuid() == 0:  # as root the test can also give the file someone else's owner and group
        owner = (4321, 4321)
        os.chown(path, *owner)
    before = path.read_bytes()
    res = cli(tmp_path, *command("run", path))
    assert res.returncode in (0, 1), res.stderr
    assert path.read_bytes() != before  # the run did write
    st = path.stat()
    assert stat.S_IMODE(st.st_mode) == 0o664
    assert (st.st_uid, st.st_gid) == owner
    assert not list(tmp_path.glob(".~ofsted-*"))


def _as_xlsm(path: Path) -> tuple[Path, bytes]:
    vba = build_vba_project("VBAProject", [document_module("ThisWorkbook", "workbook")])
    ct = part(path, "[Content_Types].xml")
    ct = ct.replace(b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                    b"application/vnd.ms-excel.sheet.macroEnabled.main+xml")
    ct = ct.replace(b"<Default ", b'<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/><Default ', 1)
    rels = part(path, "xl/_rels/workbook.xml.rels").replace(
        b"</Relationships>", b'<Relationship Id="rIdVba" Type="http://schemas.microsoft.com/office/2006/relationships/'
        b'vbaProject" Target="vbaProject.bin"/></Relationships>')
    xlsm = path.with_suffix(".xlsm")
    path.rename(xlsm)
    rewrite(xlsm, {"[Content_Types].xml": ct, "xl/_rels/workbook.xml.rels": rels, "xl/vbaProject.bin": vba})
    return xlsm, vba


def test_xlsm_is_supported_and_its_macros_are_kept(tmp_path):
    xlsm, vba = _as_xlsm(write_tracker(tmp_path / "tracker.xlsx", inspections=[inspection()]))
    assert b"macroEnabled" in part(xlsm, "[Content_Types].xml")
    before = xlsm.read_bytes()
    res = cli(tmp_path, *command("run", xlsm))
    assert res.returncode in (0, 1), res.stderr
    assert xlsm.read_bytes() != before
    assert part(xlsm, "xl/vbaProject.bin") == vba
    assert b"macroEnabled" in part(xlsm, "[Content_Types].xml")
    assert b"vbaProject" in part(xlsm, "xl/_rels/workbook.xml.rels")
    assert openpyxl.load_workbook(xlsm, keep_vba=True).vba_archive is not None


# --- the last-resort catch in cli.main ----------------------------------------------------------------

def _failing_validate(monkeypatch, exc: BaseException):
    import automation.commands.basic as basic

    def fail(args):
        raise exc
    monkeypatch.setattr(basic, "cmd_validate", fail)


def test_an_os_error_is_one_line_and_exit_2(monkeypatch, capsys, tmp_path):
    from automation import cli

    target = tmp_path / "tracker.xlsx"
    _failing_validate(monkeypatch, OSError(errno.ENOSPC, "No space left on device", str(target)))
    assert cli.main(["validate", str(target)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "full" in err[0] and str(target) in err[0]


def test_a_fault_in_the_tool_is_one_line_exit_2_and_details_with_v(monkeypatch, capsys, tmp_path):
    from automation import cli

    _failing_validate(monkeypatch, RuntimeError("unexpected state"))
    assert cli.main(["validate", str(tmp_path / "t.xlsx")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "RuntimeError: unexpected state" in err and "-v" in err
    assert "Traceback" not in err
    assert cli.main(["-v", "validate", str(tmp_path / "t.xlsx")]) == 2
    assert "Traceback" in capsys.readouterr().err  # asked for details: given them
