"""The command line: exit codes, messages in plain words, dry-run previews."""

from __future__ import annotations

from automation.cli import main
from tests.conftest import SCHOOLS, inspection, write_tracker


def test_validate_clean_tracker_exits_0(tmp_path, capsys):
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection()])
    assert main(["validate", str(path)]) == 0
    out = capsys.readouterr().out
    assert "2 schools, 5 staff, 1 inspections read; 0 error(s), 0 warning(s)" in out


def test_validate_lists_problems_and_exits_1(tmp_path, capsys):
    path = write_tracker(tmp_path / "t.xlsx", schools=[dict(SCHOOLS[0], URN="12a")], inspections=[inspection()])
    assert main(["validate", str(path)]) == 1
    out = capsys.readouterr().out
    assert "ERROR: sheet 'Schools', row 2, column 'URN' (value: '12a')" in out
    assert "ERROR: sheet 'Inspections', row 2, column 'URN' (value: '100001')" in out


def test_missing_workbook_is_a_plain_message(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "nope.xlsx")]) == 4
    err = capsys.readouterr().err
    assert "There is no workbook at" in err and "Traceback" not in err


def test_bad_config_names_file_and_key(tmp_path, capsys):
    path = write_tracker(tmp_path / "t.xlsx")
    cfg = tmp_path / "config.toml"
    cfg.write_text('[mail]\ntransport = "pigeon"\n')
    assert main(["run", str(path), "--config", str(cfg), "--dry-run"]) == 3
    err = capsys.readouterr().err
    assert str(cfg) in err and "mail.transport" in err and "'pigeon'" in err


def test_secret_in_config_file_is_refused(tmp_path, capsys):
    path = write_tracker(tmp_path / "t.xlsx")
    cfg = tmp_path / "config.toml"
    cfg.write_text('[mail.smtp]\npassword = "hunter2"\n')
    assert main(["run", str(path), "--config", str(cfg), "--dry-run"]) == 3
    err = capsys.readouterr().err
    assert "mail.smtp.password" in err and "hunter2" not in err


def test_dry_run_prints_summary_and_saves_previews(tmp_path, capsys):
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection()])
    before = path.read_bytes()
    code = main(["run", str(path), "--now", "2026-11-16T12:20", "--dry-run", "--preview-dir", str(tmp_path / "pv")])
    out = capsys.readouterr().out
    assert code == 0
    # The two plans and a meeting request per keep-in-touch call and audience (LA, school).
    assert "Would send: 6" in out and "contact_plan_school  to head@acorn.school.example.org" in out
    assert "Dry run: nothing sent" in out
    names = sorted(p.name for p in (tmp_path / "pv").iterdir())
    plans = ["OFS-100001-20261116-contact_plan_internal-v1.eml", "OFS-100001-20261116-contact_plan_internal-v1.html",
             "OFS-100001-20261116-contact_plan_school-v1.eml", "OFS-100001-20261116-contact_plan_school-v1.html"]
    calls = [f"OFS-100001-20261116-contact_plan_call_{a}_day{d}-v1.{x}" for a in ("la", "school") for d in (1, 2)
             for x in ("eml", "html")]
    assert names == sorted(plans + calls)
    html = (tmp_path / "pv" / plans[3]).read_text()
    assert "Still to come: a call from us to talk through how we will support you" in html
    assert "Acknowledge the notification to the school" not in html
    assert path.read_bytes() == before and not (tmp_path / "outbox").exists()


def test_validate_shows_outcome_consistency_warnings(tmp_path, capsys):
    """A grade that means a category of concern, with Category of concern blank, is flagged."""
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection(
        **{"Leadership and governance": "Urgent improvement", "Safeguarding": "Met"})])
    assert main(["validate", str(path)]) == 0  # a warning, not an error
    out = capsys.readouterr().out
    assert "WARNING: sheet 'Inspections', row 2, column 'Category of concern'" in out


def test_run_with_a_bad_row_exits_1_and_previews_are_never_overwritten(tmp_path, capsys):
    """Errors need an officer (exit 1, for the scheduler); every planned message gets its own preview."""
    from tests.conftest import STAFF

    staff = STAFF + [{"Name": "Sue Imms", "Role": "SIM", "Email": "sue.imms@la.example.org"}]
    schools = [SCHOOLS[0], dict(SCHOOLS[1], SIM="Sue Imms")]
    from datetime import datetime

    ended = dict(notified=datetime(2026, 11, 2, 12, 5), start=datetime(2026, 11, 3))  # follow-ups now due
    path = write_tracker(tmp_path / "t.xlsx", schools=schools, staff=staff, inspections=[
        inspection(**ended), inspection(urn="100002", **ended), inspection(urn="999999")])
    code = main(["run", str(path), "--now", "2026-11-16T12:20", "--dry-run", "--preview-dir", str(tmp_path / "pv")])
    out = capsys.readouterr().out
    assert code == 1 and "1 error(s)" in out
    written = list((tmp_path / "pv").glob("*.eml"))
    assert len(written) == int(out.split("Would send: ")[1].split()[0])
    assert sum(1 for f in written if "-digest-" in f.name) == 2  # one per SIM, same inspection/purpose/version
