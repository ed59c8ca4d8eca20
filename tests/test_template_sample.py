"""The shipped tracker template and the sample tracker: built from the contract,
up to date, pleasant to type into, and realistic enough to try the whole product on."""

from __future__ import annotations

import re
import shutil
import subprocess
import zipfile
from datetime import date, datetime

import openpyxl
import pytest

from automation.calendar import LONDON
from automation.cli import main
from automation.config import parse_config
from automation.mail.transport import MemoryTransport
from automation.paths import workbook_templates_dir
from automation.rules import load_rules
from automation.run import run
from automation.validate import build_tracker
from automation.workbook import schema
from automation.workbook.reader import read_workbook
from automation.workbook.sample import build_sample
from automation.workbook.templates import TEMPLATES, build, build_all

TODAY = date(2026, 11, 23)  # a Monday


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_committed_templates_are_up_to_date(tmp_path, name):
    built = build(name, tmp_path / name)
    committed = workbook_templates_dir() / name
    assert committed.exists(), f"{name} is not committed: run python -m automation.workbook.templates"
    assert built.read_bytes() == committed.read_bytes(), (
        f"{name} is out of date: run python -m automation.workbook.templates and commit the result")


def test_template_builds_are_reproducible(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for first, second in zip(build_all(a), build_all(b)):
        assert first.read_bytes() == second.read_bytes()


def test_template_has_every_contract_sheet_and_header():
    path = workbook_templates_dir() / "tracker_template.xlsx"
    raw = read_workbook(path)
    for spec in schema.ALL:
        assert set(raw.sheets[spec.name].columns) == set(spec.headers()), spec.name
        assert raw.sheets[spec.name].header_row == 1
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames[0] == "Guide" and "Lists" in wb.sheetnames
    for spec in schema.ALL:
        ws = wb[spec.name]
        assert ws.freeze_panes in ("A2", "B2")
        assert spec.table in ws.tables
        assert ws.tables[spec.table].ref.startswith("A1:")


def _list_values(wb, name):
    ref = wb.defined_names[name].attr_text
    sheet, cells = ref.split("!")
    return [c.value for row in wb[sheet.strip("'")][cells.replace("$", "")] for c in row]


def test_dropdowns_offer_the_rules_vocabularies():
    rules = load_rules()
    wb = openpyxl.load_workbook(workbook_templates_dir() / "tracker_template.xlsx")
    ws = wb["Inspections"]
    by_col = {}
    for dv in ws.data_validations.dataValidation:
        for rng in dv.sqref.ranges:
            by_col[ws.cell(1, rng.min_col).value] = dv
    assert by_col["Inspection type"].formula1 == "=List_inspection_type"
    assert _list_values(wb, "List_inspection_type") == list(rules.choices("inspection_type"))
    assert _list_values(wb, "List_grade_renewed") == list(rules.frameworks["renewed"].scale)
    assert _list_values(wb, "List_deferral") == ["Requested", "Granted", "Refused"]
    assert by_col["Notified at"].type == "date" and "dd/mm/yyyy" not in (by_col["Notified at"].formula1 or "")
    assert by_col["Concern notes"].prompt.startswith("INTERNAL")
    schools = wb["Schools"]
    staff_dv = [dv for dv in schools.data_validations.dataValidation if dv.formula1 == "=StaffNames"]
    assert {schools.cell(1, r.min_col).value for dv in staff_dv for r in dv.sqref.ranges} == {"SIM", "AI"}
    from openpyxl.utils import get_column_letter
    notified_col = get_column_letter(schema.INSPECTIONS.headers().index("Notified at") + 1)  # by header, not position
    assert wb["Inspections"].column_dimensions[notified_col].number_format == "dd/mm/yyyy hh:mm"
    offers = [r[0].value for r in wb["Support offers"].iter_rows(min_row=2) if r[0].value]
    assert offers == [o["name"] for o in rules.support_offers]


def test_init_copies_the_template_and_never_overwrites(tmp_path, capsys):
    dest = tmp_path / "new" / "tracker.xlsx"
    assert main(["init", str(dest)]) == 0
    assert main(["validate", str(dest)]) == 0
    assert "0 error(s), 0 warning(s)" in capsys.readouterr().out
    before = dest.read_bytes()
    assert main(["init", str(dest)]) == 4
    assert "never overwrites" in capsys.readouterr().err
    assert dest.read_bytes() == before


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    path = tmp_path_factory.mktemp("sample") / "tracker.xlsx"
    return build_sample(path, load_rules(), TODAY)


def test_sample_is_clean_and_realistic(sample):
    t = build_tracker(read_workbook(sample), load_rules())
    assert t.problems == []
    assert 35 <= len(t.schools) <= 45
    assert {s.governance for s in t.schools.values()} >= {"Maintained", "Academy"}
    assert {s.phase for s in t.schools.values()} >= {"Primary", "Secondary", "Special", "Nursery", "All-through", "PRU"}
    assert sum(1 for s in t.schools.values() if s.context_notes) >= 3
    assert sum(1 for s in t.schools.values() if not s.headteacher_email) >= 5
    roles = [s.role for s in t.staff.values()]
    assert roles.count("CEM") == 2 and {"SIM", "AI", "Governor Services", "EPS"} <= set(roles)
    assert {i.framework for i in t.inspections} == {"eif2024", "renewed"}
    assert any(i.category_of_concern for i in t.inspections)
    assert any(i.concerns_raised == "Yes" and not i.report_published for i in t.inspections)
    assert any(i.deferral == "Requested" for i in t.inspections)
    addresses = [s.email for s in t.staff.values()] + [s.email for s in t.schools.values()]
    assert all(a.endswith(".example.org") for a in addresses)


def test_sample_runs_end_to_end_once(sample, tmp_path):
    path = tmp_path / "t.xlsx"
    shutil.copy(sample, path)
    cfg = parse_config({}, "test")
    now = datetime(2026, 11, 23, 12, 0, tzinfo=LONDON)
    first = MemoryTransport()
    result = run(path, cfg, now, transport=first)
    assert result.saved and result.context.tracker.problems == []
    statuses = {row: cells["Status"] for row, cells in result.update.inspection_cells.items() if "Status" in cells}
    assert {"Plan sent", "In inspection", "Awaiting report"} <= set(statuses.values())
    # Only new inspections get plans: the ones notified today and yesterday (not yet ended).
    planned = {m.inspection_id for m in first.sent if m.purpose.startswith("contact_plan")}
    assert planned == {i.inspection_id for i in result.context.tracker.inspections
                       if i.contact_plan_sent is None and i.start_date >= date(2026, 11, 23)}
    assert len(planned) == 3
    # Inspections on (or just past) their last day get feedback forms; the summary counts the files.
    from automation.report import stage_lines

    forms = sorted(p.name for p in (tmp_path / "forms").glob("*.xlsx"))
    assert len(forms) == len(result.forms.written) >= 1
    assert f"{len(forms)} form{'s' if len(forms) != 1 else ''} written" in "\n".join(stage_lines(result))
    second = MemoryTransport()
    again = run(path, cfg, now, transport=second)
    assert second.sent == [] and again.messages == []


def test_sample_command_refuses_an_existing_file(tmp_path, capsys):
    dest = tmp_path / "s.xlsx"
    assert main(["sample", str(dest), "--today", "2026-11-23"]) == 0
    before = dest.read_bytes()
    assert main(["sample", str(dest)]) == 2
    assert dest.read_bytes() == before


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
def test_libreoffice_keeps_the_dropdowns(tmp_path):
    """LibreOffice Calc opens the template and its list validations survive."""
    src = tmp_path / "t.xlsx"
    shutil.copy(workbook_templates_dir() / "tracker_template.xlsx", src)
    subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{tmp_path}/lo", "--convert-to", "ods",
                    "--outdir", str(tmp_path), str(src)], check=True, capture_output=True, timeout=180)
    with zipfile.ZipFile(tmp_path / "t.ods") as z:
        content = z.read("content.xml").decode()
    conditions = re.findall(r'table:condition="([^"]+)"', content)
    assert any("List_inspection_type" in c or "$Lists." in c for c in conditions), conditions[:5]
    assert any("StaffNames" in c or "$Staff." in c for c in conditions)
    assert "Inspections" in content and "Notified at" in content


def test_sample_plans_went_after_the_notification(sample):
    t = build_tracker(read_workbook(sample), load_rules())
    planned = [i for i in t.inspections if i.contact_plan_sent]
    assert planned and all(i.contact_plan_sent > i.notified_at for i in planned)
