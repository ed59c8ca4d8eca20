"""The add-in built from text: MS-OVBA compression checked against oletools' own
decompressor, the compound file read by olefile, the modules read back by olevba and
by LibreOffice's VBA import, the ribbon checked against the registry, reproducible
bytes, and installation."""

from __future__ import annotations

import io
import os
import random
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import olefile
import pytest
from lxml import etree
from oletools.olevba import VBA_Parser, decompress_stream

from automation.addin import ovba
from automation.addin.build import ADDIN_NAME, build_addin
from automation.addin.cfb import write_compound
from automation.addin.install import conf_lines, install
from automation.addin.registry import ACTIONS, BY_ID
from automation.addin.ribbon import CALLBACK, NS, check_ribbon, ribbon_xml
from automation.addin.vba import dispatcher_source, modules, xlwings_addin_source
from automation.addin.vbaproject import Module, build_vba_project, document_module, normalise_source
from automation.errors import TrackerError


def decompress(data: bytes) -> bytes:
    return bytes(decompress_stream(bytearray(data)))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return build_addin(tmp_path_factory.mktemp("addin"))


def vba_bin(xlam: Path) -> bytes:
    with zipfile.ZipFile(xlam) as z:
        return z.read("xl/vbaProject.bin")


# --- MS-OVBA compression: every module, and the awkward sizes, through oletools ---

@pytest.mark.parametrize("module", modules(), ids=lambda m: m.name)
def test_every_module_round_trips_through_oletools(module):
    data = module.source.encode("cp1252")
    assert decompress(ovba.compress(data)) == data


@pytest.mark.parametrize("size", [0, 1, 2, 3, 15, 16, 17, 4095, 4096, 4097, 8192, 8193, 12288 + 5])
def test_chunk_boundaries(size):
    src = xlwings_addin_source().encode("cp1252") * 2
    data = src[:size]
    assert decompress(ovba.compress(data)) == data


def test_incompressible_and_repetitive_data():
    rng = random.Random(7)
    noise = bytes(rng.randrange(256) for _ in range(3 * 4096))
    packed = ovba.compress(noise)
    assert decompress(packed) == noise
    assert len(packed) == 1 + 3 * (2 + 4096)  # stored raw chunk by chunk
    same = b"Attribute " * 2000
    assert decompress(ovba.compress(same)) == same and len(ovba.compress(same)) < 200


def test_compression_actually_compresses_the_source():
    src = xlwings_addin_source().encode("cp1252")
    assert len(ovba.compress(src)) < len(src) * 0.5


def test_project_stream_encryption_round_trips_and_reads_excels_own():
    pid = "{E166F130-7A7D-463D-A36A-DF5CC07216B9}"
    for data in (bytes(4), bytes(1), b"\xff", b"secret-free bytes"):
        assert ovba.decrypt(ovba.encrypt(pid, data)) == data
    # values Excel wrote in xlwings' quickstart add-in (unprotected, visible)
    assert ovba.decrypt("1C1EFBF0B83CBC3CBC3CBC3CBC") == bytes(4)
    assert ovba.decrypt("1C1EFBF0B839B939B9C6") == b"\xff"


# --- the compound file ---

def test_compound_file_reads_back_with_olefile():
    rng = random.Random(1)
    streams = {f"S{i}": bytes(rng.randrange(256) for _ in range(n))
               for i, n in enumerate([0, 1, 63, 64, 65, 4095, 4096, 4097, 70000])}
    streams["Store/Inner"] = b"x" * 5000
    streams["Store/Small"] = b"y" * 10
    data = write_compound(streams)
    assert len(data) % 512 == 0
    ole = olefile.OleFileIO(io.BytesIO(data))
    assert sorted("/".join(p) for p in ole.listdir()) == sorted(streams)
    for path, content in streams.items():
        assert ole.openstream(path).read() == content, path


def test_many_entries_make_a_balanced_directory():
    streams = {f"VBA/Module{i:02d}": f"Attribute VB_Name = \"Module{i}\"\r\n".encode() for i in range(40)}
    ole = olefile.OleFileIO(io.BytesIO(write_compound(streams)))
    assert len(ole.listdir()) == 40


# --- the VBA project and the .xlam ---

def test_olevba_reads_every_module_with_equal_source(built):
    parser = VBA_Parser(str(built))
    got = {Path(vba_filename).stem: code for _, _, vba_filename, code in parser.extract_macros()}
    want = {m.name: m.source for m in modules()}
    assert set(got) == set(want) == {"ThisWorkbook", "Sheet1", "xlwings", "OfstedRibbon", "OfstedStore"}
    for name, source in want.items():
        assert got[name] == source, name
    parser.close()


def test_vba_streams_are_where_the_dir_stream_says(built):
    ole = olefile.OleFileIO(io.BytesIO(vba_bin(built)))
    project = ole.openstream("PROJECT").read().decode("cp1252")
    assert 'Name="OfstedTracker"' in project and "Module=OfstedRibbon" in project
    assert "Document=ThisWorkbook/&H00000000" in project
    assert ole.openstream("VBA/_VBA_PROJECT").read() == b"\xcc\x61\xff\xff\x00\x00\x00"
    ids = re.findall(r'^(CMG|DPB|GC)="([0-9A-F]+)"', project, re.M)
    assert {k: ovba.decrypt(v) for k, v in ids} == {"CMG": bytes(4), "DPB": b"\0", "GC": b"\xff"}


def test_the_xlwings_module_comes_from_the_installed_package():
    import xlwings

    text = xlwings_addin_source()
    assert f"XLWINGS_VERSION As String = \"{xlwings.__version__}\"" in text
    assert 'PROJECT_NAME As String = "ofstedtracker"' in text and "Public Function RunPython" in text
    assert "\r\n" in text and "\n" not in text.replace("\r\n", "")


def test_build_is_reproducible(tmp_path, built):
    again = build_addin(tmp_path / "again")
    assert again.read_bytes() == built.read_bytes()
    assert (tmp_path / "again" / "src" / "OfstedRibbon.bas").read_bytes() == (built.parent / "src" / "OfstedRibbon.bas").read_bytes()


def test_package_parts(built):
    with zipfile.ZipFile(built) as z:
        names = z.namelist()
        assert z.testzip() is None
        assert {"[Content_Types].xml", "_rels/.rels", "customUI/customUI14.xml", "xl/workbook.xml",
                "xl/vbaProject.bin"} <= set(names)
        for name in names:
            if name.endswith((".xml", ".rels")):
                etree.fromstring(z.read(name))  # well-formed
        assert b"addin.macroEnabled.main+xml" in z.read("[Content_Types].xml")
        assert b"2007/relationships/ui/extensibility" in z.read("_rels/.rels")
        assert b'codeName="ThisWorkbook"' in z.read("xl/workbook.xml")


def test_sources_for_a_build_through_excel(built):
    src = built.parent / "src"
    assert {p.name for p in src.iterdir()} == {"OfstedRibbon.bas", "OfstedStore.bas", "xlwings.bas", "customUI14.xml",
                                               "build-in-excel.ps1"}
    script = (src / "build-in-excel.ps1").read_text(encoding="utf-8-sig")
    assert "VBComponents.Import" in script and "SaveAs($Out, 55)" in script and "customUI14.xml" in script
    assert (src / "customUI14.xml").read_bytes() == ribbon_xml()


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed")
def test_libreoffice_imports_every_module(built, tmp_path):
    """LibreOffice's own VBA import (MS-OVBA reader) opens the add-in and converts its
    modules to Basic libraries; compare each with our source."""
    profile = (tmp_path / "profile").as_uri()
    done = subprocess.run(["soffice", f"-env:UserInstallation={profile}", "--headless",
                           "--infilter=Calc MS Excel 2007 VBA XML", "--convert-to", "ods", "--outdir", str(tmp_path),
                           str(built)], capture_output=True, text=True, timeout=240)
    ods = tmp_path / (built.stem + ".ods")
    assert ods.exists(), done.stdout + done.stderr
    with zipfile.ZipFile(ods) as z:
        libs = {Path(n).stem: z.read(n) for n in z.namelist() if n.startswith("Basic/OfstedTracker/") and not n.endswith("script-lb.xml")}
    assert set(libs) == {m.name for m in modules()}
    for m in modules():
        text = etree.fromstring(libs[m.name]).text
        body = text.split("\n", 2)[2] if text.count("\n") >= 2 else ""  # LibreOffice adds two header lines
        ours = "\n".join(line for line in m.source.split("\r\n") if not line.startswith("Attribute VB_"))
        assert body.rstrip("\n") == ours.rstrip("\n"), m.name


# --- the ribbon ---

def test_ribbon_has_a_button_per_action_all_through_the_dispatcher():
    xml = ribbon_xml()
    assert check_ribbon(xml) == []
    root = etree.fromstring(xml)
    buttons = root.findall(f".//{{{NS}}}button")
    assert [b.get("tag") for b in buttons] == [a.id for a in ACTIONS]
    assert {b.get("onAction") for b in buttons} == {CALLBACK}
    assert root.find(f".//{{{NS}}}tab").get("label") == "Ofsted"
    for b in buttons:
        a = BY_ID[b.get("tag")]
        assert (b.get("label"), b.get("imageMso")) == (a.label, a.icon)
        assert len(b.get("supertip")) <= 1024 and len(b.get("label")) <= 1024  # schema string limits


def test_ribbon_follows_the_customui14_structure():
    """The parts of the Office customUI14 schema this ribbon uses: element nesting,
    allowed attributes, size values, and ids that are XML NCNames."""
    allowed = {"customUI": {"onLoad"}, "ribbon": set(), "tabs": set(), "tab": {"id", "label"},
               "group": {"id", "label"},
               "button": {"id", "label", "size", "imageMso", "screentip", "supertip", "tag", "onAction"}}
    parent = {"ribbon": "customUI", "tabs": "ribbon", "tab": "tabs", "group": "tab", "button": "group"}
    root = etree.fromstring(ribbon_xml())
    for e in root.iter():
        local = etree.QName(e).localname
        assert etree.QName(e).namespace == NS
        assert set(e.attrib) <= allowed[local], (local, e.attrib)
        if local in parent:
            assert etree.QName(e.getparent()).localname == parent[local]
        if "id" in e.attrib:
            assert re.match(r"^[A-Za-z_][\w.-]*$", e.get("id"))
        if local == "button":
            assert e.get("size") in ("normal", "large")


def test_ribbon_check_catches_a_wrong_tag_and_callback():
    xml = ribbon_xml().replace(b'tag="validate"', b'tag="validate_all"').replace(
        b'onAction="OfstedButton"', b'onAction="Other"', 1)
    wrong = check_ribbon(xml)
    assert any("validate_all" in w for w in wrong) and any("Other" in w for w in wrong)
    assert any("action validate has no button" in w for w in wrong)


def test_dispatcher_knows_every_tag_and_calls_runpython():
    src = dispatcher_source()
    assert f"Public Sub {CALLBACK}(control As IRibbonControl)" in src
    for a in ACTIONS:
        assert f'"{a.id}"' in src
    assert 'RunPython "import automation.addin.excel; automation.addin.excel.main(' in src
    # and passes the add-in's own name (its bulk macros are called by it), quotes escaped for Python
    assert """main('" & control.Tag & "', '" & Replace(ThisWorkbook.Name, "'", "\\'") & "')\"""" in src


def test_the_dispatchers_python_command_is_valid_for_any_addin_name():
    """The RunPython line, concatenated as VBA would, is Python that calls main(tag, add-in name)."""
    import ast

    line = next(x for x in dispatcher_source().split("\r\n") if x.strip().startswith("RunPython "))
    pieces = line.strip()[len("RunPython "):].split(" & ")

    def vba(piece: str, tag: str, name: str) -> str:
        if piece.startswith('"'):
            return piece[1:-1].replace('""', '"')
        return {"control.Tag": tag, """Replace(ThisWorkbook.Name, "'", "\\'")""": name.replace("'", "\\'")}[piece]
    for name in ("OfstedTracker.xlam", "OfstedTracker-excel.xlam", "Ofsted's tracker (2).xlam"):
        command = "".join(vba(p, "validate", name) for p in pieces)
        call = ast.parse(command).body[1].value
        assert ast.unparse(call.func) == "automation.addin.excel.main"
        assert [a.value for a in call.args] == ["validate", name]


def test_bulk_macros_module_is_plain_checked_vba():
    """The OfstedStore module: Option Explicit, the two public functions with the arguments
    the store passes, screen updating restored, errors returned not raised, every variable
    declared, and said to be unverified in real Excel."""
    from automation.addin.vba_store import MODULE, READ, WRITE, store_source

    src = store_source()
    lines = src.split("\r\n")
    assert lines[0] == f'Attribute VB_Name = "{MODULE}"' and "Option Explicit" in lines
    assert "Not yet verified in real Excel" in src
    publics = re.findall(r"^Public Function (\w+)\((.*?)\) As (\w+)", src.replace(" _\r\n", ""), re.M)
    assert [(n, len(a.split(","))) for n, a, _ in publics] == [(READ, 2), (WRITE, 5)]
    assert src.count("Application.ScreenUpdating = False") == 1 and "Application.ScreenUpdating = updating" in src
    assert src.count("On Error GoTo Failed") == 2 and "Resume Done" in src
    # every procedure is closed, and nothing undeclared is assigned
    heads = re.findall(r"^(?:Public |Private )(Function|Sub) \w+\(", src, re.M)
    assert heads == re.findall(r"^End (Function|Sub)\r$", src, re.M) and len(heads) == 8
    declared = set(re.findall(r"(?:Dim |, |\()(?:ByVal |ByRef )?(\w+)(?:\(.*?\))? As ", src))
    assigned = set(re.findall(r"^\s+(?:Set )?(\w+)(?:\([^)]*\))? = ", src, re.M))
    procs = set(re.findall(r"(?:Function|Sub) (\w+)\(", src))
    assert assigned <= declared | procs, assigned - declared - procs


def test_a_longer_module_survives_the_whole_build(tmp_path):
    """A module much longer than one chunk, with every kind of line, read back by olevba."""
    rng = random.Random(3)
    lines = ['Attribute VB_Name = "Big"'] + [f"' {rng.random()} {'x' * rng.randrange(80)}" for _ in range(3000)]
    big = Module("Big", normalise_source("\n".join(lines)))
    blob = build_vba_project("P", [document_module("ThisWorkbook", "workbook"), big])
    parser = VBA_Parser("vbaProject.bin", data=blob)
    got = {Path(f).stem: code for _, _, f, code in parser.extract_macros()}
    assert got["Big"] == big.source and len(big.source) > 100_000


# --- installation ---

def test_install_copies_to_xlstart_and_writes_the_xlwings_config(built, tmp_path):
    python = Path(r"C:\Program Files\ofsted-tracker\.venv\Scripts\pythonw.exe")
    cfg = tmp_path / "config.toml"
    cfg.write_text('[la]\nname = "Example County Council"\n')
    lines = install(built, python, [Path(r"C:\ofsted-tracker")], xlstart=tmp_path / "XLSTART",
                    user_dir=tmp_path / "user", config=cfg, platform="win32")
    assert (tmp_path / "XLSTART" / ADDIN_NAME).read_bytes() == built.read_bytes()
    conf = (tmp_path / "user" / "ofstedtracker.conf").read_bytes().decode("cp1252")
    assert f'"INTERPRETER_WIN","{python}"' in conf and '"ADD_WORKBOOK_TO_PYTHONPATH","False"' in conf
    assert conf.endswith("\r\n")
    assert (tmp_path / "user" / "config.toml").read_text() == cfg.read_text()
    assert any("restart Excel" in line for line in lines)


def test_install_elsewhere_says_it_is_for_windows(built, tmp_path):
    with pytest.raises(TrackerError, match="for Windows"):
        install(built, Path("python"), [], xlstart=tmp_path, user_dir=tmp_path, platform="linux")


def test_config_values_cannot_break_the_conf_format():
    with pytest.raises(TrackerError, match="double quote"):
        conf_lines(Path('C:\\a"b\\python.exe'), [])


def test_cli_build_and_install(tmp_path, capsys):
    from automation.cli import main

    assert main(["addin", "build", "--out", str(tmp_path / "dist")]) == 0
    assert (tmp_path / "dist" / ADDIN_NAME).exists() and "Built" in capsys.readouterr().out
    if not os.name == "nt":
        assert main(["addin", "install", "--xlam", str(tmp_path / "dist" / ADDIN_NAME)]) == 2
        assert "Windows" in capsys.readouterr().err
