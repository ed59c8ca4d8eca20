"""Importing the Schools sheet from the GIAS extract: a small CSV in the extract's real column
layout and encoding (Windows-1252), written into a real tracker through the XML-level writer."""

from __future__ import annotations

import csv
import io

import openpyxl
from openpyxl.styles import PatternFill

from automation.cli import main
from tests.conftest import SCHOOLS, inspection, write_tracker

# The real extract's columns, in its order (edubasealldataYYYYMMDD.csv, abridged after the district).
HEADER = [
    "URN", "LA (code)", "LA (name)", "EstablishmentNumber", "EstablishmentName", "TypeOfEstablishment (code)",
    "TypeOfEstablishment (name)", "EstablishmentTypeGroup (code)", "EstablishmentTypeGroup (name)",
    "EstablishmentStatus (code)", "EstablishmentStatus (name)", "ReasonEstablishmentOpened (code)",
    "ReasonEstablishmentOpened (name)", "OpenDate", "ReasonEstablishmentClosed (code)", "ReasonEstablishmentClosed (name)",
    "CloseDate", "PhaseOfEducation (code)", "PhaseOfEducation (name)", "StatutoryLowAge", "StatutoryHighAge",
    "Boarders (code)", "Boarders (name)", "NurseryProvision (name)", "OfficialSixthForm (code)", "OfficialSixthForm (name)",
    "Gender (code)", "Gender (name)", "ReligiousCharacter (code)", "ReligiousCharacter (name)", "ReligiousEthos (name)",
    "Diocese (code)", "Diocese (name)", "AdmissionsPolicy (code)", "AdmissionsPolicy (name)", "SchoolCapacity",
    "SpecialClasses (code)", "SpecialClasses (name)", "CensusDate", "NumberOfPupils", "NumberOfBoys", "NumberOfGirls",
    "PercentageFSM", "TrustSchoolFlag (code)", "TrustSchoolFlag (name)", "Trusts (code)", "Trusts (name)",
    "SchoolSponsorFlag (name)", "SchoolSponsors (name)", "FederationFlag (name)", "Federations (code)",
    "Federations (name)", "UKPRN", "FEHEIdentifier", "FurtherEducationType (name)", "OfstedLastInsp",
    "OfstedSpecialMeasures (code)", "OfstedSpecialMeasures (name)", "LastChangedDate", "Street", "Locality", "Address3",
    "Town", "County (name)", "Postcode", "SchoolWebsite", "TelephoneNum", "HeadTitle (name)", "HeadFirstName",
    "HeadLastName", "HeadPreferredJobTitle", "GOR (code)", "GOR (name)", "DistrictAdministrative (code)",
    "DistrictAdministrative (name)", "AdministrativeWard (code)", "AdministrativeWard (name)",
]
LAM, ACAD, FREE = "Local authority maintained schools", "Academies", "Free Schools"


def row(urn, name, type_name, group, status, phase, first, last, la="850", district="Test Valley", close=""):
    r = dict.fromkeys(HEADER, "")
    r.update({"URN": urn, "LA (code)": la, "LA (name)": "Hampshire" if la == "850" else "Elsewhere",
              "EstablishmentName": name, "TypeOfEstablishment (name)": type_name, "EstablishmentTypeGroup (name)": group,
              "EstablishmentStatus (name)": status, "PhaseOfEducation (name)": phase, "HeadTitle (name)": "Mrs",
              "HeadFirstName": first, "HeadLastName": last, "DistrictAdministrative (name)": district, "CloseDate": close,
              "Town": "Winchester", "Postcode": "SO23 8UJ"})
    return r


ROWS = [
    row("100001", "Acorn Primary School", "Community school", LAM, "Open", "Primary", "Thérèse", "Wells"),
    row("100002", "Beech Academy", "Academy converter", ACAD, "Closed", "Secondary", "Ben", "Birch", close="31-08-2026"),
    row("149999", "Beech Academy", "Academy sponsor led", ACAD, "Open", "Secondary", "Ben", "Birch"),
    row("149998", "Elm Free School", "Free schools", FREE, "Open", "Primary", "Eve", "Elm", district="Eastleigh"),
    row("149997", "Fir Tree Special School", "Community special school", LAM, "Proposed to open", "Not applicable", "Fay", "Fir"),
    row("120000", "Gone Closed School", "Community school", LAM, "Closed", "Primary", "", "", close="31-07-2020"),
    row("130000", "Other LA School", "Community school", LAM, "Open", "Primary", "Oli", "Other", la="851"),
    row("140000", "Sure Start Centre", "Children's centre", "Children's centres", "Open", "Not applicable", "", ""),
]


def write_csv(path, rows=ROWS, header=HEADER, encoding="cp1252"):
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=header, lineterminator="\r\n", extrasaction="ignore")
    w.writeheader()
    w.writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def tracker(tmp_path):
    schools = SCHOOLS + [{"URN": "100004", "School name": "Dale Junior School", "Governance": "Maintained",
                          "Phase": "Primary", "School email": "office@dale.school.example.org",
                          "SIM": "Sam Imrie", "AI": "Alex Inchley", "District": "Our North"}]
    path = write_tracker(tmp_path / "tracker.xlsx", schools=schools, inspections=[inspection()])
    wb = openpyxl.load_workbook(path)  # the user's own column and colour (a test fixture, not the tool)
    ws = wb["Schools"]
    ws.cell(1, 20, "Our notes")
    ws.cell(2, 20, "Federated with Beech")
    ws.cell(2, 2).fill = PatternFill("solid", fgColor="FFFF00")
    wb.save(path)
    return path


def _schools(path):
    ws = openpyxl.load_workbook(path)["Schools"]
    heads = [c.value for c in ws[1]]
    return ws, {str(r[0]): dict(zip(heads, r)) for r in ws.iter_rows(min_row=2, values_only=True) if r[0]}


def test_import_refreshes_gias_columns_keeps_la_columns_and_adds_new_urns(tmp_path, capsys):
    path, extract = tracker(tmp_path), write_csv(tmp_path / "edubasealldata20261101.csv")
    assert main(["import-schools", str(path), str(extract), "--la", "850"]) == 1  # a new head to check
    out = capsys.readouterr().out
    ws, rows = _schools(path)
    acorn = rows["100001"]
    assert acorn["Headteacher"] == "Thérèse Wells" and acorn["District"] == "Test Valley"  # cp1252 read right
    assert acorn["School email"] == "office@acorn.school.example.org" and acorn["SIM"] == "Sam Imrie"
    # A new head is never greeted at the old head's address: cleared, and the row named.
    assert acorn["Headteacher email"] is None
    assert ("sheet 'Schools', row 2, column 'Headteacher email' (value: 'head@acorn.school.example.org'): "
            "new headteacher: check the email") in out
    assert acorn["Context notes"] == "New head since September." and acorn["Our notes"] == "Federated with Beech"
    assert ws.cell(2, 2).fill.fgColor.rgb == "00FFFF00"  # the user's colour survives
    assert rows["100002"]["School name"] == "Beech Academy"  # closed: kept
    assert rows["100004"]["District"] == "Our North"  # the LA's own grouping is not replaced
    assert set(rows) == {"100001", "100002", "100004", "149999", "149998", "149997"}
    assert (rows["149999"]["Governance"], rows["149999"]["Phase"]) == ("Academy", "Secondary")
    assert (rows["149998"]["Governance"], rows["149998"]["Phase"], rows["149998"]["District"]) == ("Academy", "Primary", "Eastleigh")
    assert (rows["149997"]["Governance"], rows["149997"]["Phase"]) == ("Maintained", "Special")
    assert rows["149998"]["School email"] is None and rows["149998"]["SIM"] is None
    assert "row 2: 100001 Headteacher: Ann Acre → Thérèse Wells" in out
    assert "row 3: 100002 Beech Academy — Closed on 31-08-2026; reopened as URN 149999 (Academy sponsor led)" in out
    assert "row 4: 100004 Dale Junior School" in out  # not in the extract
    for urn in ("149999", "149998", "149997"):
        assert urn in out
    assert "120000" not in out and "130000" not in out and "140000" not in out
    # The new rows still need the LA's columns: the tracker's check says so, by row.
    assert main(["validate", str(path)]) == 1
    err_out = capsys.readouterr().out
    assert "sheet 'Schools', row 5, column 'School email'" in err_out


def test_second_import_changes_nothing(tmp_path, capsys):
    path, extract = tracker(tmp_path), write_csv(tmp_path / "e.csv")
    assert main(["import-schools", str(path), str(extract), "--la", "850"]) == 1  # the new head's email cleared
    before = path.read_bytes()
    capsys.readouterr()
    assert main(["import-schools", str(path), str(extract), "--la", "850"]) == 0
    assert "0 change(s) to existing schools and 0 new school(s)" in capsys.readouterr().out
    assert path.read_bytes() == before


def test_dry_run_writes_nothing(tmp_path, capsys):
    path, extract = tracker(tmp_path), write_csv(tmp_path / "e.csv", encoding="utf-8")
    before = path.read_bytes()
    assert main(["import-schools", str(path), str(extract), "--la", "850", "--dry-run"]) == 1
    out = capsys.readouterr().out
    assert "would be written" in out and "Thérèse Wells" in out and "Dry run: the tracker was not changed." in out
    assert path.read_bytes() == before


def test_wrong_file_or_la_code_is_a_plain_message(tmp_path, capsys):
    path = tracker(tmp_path)
    bad = write_csv(tmp_path / "bad.csv", header=[h for h in HEADER if h != "EstablishmentStatus (name)"])
    assert main(["import-schools", str(path), str(bad), "--la", "850"]) == 2
    assert "no column(s) 'EstablishmentStatus (name)'" in capsys.readouterr().err
    good = write_csv(tmp_path / "e.csv")
    assert main(["import-schools", str(path), str(good), "--la", "999"]) == 2
    assert "no establishments with LA (code) '999'" in capsys.readouterr().err


def test_new_rows_join_the_templates_excel_table(tmp_path, capsys, rules):
    from datetime import date

    from automation.workbook.sample import build_sample

    path = build_sample(tmp_path / "sample.xlsx", rules, date(2026, 11, 23))
    extract = write_csv(tmp_path / "e.csv", rows=[
        row("116000", "Ashcombe Primary School", "Community school", LAM, "Open", "Primary", "Sarah", "Whitlock"),
        row("150001", "Zephyr Primary Academy", "Academy converter", ACAD, "Open", "Primary", "Zoe", "Zephyr")])
    assert main(["import-schools", str(path), str(extract), "--la", "850"]) == 0
    out = capsys.readouterr().out
    assert "row 42: 150001 Zephyr Primary Academy" in out
    assert "row 3: 116037" in out  # the sample's other schools are not in this tiny extract: reported
    wb = openpyxl.load_workbook(path)
    from openpyxl.utils import get_column_letter

    from automation.workbook import schema
    last = get_column_letter(len(schema.SCHOOLS.columns))
    assert wb["Schools"].tables["SchoolsTable"].ref == f"A1:{last}42"  # the table grew over the new row
    assert wb["Schools"]["B42"].value == "Zephyr Primary Academy"
    assert wb["Inspections"].max_row > 10  # the rest of the workbook is as it was


def test_trust_and_diocese_come_from_gias_where_it_has_them(tmp_path, capsys):
    """Academies get their trust, church schools their diocese; GIAS's "Not applicable" never
    overwrites what the LA typed, and the LA's own columns are kept."""
    schools = [dict(SCHOOLS[0], **{"Diocese": "Typed by the LA"}), dict(SCHOOLS[1])]
    path = write_tracker(tmp_path / "t.xlsx", schools=schools)
    acorn = row("100001", "Acorn Primary School", "Voluntary aided school", LAM, "Open", "Primary", "Ann", "Acre")
    acorn["Diocese (name)"] = "Not applicable"
    beech = row("100002", "Beech Academy", "Academy converter", ACAD, "Open", "Secondary", "Ben", "Birch")
    beech.update({"Trusts (name)": "Oak Learning Trust", "Diocese (name)": "Diocese of Winchester"})
    assert main(["import-schools", str(path), str(write_csv(tmp_path / "e.csv", rows=[acorn, beech])), "--la", "850"]) == 0
    ws = openpyxl.load_workbook(path)["Schools"]
    head = [c.value for c in ws[1]]
    got = {r[head.index("URN")]: dict(zip(head, r)) for r in ws.iter_rows(min_row=2, values_only=True) if r[0]}
    assert got["100002"]["Trust"] == "Oak Learning Trust" and got["100002"]["Diocese"] == "Diocese of Winchester"
    assert got["100001"]["Diocese"] == "Typed by the LA" and got["100001"]["Trust"] is None
    assert got["100001"]["SIM"] == "Sam Imrie"
    assert "Trust: (blank) → Oak Learning Trust" in capsys.readouterr().out
